import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../testing/test-db';
import { createSessionExecutor, type SessionExecutor } from '../hypervisor/session-executor';
import { UserError } from '../errors';
import { createInProcessEventBus } from '../events/bus';
import { reconcileOrphanedMigrations } from '../migrations/reconcile';
import { recordPendingVolumes, settleMigrationVolumes, type LedgerHost } from './ledger';
import {
  closeVanishedLeftovers,
  findLeftoversAt,
  listLeftovers,
  removeLeftover,
  settleFinishedJobVolumes,
} from './service';

/**
 * The ledger against real virsh on the libvirt test driver (one long-lived session keeps the driver's state
 * between commands) and a real SQLite file. `default-pool` is the test driver's dir pool at /default-pool.
 */

const POOL = 'default-pool';
const MIB = 2 ** 20;
const at = (name: string) => `/${POOL}/${name}`;

let testDb: TestDb;
let virsh: SessionExecutor;
let tmp: string;
let hv1: LedgerHost;
let hv2: LedgerHost;

beforeAll(async () => {
  testDb = createTestDb();
  tmp = mkdtempSync(path.join(tmpdir(), 'ferry-ledger-'));
  const host = (alias: string) =>
    testDb.db.host.create({
      data: { alias, uri: 'test:///default', displayUri: 'test:///default', displayName: alias },
    });
  hv1 = await host('hv1');
  hv2 = await host('hv2');
});

