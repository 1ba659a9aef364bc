import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInProcessEventBus } from '../events/bus';
import { createLocalExecutor } from '../hypervisor/local-executor';
import { migrationOptionsSchema } from '../libvirt/migration/options';
import { FLEET_LIMIT_SETTING } from '../migrations/limits';
import { runPreflight } from '../migrations/preflight';
import { createTestDb, type TestDb } from '../testing/test-db';
import { planBringBack } from './plan';
import {
  advanceEvacuation,
  cancelEvacuation,
  endMaintenance,
  pauseEvacuation,
  resumeEvacuation,
  startEvacuation,
} from './run';
import { testGuest, testNode } from './test-hosts';
import { getEvacuationView } from './view';

/**
 * The evacuation's state machine on real SQLite, planned from real virsh (made-up test-driver hosts). The queue is
 * held shut (fleet limit 1, taken by another job), so no job runs: the test ends each job by writing its row as the
 * runner would, and checks what the evacuation does next.
 */

const guest = (name: string, n: number) => testGuest(name, UUID(n));
const node = testNode;

const UUID = (n: number) => `5e000000-0000-4000-8000-00000000000${n}`;

let testDb: TestDb;
let dir: string;
const bus = createInProcessEventBus();
const executors = {
  get: (host: { uri: string }) => createLocalExecutor({ uri: host.uri, defaultTimeoutMs: 20_000 }),
};
const who = { actor: 'alice', clientAddress: '127.0.0.1' };
const hostIds: Record<string, string> = {};

function deps() {
  return { db: testDb.db, bus, executors };
}

beforeAll(async () => {
  testDb = createTestDb();
  dir = await mkdtemp(path.join(tmpdir(), 'ferry-evac-run-'));
  const files = {
    src: node(16 * 2 ** 20, [], guest('e1', 1), guest('e2', 2), guest('e3', 3)),
    dst1: node(16 * 2 ** 20, ['e1', 'e2', 'e3']),
    dst2: node(12 * 2 ** 20, ['e1', 'e2', 'e3']),
  };
  for (const [alias, xml] of Object.entries(files)) {
    await writeFile(path.join(dir, `${alias}.xml`), xml);
    const uri = `test://${path.join(dir, `${alias}.xml`)}`;
    const host = await testDb.db.host.create({
      data: {
        alias,
        uri,
        displayUri: uri,
        displayName: alias,
        // One outgoing slot on the drained host: the evacuation keeps two of its jobs in the queue at once.
        maxOutgoingMigrations: alias === 'src' ? 1 : 2,
      },
    });
    hostIds[alias] = host.id;
  }
  // The queue stays shut: the fleet may run one migration, and another job holds that slot.
  await testDb.db.setting.create({ data: { key: FLEET_LIMIT_SETTING, value: '1' } });
  await testDb.db.migration.create({
    data: {
      vmName: 'elsewhere',
      vmUuid: '5e000000-0000-4000-8000-0000000000ff',
      sourceAlias: 'x',
      sourceUri: 'x',
      destinationAlias: 'y',
      destinationUri: 'y',
      options: '{}',
      actor: 'bob',
      state: 'running',
    },
  });
});

afterAll(async () => {
  await testDb.cleanup();
  await rm(dir, { recursive: true, force: true });
});

async function itemsByName(evacuationId: string) {
  const items = await testDb.db.evacuationItem.findMany({ where: { evacuationId } });
  return Object.fromEntries(items.map((item) => [item.vmName, item]));
}

async function endJob(migrationId: string, data: Record<string, unknown>) {
  await testDb.db.migration.update({ where: { id: migrationId }, data: { endedAt: new Date(), ...data } });
}

async function auditActions() {
  return (await testDb.db.auditEvent.findMany({ orderBy: { id: 'asc' } })).map((row) => row.action);
}

