import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createPrismaClient } from '../db';
import { createInProcessEventBus } from '../events/bus';
import { VirshError, type Executor } from '../hypervisor/executor';
import { migrationOptionsSchema } from '../libvirt/migration/options';
import { toSqliteTimestamp } from '../audit/sqlite-file';
import { createTestDb, type TestDb } from '../testing/test-db';
import { hostLimitsSchema, readFleetLimit, saveFleetLimit, saveHostLimits } from './limits';
import { applyBandwidthShares, claimQueuedJob, describeQueue, kickScheduler } from './scheduler';
import { cancelMigration, startMigration } from './service';

/**
 * The scheduler and the start path on real SQLite. The hosts are a gated stand-in: they list their VMs at
 * once and hold every other virsh call until the test opens the gate (then answer "unreachable"), so a
 * started job stays in preflight, holding its slots, for as long as a test needs. Nothing here migrates;
 * the lab e2e (e2e/queue.spec.ts) runs the same scheduler against real hosts.
 */

const UUID = (n: number) => `0f1e0000-7a5b-4c1b-9e00-${String(n).padStart(12, '0')}`;
const VMS = ['vm1', 'vm2', 'vm3', 'vm4', 'vm5'];
const who = { actor: 'bob', clientAddress: '192.0.2.7' };
const options = migrationOptionsSchema.parse({});

let testDb: TestDb;
let gate: { open: () => void; opened: Promise<void> };
const calls: string[][] = [];

