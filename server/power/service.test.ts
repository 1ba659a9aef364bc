import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../auth/roles';
import { createCallerFactory, createContextInner, createTRPCRouter } from '../api/trpc';
import { createInProcessEventBus } from '../events/bus';
import type { ExecutorSource } from '../hypervisor/executor';
import { createExecutorPool, type ExecutorPool } from '../hypervisor/pool';
import { HOSTILE_VM_NAMES } from '../hypervisor/test-support';
import { parseListUuidName } from '../libvirt/parsers/list';
import { startTestSshd, type TestSshd } from '../testing/sshd';
import { createTestDb, type TestDb } from '../testing/test-db';
import { powerRouter } from './router';
import {
  adoptPendingShutdowns,
  getPowerAction,
  listOpenPowerActions,
  locateVm,
  requestPowerAction,
  settlePowerAction,
  type PowerDeps,
} from './service';

/**
 * Real virsh against the libvirt test driver. A `session` host keeps one interactive virsh, so the test
 * driver's state (suspended, destroyed) lasts from one command to the next as it would on a real host; the ssh
 * host runs each command through a real sshd, where every virsh is a fresh test:///default.
 */
let testDb: TestDb;
let pool: ExecutorPool;
let sshd: TestSshd;
let deps: PowerDeps;
let dir: string;
const hosts: Record<'demo' | 'hostile' | 'remote', { id: string }> = {} as never;
const who = { actor: 'olga', clientAddress: '192.0.2.7' };

const source: ExecutorSource = {
  get: (host) =>
    pool.get({
      id: host.id,
      uri: host.uri,
      executorKind: host.executorKind === 'ssh' ? 'ssh' : 'session',
      pinnedFingerprint: host.pinnedFingerprint,
    }),
};

async function uuidOf(hostId: string, name: string): Promise<string> {
  const host = await testDb.db.host.findUniqueOrThrow({ where: { id: hostId } });
  const listed = parseListUuidName((await source.get(host).run(['list', '--all', '--uuid', '--name'])).stdout);
  const found = listed.find((vm) => vm.name === name);
  if (!found) throw new Error(`no VM ${name}`);
  return found.uuid;
}

/** A transient VM (started from XML, never defined) on the demo host's session: libvirt removes it when it stops. */
async function createTransient(name: string): Promise<string> {
  const file = path.join(dir, `${name}.xml`);
  writeFileSync(
    file,
    `<domain type='test'><name>${name}</name><memory>8192</memory><os><type>hvm</type></os></domain>`,
  );
  const host = await testDb.db.host.findUniqueOrThrow({ where: { id: hosts.demo.id } });
  await source.get(host).run(['create', file]);
  return uuidOf(hosts.demo.id, name);
}

async function auditRows(action: string) {
  return testDb.db.auditEvent.findMany({ where: { action }, orderBy: { id: 'asc' } });
}

function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  return promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (error: { code: string; message: string }) => ({ code: error.code, message: error.message }),
  );
}