describe('an evacuation, step by step', () => {
  let id: string;

  it('starts: maintenance on, one queued job per VM up to the window, the admin’s change honoured and audited', async () => {
    ({ id } = await startEvacuation(deps(), who, {
      hostId: hostIds.src as string,
      overrides: [{ vmUuid: UUID(3), destinationHostId: hostIds.dst2 as string }],
    }));
    const src = await testDb.db.host.findUniqueOrThrow({ where: { id: hostIds.src } });
    expect(src.inMaintenance).toBe(true);
    const items = await itemsByName(id);
    // The pinned VM is placed first (e3 → dst2); then spread by free memory: dst1 (16 GiB) has more left for
    // both e1 and e2 than dst2 (12 GiB). Jobs are submitted in the VMs' order, two at a time (window 2 × 1).
    expect(items.e1).toMatchObject({ destinationAlias: 'dst1', state: 'submitted', attempts: 1, storage: 'shared' });
    expect(items.e2).toMatchObject({ destinationAlias: 'dst1', state: 'submitted' });
    expect(items.e3).toMatchObject({ destinationAlias: 'dst2', state: 'pending' });
    expect(JSON.parse(items.e3?.reasons ?? '[]')[0]).toBe('chosen by the admin');
    const jobs = await testDb.db.migration.findMany({ where: { evacuationId: id } });
    expect(jobs.map((job) => job.state)).toEqual(['queued', 'queued']);
    expect(JSON.parse(jobs[0]?.options ?? '{}')).toMatchObject({ mode: 'live', storage: 'shared' });
    expect(await auditActions()).toEqual([
      'host.maintenance-on',
      'evacuation.start',
      'evacuation.change',
      'migration.start',
      'migration.start',
    ]);
  });

  it('makes single-migration preflight refuse the host in maintenance as a destination, with a sentence', async () => {
    const host = (alias: string) => ({
      id: hostIds[alias] as string,
      alias,
      uri: 'test:///default',
      hostUuid: null,
      executor: createLocalExecutor({ uri: `test://${path.join(dir, `${alias}.xml`)}` }),
    });
    const report = await runPreflight({
      db: testDb.db,
      vm: { name: 'x', uuid: null },
      migration: migrationOptionsSchema.parse({}),
      source: host('dst1'),
      destination: host('src'),
    });
    expect(report.ok).toBe(false);
    expect(report.checks).toEqual([
      expect.objectContaining({
        id: 'destination-maintenance',
        status: 'fail',
        reason: 'src is in maintenance: it takes no migrations until an operator ends maintenance on its host page.',
      }),
    ]);
  });

  it('settles a success, retries a destination failure once on the next-best host, and submits the next VM', async () => {
    const before = await itemsByName(id);
    await endJob(before.e1?.migrationId as string, { state: 'succeeded', percent: 100 });
    await endJob(before.e2?.migrationId as string, {
      state: 'failed',
      errorCode: 'preflight',
      errorMessage: 'Destination memory: dst1 has 10 MiB free; "e2" needs 256 MiB.',
      checklist: JSON.stringify([{ id: 'memory', label: 'Destination memory', status: 'fail', reason: '…' }]),
    });
    await advanceEvacuation(deps(), id);
    const after = await itemsByName(id);
    expect(after.e1?.state).toBe('succeeded');
    expect(after.e2).toMatchObject({ state: 'submitted', attempts: 2, destinationAlias: 'dst2' });
    expect(after.e2?.error).toMatch(/^To dst1 failed \(Destination memory: .*\); retried on the next-best host\.$/);
    expect(after.e2?.migrationId).not.toBe(before.e2?.migrationId);
    expect(after.e3?.state).toBe('submitted');
    const view = await getEvacuationView(testDb.db, id);
    expect(view.counts).toMatchObject({ succeeded: 1, queued: 2, pending: 0 });
    expect(view.items.find((item) => item.vmName === 'e2')?.attempts.map((a) => a.state)).toEqual(['failed', 'queued']);
    expect(view.percent).toBe(33);
  });

  it('starts a job a Ferry restart interrupted before the VM moved again, once, on the same host', async () => {
    const before = await itemsByName(id);
    await endJob(before.e3?.migrationId as string, {
      state: 'failed',
      errorCode: 'interrupted',
      errorMessage: 'Ferry restarted while this migration ran. The migration stopped while Ferry was not watching.',
    });
    await advanceEvacuation(deps(), id);
    const after = await itemsByName(id);
    expect(after.e3).toMatchObject({
      state: 'submitted',
      attempts: 2,
      destinationAlias: before.e3?.destinationAlias,
      error: `A Ferry restart interrupted the move to ${before.e3?.destinationAlias} before e3 left src; started again.`,
    });
    expect(after.e3?.migrationId).not.toBe(before.e3?.migrationId);
  });

  it('does not retry a second time; pause and resume are audited', async () => {
    await pauseEvacuation(deps(), who, id);
    await expect(pauseEvacuation(deps(), who, id)).rejects.toThrow('The evacuation is paused, not running');
    const items = await itemsByName(id);
    await endJob(items.e2?.migrationId as string, {
      state: 'failed',
      errorCode: 'name-clash',
      errorMessage: 'A domain named "e2" already exists on the destination.',
    });
    await resumeEvacuation(deps(), who, id);
    const after = await itemsByName(id);
    expect(after.e2).toMatchObject({
      state: 'failed',
      error: 'To dst2: A domain named "e2" already exists on the destination.',
    });
  });

  it('refuses to end maintenance while the evacuation is open', async () => {
    await expect(endMaintenance(deps(), who, hostIds.src as string)).rejects.toThrow(
      'The evacuation of src is running; let it finish or cancel it before ending maintenance.',
    );
  });

  it('cancels: the queued job is closed through the migration cancel, then the evacuation ends cancelled', async () => {
    await cancelEvacuation(deps(), who, id);
    const items = await itemsByName(id);
    expect(items.e3?.state).toBe('cancelled');
    const job = await testDb.db.migration.findUniqueOrThrow({ where: { id: items.e3?.migrationId as string } });
    expect(job.state).toBe('cancelled');
    const evacuation = await testDb.db.evacuation.findUniqueOrThrow({ where: { id } });
    expect(evacuation.state).toBe('cancelled');
    const actions = await auditActions();
    expect(actions).toEqual(
      expect.arrayContaining(['evacuation.pause', 'evacuation.resume', 'evacuation.cancel', 'evacuation.cancelled']),
    );
  });

  it('ends maintenance, offers the moved VM back, and reports one that is no longer where it went', async () => {
    const ended = await endMaintenance(deps(), who, hostIds.src as string);
    expect(ended.movedAway).toBe(1);
    expect((await testDb.db.host.findUniqueOrThrow({ where: { id: hostIds.src } })).inMaintenance).toBe(false);
    expect(await auditActions()).toContain('host.maintenance-off');
    // The test driver did not really move e1: dst1 does not have it, and the plan says so.
    const plan = await planBringBack(deps(), { hostId: hostIds.src as string });
    expect(plan.fromEvacuationId).toBe(id);
    expect(plan.items).toEqual([
      expect.objectContaining({
        vmName: 'e1',
        kind: 'unmovable',
        reasons: ['no longer on dst1 (moved or removed since the evacuation)'],
      }),
    ]);
  });
});

