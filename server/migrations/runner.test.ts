import { readFileSync } from 'node:fs';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../testing/test-db';
import { createInProcessEventBus, type EventBus } from '../events/bus';
import { VirshError, type Executor, type RunOptions, type RunResult } from '../hypervisor/executor';
import { migrationOptionsSchema, type MigrationOptionsInput } from '../libvirt/migration/options';
import { listMigrationEvents } from './events';
import { recordPendingVolumes } from '../volumes/ledger';
import { reconcileOrphanedMigrations } from './reconcile';
import { migrationRequestSchema } from './request';
import { startMigration, cancelMigration } from './service';
import type { MigrationEvent } from './types';

/**
 * The job state machine driven by a fake executor that answers like the two lab hosts did (its migrate
 * output and domjobinfo text are the real captures in server/libvirt/fixtures/migration). Real SQLite.
 * This is the only place a fake stands in for a host; the e2e tests run the same runner against the lab.
 */

const FIXTURES = new URL('../libvirt/fixtures/migration/', import.meta.url);
const chunks = (name: string) =>
  readFileSync(new URL(name, FIXTURES), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { stream?: 'stdout' | 'stderr'; data?: string; exitCode?: number });
const jobInfoSamples = readFileSync(new URL('migrate-bw8.jobinfo-source.jsonl', FIXTURES), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as { exitCode: number; stdout: string; stderr: string })
  .filter((sample) => sample.exitCode === 0);
const completedOnDestination = (
  JSON.parse(readFileSync(new URL('migrate-bw8.domjobinfo-completed-destination.json', FIXTURES), 'utf8')) as {
    stdout: string;
  }
).stdout;
const reattach = (name: string) =>
  (JSON.parse(readFileSync(new URL(`reattach/${name}.json`, FIXTURES), 'utf8')) as { stdout: string }).stdout;
const failure = (name: string) =>
  JSON.parse(readFileSync(new URL(`failures/${name}.json`, FIXTURES), 'utf8')) as { stderr: string };

const DISK = '/var/lib/libvirt/images/vm1.qcow2';

/** Each fake VM keeps one UUID on both hosts, as a migrated libvirt domain does. */
const UUIDS: Record<string, string> = {
  vm1: '0f1e0000-7a5b-4c1b-9e00-0000000000a1',
  vm2: '0f1e0000-7a5b-4c1b-9e00-0000000000a2',
  vm3: '0f1e0000-7a5b-4c1b-9e00-0000000000a3',
};
const nameOfUuid = (uuid: string) => Object.keys(UUIDS).find((name) => UUIDS[name] === uuid) ?? uuid;
const opts = (input: MigrationOptionsInput = {}) => migrationOptionsSchema.parse(input);

type HostState = { uuid: string; domains: Map<string, string>; volumes: Set<string>; calls: string[][] };

function domainXml(name: string) {
  return `<domain type='qemu'><name>${name}</name><uuid>${UUIDS[name]}</uuid><memory unit='KiB'>65536</memory><vcpu>1</vcpu>
<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${name === 'vm1' ? DISK : `/var/lib/libvirt/images/${name}.qcow2`}'/><target dev='vda' bus='virtio'/></disk></devices></domain>`;
}

function fail(argv: readonly string[], stderr: string): never {
  throw new VirshError({ kind: 'exit', message: stderr.trim(), argv, exitCode: 1, stderr });
}

type MigrateScript = { chunks: ReturnType<typeof chunks>; stepMs: number; onSuccess?: () => void };

class FakeHost implements Executor {
  readonly description = 'fake';
  readonly state: HostState;
  migrate: MigrateScript | null = null;
  private abort: (() => void) | null = null;
  private jobInfoIndex = 0;
  /** A job the source libvirtd runs with no virsh client (p2p after a restart): domjobinfo answers, in order. */
  sourceJob: { outputs: string[]; onDone: () => void } | null = null;
  /** virsh migrate that never ends by itself and shrugs off domjobabort (seen with virsh 9.0); only a kill ends it. */
  wedged = false;

  constructor(uuid: string, domains: [string, string][], volumes: string[]) {
    this.state = { uuid, domains: new Map(domains), volumes: new Set(volumes), calls: [] };
  }