afterAll(async () => {
  await testDb.cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

beforeEach(() => {
  virsh = createSessionExecutor({ uri: 'test:///default' });
});

afterEach(async () => {
  await virsh.close();
});

const run = (...args: string[]) => virsh.run(args, { timeoutMs: 10_000 });
const exists = (volumePath: string) =>
  run('vol-info', '--', volumePath).then(
    () => true,
    () => false,
  );
const createVolume = (name: string, bytes: number) =>
  run('vol-create-as', '--pool', POOL, '--name', name, '--capacity', `${bytes}b`, '--format', 'qcow2');

async function migration(state: string, errorCode: string | null = null) {
  return testDb.db.migration.create({
    data: {
      vmName: 'vm1',
      sourceHostId: hv1.id,
      destinationHostId: hv2.id,
      sourceAlias: 'hv1',
      sourceUri: 'test:///default',
      destinationAlias: 'hv2',
      destinationUri: 'test:///default',
      options: '{}',
      actor: 'bob',
      state,
      errorCode,
      endedAt: state === 'running' ? null : new Date(),
    },
  });
}

const audits: { hostAlias: string; details: Record<string, unknown> }[] = [];
const settle = (migrationId: string, outcome: 'succeeded' | 'not-succeeded', deleteSource = false) =>
  settleMigrationVolumes({
    db: testDb.db,
    migrationId,
    outcome,
    deleteSource,
    executorFor: async () => virsh,
    actor: 'bob',
    audit: async (entry) => {
      audits.push(entry);
    },
  });
const rowsOf = (migrationId: string) =>
  testDb.db.volumeRecord.findMany({ where: { migrationId }, orderBy: { role: 'asc' } });

describe('settleMigrationVolumes', () => {
  it('after a failed copy: deletes the destination copy it recorded and keeps the source disk as the VM’s', async () => {
    const job = await migration('running');
    await recordPendingVolumes(testDb.db, job.id, [
      { host: hv1, pool: null, path: at('a-src.qcow2'), capacityBytes: MIB, role: 'source' },
      { host: hv2, pool: POOL, path: at('a.qcow2'), capacityBytes: MIB, role: 'copy-target' },
    ]);
    await createVolume('a.qcow2', MIB); // what libvirt created on the destination before the copy failed

    const notes = await settle(job.id, 'not-succeeded');

    expect(notes).toEqual([`removed leftover ${at('a.qcow2')} on hv2`]);
    expect(await exists(at('a.qcow2'))).toBe(false);
    const [copy, source] = await rowsOf(job.id);
    expect(copy).toMatchObject({ role: 'copy-target', status: 'removed', removedHow: 'cleanup', removedBy: 'bob' });
    expect(copy?.removedAt).toBeInstanceOf(Date);
    expect(source).toMatchObject({ role: 'source', status: 'in-use' });
    expect(audits.pop()).toEqual({
      hostAlias: 'hv2',
      details: { path: at('a.qcow2'), reason: 'leftover of a migration that did not complete' },
    });
  });

  it('keeps a destination copy a defined domain uses, as a leftover naming the domain', async () => {
    const job = await migration('running');
    await createVolume('busy.qcow2', MIB);
    const xml = path.join(tmp, 'busy.xml');
    writeFileSync(
      xml,
      `<domain type='test'><name>busy</name><memory unit='KiB'>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os>
<devices><disk type='file' device='disk'><source file='${at('busy.qcow2')}'/><target dev='vda'/></disk></devices></domain>`,
    );
    await run('define', '--file', xml);
    await recordPendingVolumes(testDb.db, job.id, [
      { host: hv2, pool: POOL, path: at('busy.qcow2'), capacityBytes: MIB, role: 'copy-target' },
    ]);

    const notes = await settle(job.id, 'not-succeeded');

    expect(notes).toEqual([
      `could not remove ${at('busy.qcow2')} on hv2: domain busy on hv2 uses it (listed as a leftover)`,
    ]);
    expect(await exists(at('busy.qcow2'))).toBe(true);
    expect((await rowsOf(job.id))[0]).toMatchObject({ status: 'leftover', reason: 'domain busy on hv2 uses it' });
  });

  it('closes a recorded copy that never came to exist (a cancel before the copy began) as gone', async () => {
    const job = await migration('running');
    await recordPendingVolumes(testDb.db, job.id, [
      { host: hv2, pool: POOL, path: at('never.qcow2'), capacityBytes: MIB, role: 'copy-target' },
    ]);
    expect(await settle(job.id, 'not-succeeded')).toEqual([]);
    expect((await rowsOf(job.id))[0]).toMatchObject({ status: 'removed', removedHow: 'gone' });
  });

  it('after a success: the destination copy is the VM’s disk; the source copy is kept and named, or deleted', async () => {
    const kept = await migration('running');
    await createVolume('k-src.qcow2', 2 * MIB);
    await recordPendingVolumes(testDb.db, kept.id, [
      { host: hv1, pool: null, path: at('k-src.qcow2'), capacityBytes: 2 * MIB, role: 'source' },
      { host: hv2, pool: POOL, path: at('k.qcow2'), capacityBytes: 2 * MIB, role: 'copy-target' },
    ]);
    expect(await settle(kept.id, 'succeeded')).toEqual([]);
    const [copy, source] = await rowsOf(kept.id);
    expect(copy).toMatchObject({ status: 'in-use' });
    expect(source).toMatchObject({
      status: 'leftover',
      reason: 'kept after the migration: "Delete source volumes" was off',
    });
    expect(await exists(at('k-src.qcow2'))).toBe(true);

    const deleted = await migration('running');
    await createVolume('d-src.qcow2', MIB);
    await recordPendingVolumes(testDb.db, deleted.id, [
      { host: hv1, pool: null, path: at('d-src.qcow2'), capacityBytes: MIB, role: 'source' },
    ]);
    expect(await settle(deleted.id, 'succeeded', true)).toEqual([`deleted ${at('d-src.qcow2')} on hv1`]);
    expect(await exists(at('d-src.qcow2'))).toBe(false);
    expect((await rowsOf(deleted.id))[0]).toMatchObject({ status: 'removed', removedHow: 'cleanup' });
  });

  it('keeps the copy with the reason when the destination pool is not active', async () => {
    const job = await migration('running');
    await createVolume('p.qcow2', MIB);
    await recordPendingVolumes(testDb.db, job.id, [
      { host: hv2, pool: POOL, path: at('p.qcow2'), capacityBytes: MIB, role: 'copy-target' },
    ]);
    await run('pool-destroy', POOL);
    try {
      const notes = await settle(job.id, 'not-succeeded');
      const reason = `pool ${POOL} on hv2 could not be read (Requested operation is not valid: storage pool '${POOL}' is not active)`;
      expect(notes).toEqual([`could not remove ${at('p.qcow2')} on hv2: ${reason} (listed as a leftover)`]);
      expect((await rowsOf(job.id))[0]).toMatchObject({ status: 'leftover', reason });
    } finally {
      await run('pool-start', POOL);
    }
    expect(await exists(at('p.qcow2'))).toBe(true);
  });
});

describe('recordPendingVolumes', () => {
  it('closes an older open record of the same path on the same host as replaced, and no other', async () => {
    const earlier = await migration('succeeded');
    await recordPendingVolumes(testDb.db, earlier.id, [
      { host: hv1, pool: null, path: at('back.qcow2'), capacityBytes: MIB, role: 'source' },
      { host: hv2, pool: POOL, path: at('back.qcow2'), capacityBytes: MIB, role: 'copy-target' },
    ]);
    await settle(earlier.id, 'succeeded'); // the source copy on hv1 is kept (a leftover), hv2's is the VM's disk
    expect((await rowsOf(earlier.id)).map((row) => [row.hostAlias, row.status])).toEqual([
      ['hv2', 'in-use'],
      ['hv1', 'leftover'],
    ]);

    // The VM comes back to hv1 (its old copy removed outside Ferry) and leaves again: hv1's path is a new file.
    const later = await migration('running');
    await recordPendingVolumes(testDb.db, later.id, [
      { host: hv1, pool: null, path: at('back.qcow2'), capacityBytes: MIB, role: 'source' },
    ]);

    const rows = await rowsOf(earlier.id);
    expect(rows.find((row) => row.hostAlias === 'hv1')).toMatchObject({
      status: 'removed',
      removedHow: 'replaced',
      removedBy: 'system',
    });
    expect(rows.find((row) => row.hostAlias === 'hv2')).toMatchObject({ status: 'in-use' });
    expect(await rowsOf(later.id)).toEqual([expect.objectContaining({ hostAlias: 'hv1', status: 'pending' })]);
  });
});

describe('the sweep after a restart', () => {
  it('cleans up the copy of a job the reconciler closed as interrupted, and leaves a running job alone', async () => {
    const interrupted = await migration('failed', 'interrupted');
    const running = await migration('running');
    await createVolume('i.qcow2', MIB);
    await createVolume('r.qcow2', MIB);
    await recordPendingVolumes(testDb.db, interrupted.id, [
      { host: hv2, pool: POOL, path: at('i.qcow2'), capacityBytes: MIB, role: 'copy-target' },
    ]);
    await recordPendingVolumes(testDb.db, running.id, [
      { host: hv2, pool: POOL, path: at('r.qcow2'), capacityBytes: MIB, role: 'copy-target' },
    ]);

    expect(await settleFinishedJobVolumes({ db: testDb.db, executors: { get: () => virsh } })).toBe(1);

    expect(await exists(at('i.qcow2'))).toBe(false);
    expect(await exists(at('r.qcow2'))).toBe(true);
    expect((await rowsOf(interrupted.id))[0]).toMatchObject({ status: 'removed', removedBy: 'system' });
    expect((await rowsOf(running.id))[0]).toMatchObject({ status: 'pending' });
    const audit = await testDb.db.auditEvent.findFirstOrThrow({
      where: { migrationId: interrupted.id, action: 'volume.delete' },
    });
    expect(audit).toMatchObject({ actor: 'system', hostAlias: 'hv2', vmName: 'vm1', result: 'ok' });
  });
});

describe('a Ferry restart mid-copy', () => {
  it('the reconciler closes the orphaned job with what the hosts said and deletes the copy it had recorded', async () => {
    const long = new Date(Date.now() - 10 * 60_000);
    const job = await migration('running');
    await testDb.db.migration.update({
      where: { id: job.id },
      data: { ownerId: 'a-process-that-died', heartbeatAt: long, createdAt: long, startedAt: long },
    });
    await createVolume('half.qcow2', MIB);
    await recordPendingVolumes(testDb.db, job.id, [
      { host: hv2, pool: POOL, path: at('half.qcow2'), capacityBytes: MIB, role: 'copy-target' },
    ]);

    const bus = createInProcessEventBus();
    expect(await reconcileOrphanedMigrations({ db: testDb.db, bus, executors: { get: () => virsh } })).toEqual({
      closed: [job.id],
      resumed: [],
    });

    // Neither "host" (one test driver) knows vm1, so how the job ended cannot be established: unknown, never a guess.
    expect(await testDb.db.migration.findUniqueOrThrow({ where: { id: job.id } })).toMatchObject({
      state: 'unknown',
      errorCode: 'unknown',
    });
    expect(await exists(at('half.qcow2'))).toBe(false);
    expect((await rowsOf(job.id))[0]).toMatchObject({ status: 'removed', removedHow: 'cleanup', removedBy: 'system' });
  });
});

describe('leftovers: named, listed, removed by an operator', () => {
  const who = { actor: 'olga', clientAddress: '127.0.0.1' };

  async function leftover(name: string, options: { recorded: number; actual: number }) {
    const job = await migration('cancelled', 'cancelled');
    await createVolume(name, options.actual);
    await recordPendingVolumes(testDb.db, job.id, [
      { host: hv2, pool: POOL, path: at(name), capacityBytes: options.recorded, role: 'copy-target' },
    ]);
    await testDb.db.volumeRecord.updateMany({
      where: { migrationId: job.id },
      data: { status: 'leftover', reason: 'hv2 did not answer (Connection refused)' },
    });
    const row = await testDb.db.volumeRecord.findFirstOrThrow({ where: { migrationId: job.id } });
    return { job, row };
  }

  it('names the leftover with its migration, removes it after checking the host, audits it', async () => {
    const { job, row } = await leftover('x.qcow2', { recorded: MIB, actual: MIB });

    const named = await findLeftoversAt(testDb.db, { hostId: hv2.id, paths: [at('x.qcow2')] });
    expect(named.get(at('x.qcow2'))?.story).toBe(
      `x.qcow2 on hv2 is the copy left by migration #${job.id.slice(-6)} (cancelled just now)`,
    );
    const listed = await listLeftovers(testDb.db, hv2.id);
    expect(listed.find((view) => view.id === row.id)).toMatchObject({
      capacityBytes: MIB,
      age: 'just now',
      role: 'copy-target',
      migration: { id: job.id, vmName: 'vm1', state: 'cancelled' },
    });

    const deps = { db: testDb.db, executors: { get: () => virsh } };
    expect(await removeLeftover(deps, who, row.id)).toEqual({
      id: row.id,
      path: at('x.qcow2'),
      hostAlias: 'hv2',
      result: 'deleted',
    });
    expect(await exists(at('x.qcow2'))).toBe(false);
    expect(await testDb.db.volumeRecord.findUniqueOrThrow({ where: { id: row.id } })).toMatchObject({
      status: 'removed',
      removedHow: 'operator',
      removedBy: 'olga',
    });
    expect((await findLeftoversAt(testDb.db, { hostId: hv2.id, paths: [at('x.qcow2')] })).size).toBe(0);
    const audit = await testDb.db.auditEvent.findFirstOrThrow({ where: { migrationId: job.id, actor: 'olga' } });
    expect(audit).toMatchObject({ action: 'volume.delete', result: 'ok', hostAlias: 'hv2', vmName: 'vm1' });
    await expect(removeLeftover(deps, who, row.id)).rejects.toThrow(/is not a leftover \(it is removed\)/);
  });

  it('closes a leftover the host no longer has (deleted outside Ferry), never a pending one', async () => {
    const running = await migration('running');
    await recordPendingVolumes(testDb.db, running.id, [
      { host: hv2, pool: POOL, path: at('z.qcow2'), capacityBytes: MIB, role: 'copy-target' },
    ]);
    const { row } = await leftover('z.qcow2', { recorded: MIB, actual: MIB });
    await closeVanishedLeftovers(testDb.db, { hostId: hv2.id, paths: [at('z.qcow2')] });
    expect(await testDb.db.volumeRecord.findUniqueOrThrow({ where: { id: row.id } })).toMatchObject({
      status: 'removed',
      removedHow: 'gone',
    });
    expect((await rowsOf(running.id))[0]).toMatchObject({ status: 'pending' });
  });

  it('refuses a volume that is no longer the one recorded, keeps it, and audits the refusal', async () => {
    const { job, row } = await leftover('y.qcow2', { recorded: MIB, actual: 3 * MIB });
    const deps = { db: testDb.db, executors: { get: () => virsh } };

    const refusal = removeLeftover(deps, who, row.id);
    await expect(refusal).rejects.toBeInstanceOf(UserError);
    await expect(refusal).rejects.toThrow(
      `Ferry did not delete y.qcow2 on hv2: it is ${3 * MIB} bytes now, not the ${MIB} bytes Ferry recorded: someone replaced it.`,
    );
    expect(await exists(at('y.qcow2'))).toBe(true);
    expect(await testDb.db.volumeRecord.findUniqueOrThrow({ where: { id: row.id } })).toMatchObject({
      status: 'leftover',
    });
    const audit = await testDb.db.auditEvent.findFirstOrThrow({ where: { migrationId: job.id, actor: 'olga' } });
    expect(audit).toMatchObject({ action: 'volume.delete', result: 'refused' });
  });
});