beforeAll(async () => {
  testDb = createTestDb();
  pool = createExecutorPool({ defaultTimeoutMs: 15_000 });
  sshd = await startTestSshd();
  dir = mkdtempSync(path.join(tmpdir(), 'ferry-power-'));
  const hostileFile = path.join(dir, 'hostile-names.xml');
  // Without its `new&#10;line` VM: `list --all --uuid --name` cannot be read on a host that has one
  // (parsers/list.ts refuses the split line), which refuses migrations there too.
  const hostileXml = readFileSync(
    fileURLToPath(new URL('../hypervisor/testdata/hostile-names.xml', import.meta.url)),
    'utf8',
  ).replace(/<domain type='test'>\s*<name>new&#10;line<\/name>[\s\S]*?<\/domain>/, '');
  expect(hostileXml).not.toContain('new&#10;line');
  writeFileSync(hostileFile, hostileXml);
  const make = (alias: string, uri: string, executorKind = 'local', pinnedFingerprint: string | null = null) =>
    testDb.db.host.create({
      data: { alias, uri, displayUri: uri, displayName: alias, executorKind, pinnedFingerprint },
    });
  hosts.demo = await make('demo', 'test:///default');
  hosts.hostile = await make('hostile', `test://${hostileFile}`);
  hosts.remote = await make(
    'remote',
    `test+ssh://${sshd.username}@127.0.0.1:${sshd.port}/default?keyfile=${sshd.clientKeyPath}`,
    'ssh',
    sshd.hostKeyFingerprint,
  );
  deps = { db: testDb.db, executors: source, shutdownTimeoutMs: 3_000 };
});

afterAll(async () => {
  await pool?.closeAll();
  await sshd?.stop();
  await testDb?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('power actions on a real virsh (test:///default, one session)', () => {
  it('suspends, resumes, forces off and starts, each audited with its outcome', async () => {
    const vm = { hostId: hosts.demo.id, vmName: 'test', vmUuid: await uuidOf(hosts.demo.id, 'test') };
    const states: (string | null)[] = [];
    for (const action of ['suspend', 'resume', 'poweroff', 'start'] as const) {
      const result = await requestPowerAction(deps, who, { ...vm, action });
      expect(result.state).toBe('succeeded');
      states.push(result.vmState);
    }
    expect(states).toEqual(['paused', 'running', 'shutoff', 'running']);
    const [suspended] = await auditRows('power.suspend');
    expect(suspended).toMatchObject({ actor: 'olga', hostAlias: 'demo', vmName: 'test', result: 'ok' });
    expect(JSON.parse(suspended?.details ?? '{}')).toMatchObject({ vmUuid: vm.vmUuid, outcome: 'paused' });
    expect((await auditRows('power.poweroff'))[0]?.result).toBe('ok');

    // libvirt accepts an ACPI reboot at once and cannot say when the guest restarts: Ferry claims no more.
    expect(await requestPowerAction(deps, who, { ...vm, action: 'reboot' })).toMatchObject({
      state: 'succeeded',
      message: 'Reboot requested (ACPI): "test" restarts when its guest reacts.',
    });
  });

  it('forces off a transient VM: libvirt removes it, and the outcome says so rather than "shut off"', async () => {
    const vmUuid = await createTransient('fleeting');
    const result = await requestPowerAction(deps, who, {
      hostId: hosts.demo.id,
      vmName: 'fleeting',
      vmUuid,
      action: 'poweroff',
    });
    expect(result).toMatchObject({
      state: 'succeeded',
      message: 'Force off: "fleeting" was transient, so libvirt removed it when it stopped.',
      vmState: null,
    });
    await expect(uuidOf(hosts.demo.id, 'fleeting')).rejects.toThrow('no VM fleeting');
    const audited = (await auditRows('power.poweroff')).at(-1);
    expect(audited).toMatchObject({ result: 'ok', vmName: 'fleeting' });
    expect(JSON.parse(audited?.details ?? '{}')).toMatchObject({ vmUuid, outcome: 'removed' });
  });

  it('refuses what the state makes meaningless, before virsh runs, and audits the refusal', async () => {
    const vm = { hostId: hosts.demo.id, vmName: 'test', vmUuid: await uuidOf(hosts.demo.id, 'test') };
    expect(await refusal(requestPowerAction(deps, who, { ...vm, action: 'resume' }))).toEqual({
      code: 'PRECONDITION_FAILED',
      message: 'Cannot resume "test": it is running (it can shut down or reboot or suspend or force off).',
    });
    const refused = (await auditRows('power.resume')).at(-1);
    expect(refused).toMatchObject({ result: 'refused', vmName: 'test' });
  });

  it("turns the test driver's refusal of an ACPI shutdown into a sentence, audited as failed", async () => {
    const vm = { hostId: hosts.demo.id, vmName: 'test', vmUuid: await uuidOf(hosts.demo.id, 'test') };
    expect(await refusal(requestPowerAction(deps, who, { ...vm, action: 'shutdown' }))).toEqual({
      code: 'PRECONDITION_FAILED',
      message: 'This host\'s libvirt driver cannot shut down "test" the way Ferry asks (ACPI).',
    });
    expect((await auditRows('power.shutdown')).at(-1)).toMatchObject({ result: 'failed' });
    expect(await testDb.db.powerAction.count({ where: { state: 'pending' } })).toBe(0);
  });

  it('acts on the UUID and re-checks the name: a renamed or replaced VM is refused', async () => {
    const uuid = await uuidOf(hosts.demo.id, 'test');
    expect(
      await refusal(
        requestPowerAction(deps, who, { hostId: hosts.demo.id, vmName: 'old', vmUuid: uuid, action: 'suspend' }),
      ),
    ).toEqual({
      code: 'CONFLICT',
      message: `On demo the VM with UUID ${uuid} is named "test", not "old": refresh the page and try again.`,
    });
  });

  it('refuses every power action on a VM with an unfinished migration', async () => {
    const uuid = await uuidOf(hosts.demo.id, 'test');
    const migration = await testDb.db.migration.create({
      data: {
        vmName: 'test',
        vmUuid: uuid,
        sourceAlias: 'demo',
        sourceUri: 'test:///default',
        destinationAlias: 'hv2',
        destinationUri: 'qemu+ssh://hv2/system',
        options: '{}',
        actor: 'olga',
        state: 'running',
      },
    });
    try {
      const refused = await refusal(
        requestPowerAction(deps, who, { hostId: hosts.demo.id, vmName: 'test', vmUuid: uuid, action: 'poweroff' }),
      );
      expect(refused).toEqual({
        code: 'CONFLICT',
        message:
          '"test" has an unfinished migration to hv2 (running): wait for it to end or cancel it before you force off the VM.',
      });
    } finally {
      await testDb.db.migration.update({ where: { id: migration.id }, data: { state: 'cancelled' } });
    }
  });

  it('gives hostile VM names to virsh as plain arguments', async () => {
    for (const name of HOSTILE_VM_NAMES) {
      const vm = { hostId: hosts.hostile.id, vmName: name, vmUuid: await uuidOf(hosts.hostile.id, name) };
      expect((await requestPowerAction(deps, who, { ...vm, action: 'suspend' })).vmState).toBe('paused');
      expect((await requestPowerAction(deps, who, { ...vm, action: 'resume' })).vmState).toBe('running');
    }
  });
});

describe('a shutdown outlives its request (the database row is what every process follows)', () => {
  it('settles a pending shutdown whose guest is off as succeeded, and one past its deadline as timed out', async () => {
    const uuid = await uuidOf(hosts.demo.id, 'test');
    // As if another Ferry process had sent the ACPI request and died: only the row is left.
    await requestPowerAction(deps, who, { hostId: hosts.demo.id, vmName: 'test', vmUuid: uuid, action: 'poweroff' });
    const off = await testDb.db.powerAction.create({
      data: {
        hostId: hosts.demo.id,
        hostAlias: 'demo',
        vmName: 'test',
        vmUuid: uuid,
        action: 'shutdown',
        state: 'pending',
        actor: 'olga',
        deadlineAt: new Date(Date.now() + 60_000),
      },
    });
    await settlePowerAction(deps, off.id);
    expect(await testDb.db.powerAction.findUniqueOrThrow({ where: { id: off.id } })).toMatchObject({
      state: 'succeeded',
      message: '"test" shut down.',
    });

    await requestPowerAction(deps, who, { hostId: hosts.demo.id, vmName: 'test', vmUuid: uuid, action: 'start' });
    const ignored = await testDb.db.powerAction.create({
      data: {
        hostId: hosts.demo.id,
        hostAlias: 'demo',
        vmName: 'test',
        vmUuid: uuid,
        action: 'shutdown',
        state: 'pending',
        actor: 'olga',
        startedAt: new Date(Date.now() - 3_000),
        deadlineAt: new Date(Date.now() - 1),
      },
    });
    // A second pending shutdown of the same VM is what the partial unique index forbids.
    await expect(
      testDb.db.powerAction.create({
        data: { hostAlias: 'demo', vmName: 'test', vmUuid: uuid, action: 'shutdown', state: 'pending', actor: 'x' },
      }),
    ).rejects.toMatchObject({ code: 'P2002' });

    // The background sweep settles it past its deadline with nobody reading the cards; the cards then offer it.
    await adoptPendingShutdowns(deps);
    expect(await testDb.db.powerAction.findUniqueOrThrow({ where: { id: ignored.id } })).toMatchObject({
      state: 'timed-out',
      message: 'The guest did not react to ACPI within 3 s: it is still running. Force it off?',
    });
    const open = await listOpenPowerActions(deps);
    expect(open.find((row) => row.id === ignored.id)).toMatchObject({ state: 'timed-out' });
    // Two processes settling at once write one outcome.
    await Promise.all([settlePowerAction(deps, ignored.id), settlePowerAction(deps, ignored.id)]);
    const outcomes = (await auditRows('power.shutdown')).filter((row) => row.details.includes(ignored.id));
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ result: 'failed', actor: 'olga' });

    // The offered force off ends it; the outcome leaves the card.
    await requestPowerAction(deps, who, { hostId: hosts.demo.id, vmName: 'test', vmUuid: uuid, action: 'poweroff' });
    expect((await listOpenPowerActions(deps)).some((row) => row.id === ignored.id)).toBe(false);
    await requestPowerAction(deps, who, { hostId: hosts.demo.id, vmName: 'test', vmUuid: uuid, action: 'start' });
  });

  it('settles the shutdown of a transient VM that libvirt removed as succeeded; a persistent VM gone is a failure', async () => {
    const host = await testDb.db.host.findUniqueOrThrow({ where: { id: hosts.demo.id } });
    const pendingFor = async (vmName: string, vmUuid: string, transient: boolean) =>
      testDb.db.powerAction.create({
        data: {
          hostId: hosts.demo.id,
          hostAlias: 'demo',
          vmName,
          vmUuid,
          action: 'shutdown',
          state: 'pending',
          actor: 'olga',
          deadlineAt: new Date(Date.now() + 60_000),
          transient,
        },
      });
    // The guest powers off (destroy stands in for it: the test driver refuses ACPI) and libvirt removes the VM.
    const transientUuid = await createTransient('brief');
    const transientShutdown = await pendingFor('brief', transientUuid, true);
    await source.get(host).run(['destroy', transientUuid]);
    await settlePowerAction(deps, transientShutdown.id);
    // What power.get gives the card and the CLI (which then reports no state rather than "shutoff").
    expect(await getPowerAction(deps, transientShutdown.id)).toMatchObject({
      state: 'succeeded',
      message: '"brief" shut down; it was transient, so libvirt removed it.',
      transient: true,
    });

    // The same disappearance of a VM that was not transient (undefined or migrated away meanwhile) is no success.
    const otherUuid = await createTransient('elsewhere');
    const persistentShutdown = await pendingFor('elsewhere', otherUuid, false);
    await source.get(host).run(['destroy', otherUuid]);
    await settlePowerAction(deps, persistentShutdown.id);
    expect(await testDb.db.powerAction.findUniqueOrThrow({ where: { id: persistentShutdown.id } })).toMatchObject({
      state: 'failed',
      message: '"elsewhere" is no longer on demo.',
    });
  });
});

describe('over a real sshd (ssh executor)', () => {
  it("reports libvirt's refusal and acts by UUID on the remote virsh", async () => {
    const vm = { hostId: hosts.remote.id, vmName: 'test', vmUuid: await uuidOf(hosts.remote.id, 'test') };
    expect((await refusal(requestPowerAction(deps, who, { ...vm, action: 'shutdown' }))).message).toBe(
      'This host\'s libvirt driver cannot shut down "test" the way Ferry asks (ACPI).',
    );
    expect((await refusal(requestPowerAction(deps, who, { ...vm, action: 'start' }))).message).toMatch(
      /^Cannot start "test": it is running/,
    );
    expect((await requestPowerAction(deps, who, { ...vm, action: 'suspend' })).state).toBe('succeeded');
    await sshd.expectNoSessionProcesses();
  });
});

describe('locateVm (the CLI names a VM, Ferry finds its host and UUID)', () => {
  it('finds every host with a VM of that name, or the one asked for', async () => {
    const uuid = await uuidOf(hosts.demo.id, 'test');
    const everywhere = await locateVm(deps, { vmName: 'test', timeoutMs: 15_000 });
    expect(everywhere.matches.map((match) => match.hostAlias)).toEqual(['demo', 'remote']);
    expect(everywhere.unreachable).toEqual([]);
    expect(await locateVm(deps, { vmName: 'test', hostAlias: 'demo', timeoutMs: 15_000 })).toEqual({
      hostCount: 1,
      matches: [{ hostId: hosts.demo.id, hostAlias: 'demo', vmName: 'test', vmUuid: uuid }],
      unreachable: [],
    });
    expect(await locateVm(deps, { vmName: '--help', hostAlias: 'nowhere', timeoutMs: 15_000 })).toEqual({
      hostCount: 0,
      matches: [],
      unreachable: [],
    });
  });

  it('names a VM once when one libvirt host is registered twice (same host UUID)', async () => {
    const hostUuid = 'f3e7a1b0-0a11-4c1b-9e00-0000000000d1';
    const again = await testDb.db.host.create({
      data: { alias: 'demo-again', uri: 'test:///default', displayUri: 'test:///default', displayName: 'x', hostUuid },
    });
    await testDb.db.host.update({ where: { id: hosts.demo.id }, data: { hostUuid } });
    try {
      const found = await locateVm(deps, { vmName: 'test', timeoutMs: 15_000 });
      expect(found.hostCount).toBe(4);
      expect(found.matches.map((match) => match.hostAlias)).toEqual(['demo', 'remote']);
    } finally {
      await testDb.db.host.delete({ where: { id: again.id } });
      await testDb.db.host.update({ where: { id: hosts.demo.id }, data: { hostUuid: null } });
    }
  });
});

describe('power router', () => {
  const createCaller = createCallerFactory(createTRPCRouter({ power: powerRouter }));
  const as = (role: Role) =>
    createCaller(
      createContextInner({
        db: testDb.db,
        bus: createInProcessEventBus(),
        actor: { name: role === 'viewer' ? 'vera' : 'olga', role },
      }),
    );

  it('refuses a viewer any power action, naming the role, and audits the refusal', async () => {
    const error = await as('viewer')
      .power.act({
        hostId: hosts.demo.id,
        vmName: 'test',
        vmUuid: await uuidOf(hosts.demo.id, 'test'),
        action: 'poweroff',
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TRPCError);
    expect(error).toMatchObject({ code: 'FORBIDDEN', message: 'This needs the operator role; you are viewer.' });
    expect(await testDb.db.auditEvent.count({ where: { actor: 'vera', result: 'refused' } })).toBe(1);
    // What a viewer may read: the cards' open actions.
    expect(Array.isArray(await as('viewer').power.open())).toBe(true);
  });
});