  async run(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    this.state.calls.push([...args]);
    const ok = (stdout: string): RunResult => ({ stdout, stderr: '', exitCode: 0 });
    const [command] = args;
    // Like virsh, --domain takes a UUID; this fake knows no IDs and, to catch a name slipping through, no names.
    const name = nameOfUuid(
      (args.includes('--domain') ? args[args.indexOf('--domain') + 1] : args[args.length - 1]) ?? '',
    );
    switch (command) {
      case 'list':
        return ok([...this.state.domains.keys()].map((vm) => `${UUIDS[vm]} ${vm}\n`).join('') + '\n');
      case 'capabilities':
        return ok(
          `<capabilities><host><uuid>${this.state.uuid}</uuid><cpu><arch>x86_64</arch></cpu></host></capabilities>`,
        );
      case 'dumpxml':
        return this.state.domains.has(name)
          ? ok(domainXml(name))
          : fail(args, `error: failed to get domain '${name}'\n`);
      case 'domstate':
        return this.state.domains.has(name)
          ? ok(`${this.state.domains.get(name)}\n\n`)
          : fail(args, `error: failed to get domain '${name}'\n`);
      case 'domblkinfo':
        return ok('Capacity:       268435456\nAllocation:     1000000\nPhysical:       1000000\n');
      case 'pool-list':
        return ok('default\n\n');
      case 'pool-refresh':
        return ok('Pool default refreshed\n');
      case 'pool-dumpxml':
        return ok(
          "<pool type='dir'><name>default</name><capacity unit='bytes'>10737418240</capacity><allocation unit='bytes'>0</allocation><available unit='bytes'>10737418240</available><target><path>/var/lib/libvirt/images</path></target></pool>",
        );
      case 'vol-info':
        return this.state.volumes.has(args[args.length - 1] ?? '')
          ? ok(
              'Name:           vm1.qcow2\nType:           file\nCapacity:       268435456 bytes\nAllocation:     1000000 bytes\n',
            )
          : fail(
              args,
              `error: failed to get vol '${args[args.length - 1]}'\nerror: Storage volume not found: no storage vol with matching path\n`,
            );
      case 'vol-delete':
        this.state.volumes.delete(args[args.length - 1] ?? '');
        return ok('Vol deleted\n');
      case 'freecell':
        return ok('Total:       4194304 KiB\n');
      case 'domjobinfo': {
        if (args.includes('--completed')) return ok(completedOnDestination);
        if (this.sourceJob) {
          const next = this.sourceJob.outputs.shift();
          if (next !== undefined) return ok(next);
          this.sourceJob.onDone();
          this.sourceJob = null;
        }
        if (this.abort === null) return ok('Job type:         None        \n\n');
        const sample = jobInfoSamples[Math.min(this.jobInfoIndex++, jobInfoSamples.length - 1)];
        return ok(sample?.stdout ?? 'Job type:         None        \n');
      }
      case 'domjobabort':
        if (this.wedged) return ok('\n');
        if (!this.abort) return fail(args, 'error: Requested operation is not valid: no job is active on the domain\n');
        this.abort();
        return ok('\n');
      case 'migrate':
        return this.runMigrate(args, options);
      default:
        throw new Error(`fake host: unexpected virsh ${args.join(' ')}`);
    }
  }

  private runMigrate(args: readonly string[], options: RunOptions): Promise<RunResult> {
    if (this.wedged)
      return new Promise((_, reject) => {
        this.abort = () => undefined;
        options.signal?.addEventListener('abort', () => {
          this.abort = null;
          reject(new VirshError({ kind: 'aborted', message: 'aborted', argv: args }));
        });
      });
    const script = this.migrate;
    if (!script) throw new Error('no migrate script');
    return new Promise((resolve, reject) => {
      let index = 0;
      let stderr = '';
      const step = () => {
        const chunk = script.chunks[index++];
        if (!chunk) return;
        if (chunk.exitCode !== undefined) {
          this.abort = null;
          if (chunk.exitCode === 0) {
            script.onSuccess?.();
            resolve({ stdout: '\n', stderr, exitCode: 0 });
          } else
            reject(
              new VirshError({ kind: 'exit', message: 'migrate failed', argv: args, exitCode: chunk.exitCode, stderr }),
            );
          return;
        }
        if (chunk.stream === 'stderr') {
          stderr += chunk.data;
          options.onStderr?.(chunk.data ?? '');
        } else options.onStdout?.(chunk.data ?? '');
        timer = setTimeout(step, script.stepMs);
      };
      let timer = setTimeout(step, script.stepMs);
      this.abort = () => {
        clearTimeout(timer);
        const text = 'error: operation aborted: migration out: canceled by client\n';
        options.onStderr?.(text);
        this.abort = null;
        setTimeout(
          () =>
            reject(
              new VirshError({ kind: 'exit', message: 'aborted', argv: args, exitCode: 1, stderr: stderr + text }),
            ),
          5,
        );
      };
    });
  }