function newGate() {
  let open = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

const gatedHost: Executor = {
  description: 'gated test host',
  close: async () => {},
  async run(args) {
    calls.push([...args]);
    if (args[0] === 'list')
      return { stdout: VMS.map((vm, i) => `${UUID(i + 1)} ${vm}\n`).join('') + '\n', stderr: '', exitCode: 0 };
    await gate.opened;
    throw new VirshError({ kind: 'connection', message: 'host unreachable (test gate)', argv: args });
  },
};

const deps = () => ({
  db: testDb.db,
  bus: createInProcessEventBus(),
  executors: { get: () => gatedHost },
  pollIntervalMs: 20,
});

let hv1 = '';
let hv2 = '';
let hv3 = '';

beforeEach(async () => {
  gate?.open();
  await testDb?.cleanup();
  testDb = createTestDb();
  gate = newGate();
  calls.length = 0;
  const add = (alias: string, maxOutgoingMigrations = 2) =>
    testDb.db.host.create({
      data: { alias, uri: 'test:///default', displayUri: 'test:///default', displayName: alias, maxOutgoingMigrations },
    });
  hv1 = (await add('hv1')).id;
  hv2 = (await add('hv2')).id;
  hv3 = (await add('hv3')).id;
});

afterAll(async () => {
  gate.open();
  await new Promise((resolve) => setTimeout(resolve, 200));
  await testDb.cleanup();
});

async function queuedRow(vm: number, from = hv1, to = hv2, createdAt = new Date(Date.now() + vm)) {
  return testDb.db.migration.create({
    data: {
      vmName: `vm${vm}`,
      vmUuid: UUID(vm),
      sourceHostId: from,
      destinationHostId: to,
      sourceAlias: from === hv1 ? 'hv1' : from === hv2 ? 'hv2' : 'hv3',
      sourceUri: 'test:///default',
      destinationAlias: to === hv1 ? 'hv1' : to === hv2 ? 'hv2' : 'hv3',
      destinationUri: 'test:///default',
      options: JSON.stringify(options),
      actor: 'bob',
      state: 'queued',
      createdAt,
    },
  });
}

async function states() {
  const rows = await testDb.db.migration.findMany({
    orderBy: { vmName: 'asc' },
    select: { vmName: true, state: true },
  });
  return Object.fromEntries(rows.map((row) => [row.vmName, row.state]));
}

async function waitFor(check: () => Promise<boolean>, what: string) {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}: ${JSON.stringify(await states())}`);
}

describe('claimQueuedJob', () => {
  it('two claimers on two connections to one SQLite file: each job is won once and no host is overfilled', async () => {
    const jobs = await Promise.all([1, 2, 3, 4, 5].map((vm) => queuedRow(vm)));
    const other = createPrismaClient(`file:${testDb.filePath}`);
    try {
      const attempts = jobs.flatMap((job) =>
        [testDb.db, other].map(async (db, claimer) => ({
          id: job.id,
          claimer,
          won: await claimQueuedJob(db, job, { fleetLimit: 10, ownerId: `claimer-${claimer}` }),
        })),
      );
      const results = await Promise.all(attempts);
      const won = results.filter((r) => r.won);
      // hv1 allows 2 outgoing: exactly two claims win in all, never the same job twice.
      expect(won).toHaveLength(2);
      expect(new Set(won.map((r) => r.id)).size).toBe(2);
      const rows = await testDb.db.migration.findMany({ where: { state: 'preflight' } });
      expect(rows.map((r) => r.id).sort()).toEqual(won.map((r) => r.id).sort());
      for (const row of rows) expect(row.ownerId).toBe(`claimer-${won.find((r) => r.id === row.id)?.claimer}`);
      expect(await testDb.db.migration.count({ where: { state: 'queued' } })).toBe(3);
    } finally {
      await other.$disconnect();
    }
  });

  it('respects the fleet-wide limit and the destination’s incoming limit in the same statement', async () => {
    const a = await queuedRow(1, hv1, hv2);
    const b = await queuedRow(2, hv3, hv2);
    const c = await queuedRow(3, hv3, hv1);
    await testDb.db.host.update({ where: { id: hv2 }, data: { maxIncomingMigrations: 1 } });
    expect(await claimQueuedJob(testDb.db, a, { fleetLimit: 2 })).toBe(true);
    expect(await claimQueuedJob(testDb.db, b, { fleetLimit: 2 })).toBe(false);
    expect(await claimQueuedJob(testDb.db, c, { fleetLimit: 1 })).toBe(false);
    expect(await claimQueuedJob(testDb.db, c, { fleetLimit: 2 })).toBe(true);
    // A job that is no longer queued is never claimed again.
    expect(await claimQueuedJob(testDb.db, a, { fleetLimit: 10 })).toBe(false);
  });

  it('a job whose copy has ended holds no slot while it verifies: the next job is claimed and shown as starting', async () => {
    const [a, b] = [await queuedRow(1), await queuedRow(2)];
    const c = await queuedRow(3);
    await testDb.db.migration.updateMany({ where: { id: { in: [a.id, b.id] } }, data: { state: 'running' } });
    // hv1 allows 2 outgoing, both running: the third waits, in the claim and on the pages.
    expect(await claimQueuedJob(testDb.db, c, { fleetLimit: 2 })).toBe(false);
    expect((await describeQueue(testDb.db)).get(c.id)?.position).toBe(1);
    await testDb.db.migration.update({ where: { id: a.id }, data: { transferEndedAt: new Date() } });
    expect((await describeQueue(testDb.db)).get(c.id)).toEqual({ position: 0, waitingFor: 'starting' });
    // The fleet-wide count leaves it out too (2 in all, one of them verifying).
    expect(await claimQueuedJob(testDb.db, c, { fleetLimit: 2 })).toBe(true);
    // b still copies: a fourth job waits again.
    const d = await queuedRow(4);
    expect(await claimQueuedJob(testDb.db, d, { fleetLimit: 10 })).toBe(false);
  });
});

describe('scheduler', () => {
  it('starts what fits, shows the rest with their position, cancels a queued job without touching a host, and starts the next when a slot frees', async () => {
    for (const vm of [1, 2, 3, 4]) await queuedRow(vm);
    await kickScheduler(deps());
    expect(await states()).toEqual({ vm1: 'preflight', vm2: 'preflight', vm3: 'queued', vm4: 'queued' });

    const queue = await describeQueue(testDb.db);
    const vm3 = await testDb.db.migration.findFirstOrThrow({ where: { vmName: 'vm3' } });
    const vm4 = await testDb.db.migration.findFirstOrThrow({ where: { vmName: 'vm4' } });
    expect(queue.get(vm3.id)).toEqual({
      position: 1,
      waitingFor: 'waiting for a free outgoing slot on hv1 (2 of 2 in use)',
    });
    expect(queue.get(vm4.id)?.position).toBe(2);

    await expect(cancelMigration(deps(), { actor: 'carol', clientAddress: null }, vm3.id)).resolves.toEqual({
      id: vm3.id,
      state: 'cancelled',
    });
    expect(calls.filter((call) => call.includes(UUID(3)))).toEqual([]);
    const cancelled = await testDb.db.migration.findUniqueOrThrow({ where: { id: vm3.id } });
    expect(cancelled).toMatchObject({ state: 'cancelled', errorCode: 'cancelled' });
    expect(cancelled.errorMessage).toContain('while queued');
    const audit = await testDb.db.auditEvent.findMany({ where: { migrationId: vm3.id } });
    expect(audit.map((a) => `${a.action}:${a.actor}`)).toEqual(['migration.cancelled:carol']);
    expect((await describeQueue(testDb.db)).get(vm4.id)?.position).toBe(1);

    // The two running jobs end (their hosts answer "unreachable"): vm4 starts by itself.
    gate.open();
    await waitFor(async () => (await states()).vm4 !== 'queued', 'vm4 to start');
    await waitFor(async () => (await states()).vm4 === 'failed', 'vm4 to end');
    expect(await states()).toEqual({ vm1: 'failed', vm2: 'failed', vm3: 'cancelled', vm4: 'failed' });
  });

  it('a second start of the same VM returns the job already under way; another destination is refused by name', async () => {
    const request = { vmName: 'vm1', sourceHostId: hv1, destinationHostId: hv2, options };
    const [first, second] = await Promise.all([
      startMigration(deps(), who, request),
      startMigration(deps(), { actor: 'alice', clientAddress: null }, request),
    ]);
    expect(second.id).toBe(first.id);
    expect([first.existing, second.existing].sort()).toEqual([false, true]);
    expect(await testDb.db.migration.count()).toBe(1);
    await expect(startMigration(deps(), who, { ...request, destinationHostId: hv3 })).rejects.toThrow(
      new RegExp(`already being migrated \\(migration ${first.id}, preflight\\)`),
    );
    expect(await testDb.db.migration.count()).toBe(1);
    const audit = await testDb.db.auditEvent.findMany({ where: { action: 'migration.start' } });
    expect(audit).toHaveLength(1);
    gate.open();
    await waitFor(async () => (await states()).vm1 === 'failed', 'the job to end');
  });

  it('the database itself refuses a second unfinished job for one VM, from another connection', async () => {
    await queuedRow(1);
    const insert = (state: string) =>
      testDb.raw.exec(
        `INSERT INTO "Migration" ("id", "vmName", "vmUuid", "sourceAlias", "sourceUri", "destinationAlias",
          "destinationUri", "options", "actor", "state", "createdAt")
         VALUES ('raw-${state}', 'vm1', '${UUID(1)}', 'hv1', 'x', 'hv2', 'x', '{}', 'bob', '${state}',
          '${toSqliteTimestamp(new Date())}')`,
      );
    expect(() => insert('running')).toThrow(/UNIQUE constraint failed/);
    expect(() => insert('succeeded')).not.toThrow();
  });
});

describe('bandwidth shares', () => {
  it('a pass gives the jobs it claims their share of a capped host before they load', async () => {
    await testDb.db.host.update({ where: { id: hv1 }, data: { bandwidthCapMiBps: 10 } });
    const running = await queuedRow(1, hv1, hv3);
    await testDb.db.migration.update({ where: { id: running.id }, data: { state: 'preflight' } });
    const a = await queuedRow(2);
    const b = await queuedRow(3);
    await kickScheduler(deps());
    expect(await states()).toEqual({ vm1: 'preflight', vm2: 'preflight', vm3: 'queued' });
    // hv1 has two outgoing slots: vm1 and the claimed vm2 share its 10 MiB/s; vm3 waits and takes none.
    const shares = await testDb.db.migration.findMany({
      where: { id: { in: [running.id, a.id, b.id] } },
      orderBy: { vmName: 'asc' },
      select: { bandwidthShareMiBps: true },
    });
    expect(shares.map((row) => row.bandwidthShareMiBps)).toEqual([5, 5, null]);

    // vm2 ends (its hosts answer "unreachable") and vm3 takes its slot: both done before the next test's database.
    gate.open();
    await waitFor(async () => {
      const now = await states();
      return now.vm2 === 'failed' && now.vm3 === 'failed';
    }, 'vm2 and vm3 to end');
  });

  it('splits a host’s cap among its running jobs, stores each share and tells libvirt for those copying', async () => {
    const setspeed: string[][] = [];
    const recording: Executor = {
      description: 'recording test host',
      close: async () => {},
      async run(args) {
        setspeed.push([...args]);
        return { stdout: '', stderr: '', exitCode: 0 };
      },
    };
    const withRecorder = { ...deps(), executors: { get: () => recording } };
    await testDb.db.host.update({ where: { id: hv1 }, data: { bandwidthCapMiBps: 10 } });
    const a = await queuedRow(1);
    const b = await queuedRow(2, hv1, hv3);
    await testDb.db.migration.update({ where: { id: a.id }, data: { state: 'running' } });
    await testDb.db.migration.update({ where: { id: b.id }, data: { state: 'preflight' } });

    await applyBandwidthShares(withRecorder);
    const share = async (id: string) =>
      (await testDb.db.migration.findUniqueOrThrow({ where: { id } })).bandwidthShareMiBps;
    expect([await share(a.id), await share(b.id)]).toEqual([5, 5]);
    // Only the job that is copying is told now; the one in preflight starts with --bandwidth 5 (job/load.ts).
    expect(setspeed).toEqual([['migrate-setspeed', '--domain', UUID(1), '--bandwidth', '5']]);

    // b ends: a gets the whole cap back.
    await testDb.db.migration.update({ where: { id: b.id }, data: { state: 'failed' } });
    await applyBandwidthShares(withRecorder);
    expect(await share(a.id)).toBe(10);
    expect(setspeed.at(-1)).toEqual(['migrate-setspeed', '--domain', UUID(1), '--bandwidth', '10']);
    const log = await testDb.db.migrationEvent.findMany({ where: { migrationId: a.id, type: 'log' } });
    expect(log.map((e) => (JSON.parse(e.data) as { text: string }).text)).toEqual([
      "Bandwidth share now 5 MiB/s (the hosts' caps are shared by their running migrations).\n",
      "Bandwidth share now 10 MiB/s (the hosts' caps are shared by their running migrations).\n",
    ]);

    // The cap is lifted: libvirt's "no limit" value, and nothing is stored.
    await testDb.db.host.update({ where: { id: hv1 }, data: { bandwidthCapMiBps: null } });
    await applyBandwidthShares(withRecorder);
    expect(await share(a.id)).toBeNull();
    expect(setspeed.at(-1)).toEqual(['migrate-setspeed', '--domain', UUID(1), '--bandwidth', '8796093022207']);
  });
});

describe('limits', () => {
  it('validates host limits with one sentence per field', () => {
    const problems = hostLimitsSchema.safeParse({
      maxOutgoingMigrations: 0,
      maxIncomingMigrations: 2.5,
      bandwidthCapMiBps: -1,
    });
    expect(problems.success).toBe(false);
    expect(Object.fromEntries(problems.error!.issues.map((i) => [i.path[0], i.message]))).toEqual({
      maxOutgoingMigrations: 'Outgoing migrations must be at least 1 (0 would queue every migration forever).',
      maxIncomingMigrations: 'Incoming migrations must be a whole number.',
      bandwidthCapMiBps: 'The bandwidth cap must be at least 1 MiB/s; leave it empty for no cap.',
    });
    expect(
      hostLimitsSchema.parse({ maxOutgoingMigrations: 3, maxIncomingMigrations: 1, bandwidthCapMiBps: null }),
    ).toEqual({ maxOutgoingMigrations: 3, maxIncomingMigrations: 1, bandwidthCapMiBps: null });
    expect(
      hostLimitsSchema.safeParse({ maxOutgoingMigrations: 33, maxIncomingMigrations: 1, bandwidthCapMiBps: 5 }).error
        ?.issues[0]?.message,
    ).toBe('Outgoing migrations is at most 32.');
  });

  it('saves host and fleet limits with an audit row each; the fleet limit defaults to 10', async () => {
    expect(await readFleetLimit(testDb.db)).toBe(10);
    await saveFleetLimit({ db: testDb.db, fleetLimit: 4, who });
    expect(await readFleetLimit(testDb.db)).toBe(4);
    await saveHostLimits({
      db: testDb.db,
      hostId: hv1,
      limits: { maxOutgoingMigrations: 1, maxIncomingMigrations: 3, bandwidthCapMiBps: 100 },
      who,
    });
    expect(await testDb.db.host.findUniqueOrThrow({ where: { id: hv1 } })).toMatchObject({
      maxOutgoingMigrations: 1,
      maxIncomingMigrations: 3,
      bandwidthCapMiBps: 100,
    });
    const audit = await testDb.db.auditEvent.findMany({ orderBy: { id: 'asc' } });
    expect(audit.map((a) => [a.action, a.hostAlias, JSON.parse(a.details)])).toEqual([
      ['settings.fleet-limit', null, { from: 10, to: 4 }],
      [
        'host.limits',
        'hv1',
        {
          from: { maxOutgoingMigrations: 2, maxIncomingMigrations: 2, bandwidthCapMiBps: null },
          to: { maxOutgoingMigrations: 1, maxIncomingMigrations: 3, bandwidthCapMiBps: 100 },
        },
      ],
    ]);
  });
});
