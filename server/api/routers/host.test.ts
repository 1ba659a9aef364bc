import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TRPCError } from '@trpc/server';
import { env } from '../../env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../../testing/test-db';
import { verifyAuditChain } from '../../audit/verify';
import { createInProcessEventBus } from '../../events/bus';
import { executors } from '../../fleet/executors';
import { createCallerFactory, createContextInner, createTRPCRouter } from '../trpc';
import { fleetRouter } from './fleet';
import { UNCHANGED_REFERENCE } from '../../hosts/service';
import { hostRouter } from './host';

const createCaller = createCallerFactory(createTRPCRouter({ host: hostRouter, fleet: fleetRouter }));

let testDb: TestDb;
let caller: ReturnType<typeof createCaller>;

beforeAll(() => {
  testDb = createTestDb();
  caller = createCaller(
    createContextInner({
      db: testDb.db,
      bus: createInProcessEventBus(),
      actor: { name: 'alice', role: 'admin' },
      clientAddress: '192.0.2.7',
    }),
  );
});

afterAll(async () => {
  await executors().closeAll();
  await testDb.cleanup();
});

async function expectTrpcError(promise: Promise<unknown>, code: TRPCError['code'], message: RegExp) {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TRPCError);
  expect((error as TRPCError).code).toBe(code);
  expect((error as TRPCError).message).toMatch(message);
}