describe('queuing a batch of an evacuation’s jobs', () => {
  it('queues the jobs that fit in one go, and an item whose VM got a job meanwhile fails with that cause', async () => {
    const files = {
      busy: node(16 * 2 ** 20, [], guest('f1', 6), guest('f2', 7), guest('f3', 8)),
      calm: node(16 * 2 ** 20, ['f1', 'f2', 'f3']),
    };
    const ids: Record<string, string> = {};
    for (const [alias, xml] of Object.entries(files)) {
      await writeFile(path.join(dir, `${alias}.xml`), xml);
      const uri = `test://${path.join(dir, `${alias}.xml`)}`;
      ids[alias] = (
        await testDb.db.host.create({
          data: { alias, uri, displayUri: uri, displayName: alias, maxOutgoingMigrations: 1 },
        })
      ).id;
    }
    const { id } = await startEvacuation(deps(), who, { hostId: ids.busy as string, overrides: [] });
    let items = await itemsByName(id);
    // Window 2 (one outgoing slot): f1 and f2 queued together, each with its first event; f3 waits.
    expect([items.f1?.state, items.f2?.state, items.f3?.state]).toEqual(['submitted', 'submitted', 'pending']);
    const jobs = await testDb.db.migration.findMany({ where: { evacuationId: id }, orderBy: { vmName: 'asc' } });
    expect(jobs.map((job) => [job.vmName, job.state])).toEqual([
      ['f1', 'queued'],
      ['f2', 'queued'],
    ]);
    for (const job of jobs) {
      const events = await testDb.db.migrationEvent.findMany({ where: { migrationId: job.id } });
      expect(events.map((event) => JSON.parse(event.data).state)).toEqual(['queued']);
    }
    // Someone starts a single migration of f3 after the plan; then f1 ends and f3's turn comes.
    await testDb.db.migration.create({
      data: {
        vmName: 'f3',
        vmUuid: UUID(8),
        sourceHostId: ids.busy,
        destinationHostId: ids.calm,
        sourceAlias: 'busy',
        sourceUri: 'x',
        destinationAlias: 'calm',
        destinationUri: 'y',
        options: '{}',
        actor: 'bob',
        state: 'queued',
      },
    });
    await endJob(jobs[0]?.id as string, { state: 'succeeded' });
    await advanceEvacuation(deps(), id);
    items = await itemsByName(id);
    expect(items.f1?.state).toBe('succeeded');
    expect(items.f3).toMatchObject({ state: 'failed', error: '"f3" is already being migrated by another job.' });
    expect(await testDb.db.migration.count({ where: { evacuationId: id } })).toBe(2);
  });
});