  async close() {}
}

let testDb: TestDb;
let bus: EventBus;
let src: FakeHost;
let dst: FakeHost;
let sourceHostId: string;
let destinationHostId: string;

const who = { actor: 'bob', clientAddress: null };
// Not test:/// URIs: preflight refuses the test driver, which cannot migrate. The executors are fakes anyway.
const HV1 = 'qemu+ssh://root@hv1/system';
const HV2 = 'qemu+ssh://root@hv2/system';

async function waitForFinal(id: string): Promise<MigrationEvent[]> {
  for (let i = 0; i < 400; i++) {
    const row = await testDb.db.migration.findUniqueOrThrow({ where: { id } });
    if (['succeeded', 'failed', 'cancelled', 'unknown'].includes(row.state)) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      return listMigrationEvents({ db: testDb.db, migrationId: id });
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('migration did not finish');
}

beforeEach(async () => {
  testDb ??= createTestDb();
  bus = createInProcessEventBus();
  src = new FakeHost('f3e7a1b0-0a11-4c1b-9e00-000000000011', [['vm1', 'running']], [DISK]);
  dst = new FakeHost('f3e7a1b0-0a11-4c1b-9e00-000000000012', [], []);
  await testDb.db.migrationEvent.deleteMany();
  await testDb.db.migration.deleteMany();
  await testDb.db.host.deleteMany();
  sourceHostId = (
    await testDb.db.host.create({
      data: { alias: 'hv1', uri: HV1, displayUri: HV1, displayName: 'hv1' },
    })
  ).id;
  destinationHostId = (
    await testDb.db.host.create({
      data: { alias: 'hv2', uri: HV2, displayUri: HV2, displayName: 'hv2' },
    })
  ).id;
});

afterAll(async () => {
  await testDb.cleanup();
});

function deps() {
  return {
    db: testDb.db,
    bus,
    executors: { get: (host: { id: string }) => (host.id === sourceHostId ? src : dst) },
    pollIntervalMs: 20,
  };
}

describe('migration runner', () => {
  it('runs preflight, streams progress, verifies both hosts, then records success with its audit row', async () => {
    src.migrate = {
      chunks: chunks('migrate-bw8.chunks.jsonl'),
      stepMs: 3,
      onSuccess: () => {
        src.state.domains.delete('vm1');
        dst.state.domains.set('vm1', 'running');
        dst.state.volumes.add(DISK);
      },
    };
    const { id } = await startMigration(deps(), who, {
      vmName: 'vm1',
      sourceHostId,
      destinationHostId,
      options: opts({ bandwidthMiBps: 8 }),
    });
    const events = await waitForFinal(id);

    const states = events.filter((e) => e.type === 'state').map((e) => (e.type === 'state' ? e.state : ''));
    expect(states).toEqual(['queued', 'preflight', 'running', 'succeeded']);
    const progress = events.flatMap((e) => (e.type === 'progress' ? [e.percent] : []));
    expect(new Set(progress).size).toBeGreaterThanOrEqual(5);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(events.some((e) => e.type === 'jobinfo')).toBe(true);
    // Events are persisted in order with increasing ids, so a reconnecting browser can resume after any of them.
    expect(events.map((e) => e.id)).toEqual([...events.map((e) => e.id)].sort((a, b) => a - b));

    const migrateCall = src.state.calls.find((call) => call[0] === 'migrate');
    expect(migrateCall).toEqual(
      expect.arrayContaining([
        '--live',
        '--persistent',
        '--undefinesource',
        '--copy-storage-all',
        '--verbose',
        '--bandwidth',
        '8',
      ]),
    );
    expect(migrateCall?.[migrateCall.indexOf('--desturi') + 1]).toBe(HV2);
    // The VM is named by its UUID in every domain command, on both hosts.
    expect(migrateCall?.[migrateCall.indexOf('--domain') + 1]).toBe(UUIDS.vm1);
    const domainArgs = [...src.state.calls, ...dst.state.calls].flatMap((call) =>
      call.includes('--domain') ? [call[call.indexOf('--domain') + 1]] : [],
    );
    expect(domainArgs.length).toBeGreaterThan(5);
    expect(new Set(domainArgs)).toEqual(new Set([UUIDS.vm1]));

    const row = await testDb.db.migration.findUniqueOrThrow({ where: { id } });
    expect(row).toMatchObject({
      state: 'succeeded',
      percent: 100,
      downtimeMs: 26,
      errorCode: null,
      vmUuid: '0f1e0000-7a5b-4c1b-9e00-0000000000a1',
    });
    expect(row.durationMs).toBeGreaterThan(0);
    // The copy's end freed the job's slots before the verification ended it.
    expect(row.transferEndedAt?.getTime()).toBeGreaterThanOrEqual(row.startedAt?.getTime() ?? Infinity);
    expect(row.transferEndedAt?.getTime()).toBeLessThanOrEqual(row.endedAt?.getTime() ?? -Infinity);
    expect(Number(row.diskBytes)).toBe(256 * 2 ** 20);
    expect(row.output).toContain('Migration: [100 %]');
    const audit = await testDb.db.auditEvent.findMany({ where: { migrationId: id }, orderBy: { id: 'asc' } });
    expect(audit.map((a) => a.action)).toEqual(['migration.start', 'migration.succeeded']);
    expect(audit[1]).toMatchObject({ actor: 'bob', result: 'ok', vmName: 'vm1', hostAlias: 'hv1' });
  });

  it('records the failure with libvirt’s text, keeps the VM on the source and removes what the copy left behind', async () => {
    const stderr = failure('dest-disk-size-mismatch').stderr;
    src.migrate = {
      chunks: [{ stream: 'stderr', data: '\rMigration: [  6 %]' }, { stream: 'stderr', data: stderr }, { exitCode: 1 }],
      stepMs: 5,
    };
    // libvirt created the destination disk before the copy failed: it is there when Ferry looks afterwards.
    const created = () => dst.state.volumes.add(DISK);
    const origRun = dst.run.bind(dst);
    dst.run = async (args, options) => {
      if (args[0] === 'domstate' && src.state.calls.some((c) => c[0] === 'migrate')) created();
      return origRun(args, options);
    };
    const { id } = await startMigration(deps(), who, {
      vmName: 'vm1',
      sourceHostId,
      destinationHostId,
      options: opts(),
    });
    const events = await waitForFinal(id);

    const result = events.find((e) => e.type === 'result');
    expect(result).toMatchObject({ state: 'failed', errorCode: 'disk-size-mismatch' });
    const row = await testDb.db.migration.findUniqueOrThrow({ where: { id } });
    expect(row.state).toBe('failed');
    // A failed copy never freed its slots early: they went with the final state.
    expect(row.transferEndedAt).toBeNull();
    expect(row.rawError).toContain('Source and target image have different sizes');
    expect(row.errorMessage).toContain('vm1 is running on hv1');
    expect(dst.state.volumes.has(DISK)).toBe(false);
    expect(dst.state.calls).toContainEqual(['vol-delete', '--', DISK]);
    const actions = (await testDb.db.auditEvent.findMany({ where: { migrationId: id }, orderBy: { id: 'asc' } })).map(
      (a) => a.action,
    );
    expect(actions).toEqual(['migration.start', 'volume.delete', 'migration.failed']);
  });

  it('cancels with domjobabort on the source and ends cancelled with the VM still there', async () => {
    src.migrate = { chunks: chunks('migrate-bw8.chunks.jsonl'), stepMs: 20 };
    const { id } = await startMigration(deps(), who, {
      vmName: 'vm1',
      sourceHostId,
      destinationHostId,
      options: opts({ bandwidthMiBps: 8 }),
    });
    for (let i = 0; i < 200; i++) {
      const row = await testDb.db.migration.findUniqueOrThrow({ where: { id } });
      if (row.state === 'running' && row.percent >= 6) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await cancelMigration(deps(), { actor: 'carol', clientAddress: '192.0.2.9' }, id);
    const events = await waitForFinal(id);
    expect(src.state.calls.some((call) => call[0] === 'domjobabort')).toBe(true);
    expect(events.filter((e) => e.type === 'state').map((e) => (e.type === 'state' ? e.state : ''))).toEqual([
      'queued',
      'preflight',
      'running',
      'cancelling',
      'cancelled',
    ]);
    const row = await testDb.db.migration.findUniqueOrThrow({ where: { id } });
    expect(row).toMatchObject({ state: 'cancelled', errorCode: 'cancelled' });
    expect(src.state.domains.get('vm1')).toBe('running');
    const audit = await testDb.db.auditEvent.findMany({ where: { migrationId: id }, orderBy: { id: 'asc' } });
    expect(audit.map((a) => `${a.action}:${a.actor}`)).toEqual([
      'migration.start:bob',
      'migration.cancel:carol',
      'migration.cancelled:bob',
    ]);
    await expect(cancelMigration(deps(), who, id)).rejects.toThrow(/nothing to cancel/);
  });

  it('stops at preflight when the destination already has a domain of that name', async () => {
    dst.state.domains.set('vm1', 'shut off');
    src.migrate = { chunks: [{ exitCode: 0 }], stepMs: 1 };
    const { id } = await startMigration(deps(), who, {
      vmName: 'vm1',
      sourceHostId,
      destinationHostId,
      options: opts(),
    });
    const events = await waitForFinal(id);
    expect(events.find((e) => e.type === 'result')).toMatchObject({ state: 'failed', errorCode: 'preflight' });
    const checklist = events.find((e) => e.type === 'checklist');
    expect(checklist?.type === 'checklist' && checklist.checks.find((c) => c.id === 'name-free')).toMatchObject({
      status: 'fail',
    });
    expect(src.state.calls.some((call) => call[0] === 'migrate')).toBe(false);
  });

  it('refuses bad requests before recording anything', async () => {
    await expect(
      startMigration(deps(), who, { vmName: 'vm1', sourceHostId, destinationHostId: sourceHostId, options: opts() }),
    ).rejects.toThrow(/other than the source/);
    await expect(
      startMigration(deps(), who, { vmName: 'vm\n1', sourceHostId, destinationHostId, options: opts() }),
    ).rejects.toThrow(/control characters/);
    // Options are checked once, at the edge: the API's input schema refuses the combination with its reason.
    const parsed = migrationRequestSchema.safeParse({
      vmName: 'vm1',
      sourceHostId,
      destinationHostId,
      options: { mode: 'offline', undefineSource: true },
    });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.path.join('.'))).toContain('options.storage');
    await expect(
      startMigration(deps(), who, {
        vmName: 'vm1',
        vmUuid: UUIDS.vm2,
        sourceHostId,
        destinationHostId,
        options: opts(),
      }),
    ).rejects.toThrow(/No VM with UUID/);
    src.state.domains.set('vm2', 'running');
    await expect(
      startMigration(deps(), who, {
        vmName: 'vm1',
        vmUuid: UUIDS.vm2,
        sourceHostId,
        destinationHostId,
        options: opts(),
      }),
    ).rejects.toThrow(/is named "vm2", not "vm1"/);
    await expect(
      startMigration(deps(), who, { vmName: 'vm9', sourceHostId, destinationHostId, options: opts() }),
    ).rejects.toThrow(/No domain named "vm9"/);
    await expect(
      startMigration(deps(), who, { vmName: 'vm1', sourceHostId, destinationHostId: 'nope', options: opts() }),
    ).rejects.toThrow(/not registered/);
    expect(await testDb.db.migration.count()).toBe(0);
  });

  it('closes migrations orphaned by a restart with what the hosts say, and leaves live ones alone', async () => {
    const old = new Date(Date.now() - 120_000);
    const base = {
      sourceHostId,
      destinationHostId,
      sourceAlias: 'hv1',
      sourceUri: HV1,
      destinationAlias: 'hv2',
      destinationUri: HV2,
      options: '{}',
      actor: 'bob',
      createdAt: old,
    };
    // vm1 arrived on hv2 before the old process died; vm2 never left hv1; vm3 belongs to a process that is alive.
    src.state.domains.set('vm2', 'running');
    dst.state.domains.set('vm1', 'running');
    src.state.domains.delete('vm1');
    const arrived = await testDb.db.migration.create({
      data: {
        ...base,
        // An evacuation's job: the source copy goes once the VM is verified on the destination.
        options: JSON.stringify({ deleteSourceVolumes: true }),
        vmName: 'vm1',
        vmUuid: UUIDS.vm1,
        state: 'running',
        ownerId: 'dead-process',
        heartbeatAt: old,
      },
    });
    src.state.volumes.add(DISK);
    await recordPendingVolumes(testDb.db, arrived.id, [
      { host: { id: sourceHostId, alias: 'hv1' }, pool: null, path: DISK, capacityBytes: 268435456, role: 'source' },
    ]);
    const stuck = await testDb.db.migration.create({
      // A row from before UUIDs were recorded: found by its exact name in the host's list.
      data: { ...base, vmName: 'vm2', state: 'cancelling', ownerId: 'dead-process', heartbeatAt: old },
    });
    const alive = await testDb.db.migration.create({
      data: { ...base, vmName: 'vm3', state: 'running', ownerId: 'other-live-replica', heartbeatAt: new Date() },
    });
    // Queued: nothing started on a host yet; the queue starts it, the reconciler leaves it alone.
    const queued = await testDb.db.migration.create({ data: { ...base, vmName: 'vm3', state: 'queued' } });

    const { closed, resumed } = await reconcileOrphanedMigrations(deps());
    expect(closed.sort()).toEqual([arrived.id, stuck.id].sort());
    expect(resumed).toEqual([]);
    expect(await testDb.db.migration.findUniqueOrThrow({ where: { id: arrived.id } })).toMatchObject({
      state: 'succeeded',
      errorCode: null,
    });
    // A cancel was asked for, and the VM stayed where it was: that is what cancelled means.
    const cancelled = await testDb.db.migration.findUniqueOrThrow({ where: { id: stuck.id } });
    expect(cancelled).toMatchObject({ state: 'cancelled', errorCode: 'cancelled' });
    expect(cancelled.errorMessage).toContain('hv1: running');
    expect((await testDb.db.migration.findUniqueOrThrow({ where: { id: alive.id } })).state).toBe('running');
    expect((await testDb.db.migration.findUniqueOrThrow({ where: { id: queued.id } })).state).toBe('queued');
    const audit = await testDb.db.auditEvent.findMany({
      where: { migrationId: { in: [arrived.id, stuck.id] } },
      orderBy: { id: 'asc' },
    });
    expect(audit.map((a) => `${a.action}:${a.actor}`).sort()).toEqual([
      'migration.cancelled:system',
      'migration.succeeded:system',
      'volume.delete:bob',
    ]);
    // The hosts established the success, so the job's own "delete source volumes" held though nobody watched it end.
    expect(src.state.calls).toContainEqual(['vol-delete', '--', DISK]);
    expect(src.state.volumes.has(DISK)).toBe(false);
    expect(
      (await testDb.db.volumeRecord.findFirstOrThrow({ where: { migrationId: arrived.id, role: 'source' } })).status,
    ).toBe('removed');
    expect(await reconcileOrphanedMigrations(deps())).toEqual({ closed: [], resumed: [] });
  });

  it('re-attaches a migration the source still runs after a restart, streams it under the same id, and records success', async () => {
    const old = new Date(Date.now() - 120_000);
    dst.state.domains.set('vm1', 'paused (migrating)');
    // What hv1 answered on the lab after kill -9 of the p2p virsh client: the job goes on.
    src.sourceJob = {
      outputs: [reattach('p2p-running.domjobinfo-source'), reattach('p2p-client-killed.domjobinfo-source')],
      onDone: () => {
        src.state.domains.delete('vm1');
        dst.state.domains.set('vm1', 'running (migrated)');
      },
    };
    const migration = await testDb.db.migration.create({
      data: {
        sourceHostId,
        destinationHostId,
        sourceAlias: 'hv1',
        sourceUri: HV1,
        destinationAlias: 'hv2',
        destinationUri: HV2,
        options: JSON.stringify(opts()),
        actor: 'bob',
        createdAt: old,
        vmName: 'vm1',
        vmUuid: UUIDS.vm1,
        state: 'running',
        percent: 3,
        ownerId: 'dead-process',
        heartbeatAt: old,
      },
    });

    const first = await reconcileOrphanedMigrations(deps());
    expect(first).toEqual({ closed: [], resumed: [migration.id] });
    // Claimed: a second sweep (or replica) leaves it to its new owner.
    expect(await reconcileOrphanedMigrations(deps())).toEqual({ closed: [], resumed: [] });
    const events = await waitForFinal(migration.id);
    const progress = events.flatMap((e) => (e.type === 'progress' ? [e.percent] : []));
    expect(progress.slice(0, 2)).toEqual([6, 25]);
    expect(events.filter((e) => e.type === 'jobinfo').length).toBeGreaterThanOrEqual(2);
    const row = await testDb.db.migration.findUniqueOrThrow({ where: { id: migration.id } });
    expect(row).toMatchObject({ state: 'succeeded', errorCode: null, downtimeMs: 26, percent: 100 });
    const result = events.find((e) => e.type === 'result');
    expect(result?.type === 'result' && result.verification).toEqual([
      'hv1: no such domain',
      'hv2: running (migrated)',
    ]);
  });

  it('ends a lost job unknown, with what each host said, when the hosts do not establish the outcome', async () => {
    const old = new Date(Date.now() - 120_000);
    dst.state.domains.set('vm1', 'running');
    const migration = await testDb.db.migration.create({
      data: {
        sourceHostId,
        destinationHostId,
        sourceAlias: 'hv1',
        sourceUri: HV1,
        destinationAlias: 'hv2',
        destinationUri: HV2,
        options: '{}',
        actor: 'bob',
        createdAt: old,
        vmName: 'vm1',
        vmUuid: UUIDS.vm1,
        state: 'running',
        ownerId: 'dead-process',
        heartbeatAt: old,
      },
    });
    expect(await reconcileOrphanedMigrations(deps())).toEqual({ closed: [migration.id], resumed: [] });
    const row = await testDb.db.migration.findUniqueOrThrow({ where: { id: migration.id } });
    expect(row).toMatchObject({ state: 'unknown', errorCode: 'unknown' });
    expect(row.errorMessage).toContain('hv1: running, hv2: running');
    const audit = await testDb.db.auditEvent.findFirstOrThrow({ where: { migrationId: migration.id } });
    expect(audit).toMatchObject({ action: 'migration.unknown', actor: 'system', result: 'failed' });
  });

  it("a cancel of a wedged virsh migrate ends within the grace period, cancelled, with the hosts' truth", async () => {
    src.wedged = true;
    // The service hands its deps to the runner as they are, so the grace period reaches it this way too.
    const withGrace = { ...deps(), cancelGraceMs: 300 };
    const { id } = await startMigration(withGrace, who, {
      vmName: 'vm1',
      sourceHostId,
      destinationHostId,
      options: opts(),
    });
    for (let i = 0; i < 200; i++) {
      if ((await testDb.db.migration.findUniqueOrThrow({ where: { id } })).state === 'running') break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const cancelledAt = Date.now();
    await cancelMigration(deps(), who, id);
    const events = await waitForFinal(id);
    expect(Date.now() - cancelledAt).toBeLessThan(3_000);
    expect(src.state.calls.filter((call) => call[0] === 'domjobabort').length).toBeGreaterThanOrEqual(1);
    const row = await testDb.db.migration.findUniqueOrThrow({ where: { id } });
    expect(row).toMatchObject({ state: 'cancelled', errorCode: 'cancelled' });
    expect(events.some((e) => e.type === 'log' && e.text.includes('did not end within 0.3 s'))).toBe(true);
  });
});