describe('host router (real SQLite, real virsh on the test driver)', () => {
  it('adds a host by URI, never returns its raw URI, and audits the change in the same database', async () => {
    const host = await caller.host.add({ alias: 'demo', reference: 'test:///default', displayName: 'Demo' });
    expect(host).toMatchObject({
      alias: 'demo',
      displayUri: 'test:///default',
      displayName: 'Demo',
      executorKind: 'local',
    });
    expect(host).not.toHaveProperty('uri');
    const listed = await caller.host.list();
    expect(listed.map((h) => h.alias)).toEqual(['demo']);
    expect(listed[0]).not.toHaveProperty('uri');
    const audit = await testDb.db.auditEvent.findMany({ where: { action: 'host.add' } });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'alice', clientAddress: '192.0.2.7', hostAlias: 'demo', result: 'ok' });
  });

  it('keeps key file paths out of everything the browser sees', async () => {
    const keyfile = path.join(env.FERRY_KEY_DIR, 'secret_key');
    mkdirSync(env.FERRY_KEY_DIR, { recursive: true });
    writeFileSync(keyfile, 'not a real key\n', { mode: 0o600 });
    const host = await caller.host.add({
      alias: 'remote1',
      reference: `qemu+ssh://root@192.0.2.10/system?keyfile=${keyfile}`,
    });
    expect(host.displayUri).not.toContain('secret_key');
    const row = await testDb.db.host.findUniqueOrThrow({ where: { alias: 'remote1' } });
    expect(row.uri).toContain(`keyfile=${keyfile}`);
    const audit = await testDb.db.auditEvent.findFirstOrThrow({ where: { hostAlias: 'remote1' } });
    expect(audit.details).not.toContain('secret_key');
    await caller.host.remove({ id: host.id });
  });

  it('keeps the stored URI when the edit form says "unchanged", without it ever leaving the server', async () => {
    mkdirSync(env.FERRY_KEY_DIR, { recursive: true });
    writeFileSync(path.join(env.FERRY_KEY_DIR, 'kept_key'), 'not a real key\n', { mode: 0o600 });
    const uri = `qemu+ssh://root@192.0.2.11/system?keyfile=${path.join(env.FERRY_KEY_DIR, 'kept_key')}`;
    const host = await caller.host.add({ alias: 'kept', reference: uri });
    await testDb.db.host.update({ where: { id: host.id }, data: { hostUuid: 'f0e1d2c3-0000-4000-8000-000000000001' } });

    const edited = await caller.host.update({
      id: host.id,
      data: { alias: 'kept', reference: UNCHANGED_REFERENCE, displayName: 'Kept URI' },
    });
    expect(edited).toMatchObject({ displayName: 'Kept URI', displayUri: host.displayUri });
    expect(JSON.stringify(edited)).not.toContain('kept_key');
    const row = await testDb.db.host.findUniqueOrThrow({ where: { id: host.id } });
    expect(row.uri).toBe(uri);
    // Same URI, same machine: the learned libvirt host UUID stays.
    expect(row.hostUuid).toBe('f0e1d2c3-0000-4000-8000-000000000001');
    const audit = await testDb.db.auditEvent.findFirstOrThrow({
      where: { hostAlias: 'kept', action: 'host.edit' },
      orderBy: { id: 'desc' },
    });
    expect(JSON.parse(audit.details)).toEqual({ changes: { displayName: { from: 'kept', to: 'Kept URI' } } });

    // "unchanged" as text is an alias name like any other, never the keep marker.
    await expectTrpcError(
      caller.host.update({ id: host.id, data: { alias: 'kept', reference: 'unchanged' } }),
      'BAD_REQUEST',
      /no such alias is imported/,
    );
    await caller.host.remove({ id: host.id });
  });

  it('never lets a failed read quote the key file, even after the file went missing', async () => {
    // Port 1 is closed: real virsh runs real ssh, which warns about the missing key file, then fails.
    mkdirSync(env.FERRY_KEY_DIR, { recursive: true });
    const keyfile = path.join(env.FERRY_KEY_DIR, 'quoted_secret_key');
    writeFileSync(keyfile, 'not a real key\n', { mode: 0o600 });
    const host = await caller.host.add({
      alias: 'quoted-key',
      reference: `qemu+ssh://root@127.0.0.1:1/system?keyfile=${keyfile}`,
    });
    // The policy wants the file at registration; later it goes missing, and ssh then quotes its path.
    rmSync(keyfile);
    const detail = await caller.host.get({ alias: 'quoted-key' });
    const tested = await caller.host.test({ id: host.id });
    const fleet = await caller.fleet.list();
    const answers = JSON.stringify({ detail, tested, fleet });
    expect(detail.error).not.toBeNull();
    expect(answers).not.toContain('quoted_secret_key');
    // The stored URI is judged again before any executor is made: a key file that went missing is refused with a
    // sentence (and ssh never gets to quote its path).
    expect(detail.error).toMatch(/keyfile/i);
    await caller.host.remove({ id: host.id });
  });

  it('refuses a name clash with a clear error, adds nothing, and audits the refusal', async () => {
    await expectTrpcError(
      caller.host.add({ alias: 'demo', reference: 'test:///default' }),
      'CONFLICT',
      /already exists/,
    );
    expect(await testDb.db.host.count({ where: { alias: 'demo' } })).toBe(1);
    const refused = await testDb.db.auditEvent.findFirstOrThrow({ where: { action: 'host.add', result: 'refused' } });
    expect(refused.details).toContain('already exists');
  });

  it.each([
    ['qemu+ssh://root@hv1/system?pkipath=/etc/pki', /pkipath/],
    ['qemu+ssh://-oProxyCommand=id/system', /-/],
    ['nosuchdriver:///system', /driver/i],
    ['qemu+ssh://root@hv1/system?socket=/a;id', /socket|;/],
    ['unknownalias', /no such alias is imported/],
  ])('refuses %s with a reason and adds nothing', async (reference, message) => {
    const before = await testDb.db.host.count();
    await expectTrpcError(caller.host.add({ alias: 'bad', reference }), 'BAD_REQUEST', message);
    expect(await testDb.db.host.count()).toBe(before);
  });

  it("refuses an alias with characters outside libvirt's alias rule", async () => {
    await expectTrpcError(caller.host.add({ alias: '$(id)', reference: 'test:///default' }), 'BAD_REQUEST', /.+/);
    expect(await testDb.db.host.count({ where: { alias: '$(id)' } })).toBe(0);
  });

  it('requires a confirmed host key for the ssh executor', async () => {
    await expectTrpcError(
      caller.host.add({ alias: 'sshhost', reference: 'qemu+ssh://root@192.0.2.11/system', executorKind: 'ssh' }),
      'BAD_REQUEST',
      /Check the host key first/,
    );
    await expectTrpcError(
      caller.host.add({ alias: 'sshhost', reference: 'test:///default', executorKind: 'ssh' }),
      'BAD_REQUEST',
      /ssh executor needs/,
    );
  });

  it('imports aliases from a libvirt.conf and adds a host by alias name', async () => {
    const result = await caller.host.importAliases({
      text: 'uri_aliases = [\n  "lab=test:///default",\n  "bad name=test:///default",\n]\nuri_default = "qemu:///system"\n',
    });
    expect(result.imported).toEqual(['lab']);
    expect(result.errors.length).toBeGreaterThan(0);
    const aliases = await caller.host.aliases();
    expect(aliases).toEqual({
      aliases: [{ name: 'lab', displayUri: 'test:///default' }],
      uriDefault: 'qemu:///system',
    });
    const host = await caller.host.add({ alias: 'lab-host', reference: 'lab' });
    expect(host.displayUri).toBe('test:///default');
    const audit = await testDb.db.auditEvent.findFirstOrThrow({ where: { action: 'host.add', hostAlias: 'lab-host' } });
    expect(JSON.parse(audit.details)).toMatchObject({ viaAlias: 'lab' });
  });

  it('reads host facts and tests the connection through real virsh', async () => {
    const detail = await caller.host.get({ alias: 'demo' });
    expect(detail.error).toBeNull();
    expect(detail.info).toMatchObject({ vmCount: 1, cpus: 16 });
    const host = await testDb.db.host.findUniqueOrThrow({ where: { alias: 'demo' } });
    const result = await caller.host.test({ id: host.id });
    expect(result.ok).toBe(true);
    expect(result.output).toMatch(/Using library: libvirt/);
  });

  it('renders the fleet with a dead host carrying its own error next to a working one', async () => {
    await caller.host.add({ alias: 'dead', reference: 'qemu+tcp://127.0.0.1:1/system' });
    // A host whose libvirt UUID is not known yet: the first read learns it and stores it.
    await testDb.db.host.update({ where: { alias: 'demo' }, data: { hostUuid: null } });
    const fleet = await caller.fleet.list();
    const demo = fleet.find((s) => s.host.alias === 'demo');
    const dead = fleet.find((s) => s.host.alias === 'dead');
    expect(demo).toMatchObject({ status: 'ok' });
    const stored = await testDb.db.host.findUniqueOrThrow({ where: { alias: 'demo' } });
    expect(stored.hostUuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(demo?.host.hostUuid).toBe(stored.hostUuid);
    expect(demo?.vms.map((vm) => vm.name)).toEqual(['test']);
    expect(dead).toMatchObject({ status: 'error', vms: [] });
    expect(dead?.error).toMatch(/refused|connect/i);
  });

  it('edits and removes hosts with audit rows, and the chain verifies', async () => {
    const host = await testDb.db.host.findUniqueOrThrow({ where: { alias: 'dead' } });
    const edited = await caller.host.update({
      id: host.id,
      data: { alias: 'dead2', reference: 'qemu+tcp://127.0.0.1:2/system', displayName: 'Gone' },
    });
    expect(edited).toMatchObject({ alias: 'dead2', displayName: 'Gone' });
    await caller.host.remove({ id: host.id });
    expect(await testDb.db.host.count({ where: { id: host.id } })).toBe(0);
    const actions = (
      await testDb.db.auditEvent.findMany({ where: { hostAlias: { in: ['dead', 'dead2'] } }, orderBy: { id: 'asc' } })
    ).map((row) => row.action);
    expect(actions).toEqual(['host.add', 'host.edit', 'host.remove']);
    await expectTrpcError(caller.host.remove({ id: host.id }), 'NOT_FOUND', /no longer exists/);
    const verification = await verifyAuditChain(testDb.db);
    expect(verification).toMatchObject({ ok: true });
  });
});
