import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInProcessEventBus } from '../../events/bus';
import { executors } from '../../fleet/executors';
import { refreshFleet } from '../../fleet/service';
import { createTestDb, type TestDb } from '../../testing/test-db';
import { generateTestHostXml } from '../../testing/test-host-xml';
import { applyFleetMessage, redactFleetMessage } from './fleet-deltas';
import {
  describeStreamError,
  eventStreamStatuses,
  LiveFleet,
  type FleetDeltaBatch,
  type LiveHostSnapshot,
} from './live-fleet';

/**
 * The live inventory over real virsh (test driver) and a real SQLite database. Test-driver hosts cannot stream
 * events (state is per process), so here the cache is fed by full reads; what is checked is what leaves it: the
 * deltas (only what changed), the replay ring, and that folding the deltas gives the same fleet as a new snapshot.
 */

let testDb: TestDb;
let fleet: LiveFleet;
const batches: FleetDeltaBatch[] = [];
const hostIds: Record<string, string> = {};

const TIMEOUT_MS = 8000;

let dir: string;
let hostileUri: string;

beforeAll(async () => {
  testDb = createTestDb();
  // Test-driver files must be under FERRY_TEST_DRIVER_DIR (the temp dir in tests; see hosts/uri-policy.ts).
  dir = mkdtempSync(join(tmpdir(), 'ferry-live-'));
  writeFileSync(join(dir, 'h.xml'), generateTestHostXml({ hostName: 'odd', vmCount: 6, hasHostileNames: true }));
  hostileUri = `test://${join(dir, 'h.xml')}`;
  for (const [alias, uri] of [
    ['demo', 'test:///default'],
    ['odd', hostileUri],
  ] as const) {
    const host = await testDb.db.host.create({ data: { alias, uri, displayUri: uri, displayName: alias } });
    hostIds[alias] = host.id;
  }
  const bus = createInProcessEventBus();
  bus.subscribe('fleet-live', (batch) => batches.push(batch));
  fleet = new LiveFleet({
    db: testDb.db,
    bus,
    executors: executors(),
    timeoutMs: TIMEOUT_MS,
    pollMs: 3_600_000,
    unavailablePollMs: 3_600_000,
    hostSyncMs: 3_600_000,
    // Small, so that the last test sees the ring evict.
    replaySize: 4,
  });
  await fleet.start();
});

afterAll(async () => {
  await fleet?.stop();
  await executors().closeAll();
  await testDb.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const comparable = (hosts: LiveHostSnapshot[]) =>
  hosts.map((host) => ({
    id: host.host.id,
    alias: host.host.alias,
    status: host.status,
    stream: host.stream,
    vms: host.vms.map((vm) => [vm.uuid, vm.name, vm.state]),
  }));

describe('LiveFleet', () => {
  it('reads every host at start; test-driver hosts say they are polled only, and why', () => {
    const { hosts } = fleet.snapshot();
    expect(hosts.map((host) => host.host.alias)).toEqual(['demo', 'odd']);
    expect(hosts[0]?.vms.map((vm) => [vm.name, vm.state])).toEqual([['test', 'running']]);
    expect(hosts[1]?.vms.map((vm) => vm.name)).toContain(`it's "quoted"`);
    for (const host of hosts) {
      expect(host.stream).toMatchObject({ state: 'unavailable', reason: expect.stringContaining('test driver') });
      expect(host.lastReadAt).toBeInstanceOf(Date);
    }
  });

  it('publishes only what changed: one VM, with its host, never the whole fleet', async () => {
    const { id: before, hosts: beforeHosts } = fleet.snapshot();
    const demo = (await testDb.db.host.findUniqueOrThrow({ where: { id: hostIds.demo } })) as never;
    await executors().get(demo).run(['destroy', '--domain', 'test']);
    try {
      const reads = await refreshFleet({ db: testDb.db, executors: executors(), timeoutMs: TIMEOUT_MS });
      const returned = await fleet.acceptReads(reads);
      expect(returned.find((host) => host.host.alias === 'demo')?.stream.state).toBe('unavailable');

      const published = fleet.since(before);
      expect(published).not.toBeNull();
      const deltas = (published ?? []).flatMap((batch) => batch.deltas);
      expect(deltas.filter((delta) => delta.type === 'vm')).toEqual([
        { type: 'vm', hostId: hostIds.demo, vm: expect.objectContaining({ name: 'test', state: 'shutoff' }) },
      ]);
      expect(deltas.some((delta) => delta.type === 'host' && delta.host.host.id === hostIds.odd)).toBe(false);
      expect(batches.at(-1)?.id).toBe(fleet.snapshot().id);

      // Folding the deltas onto the old snapshot gives the fleet a new snapshot shows.
      const folded = (published ?? []).reduce(
        (hosts, batch) => applyFleetMessage(hosts, { kind: 'deltas', deltas: batch.deltas }),
        beforeHosts,
      );
      expect(comparable(folded)).toEqual(comparable(fleet.snapshot().hosts));
    } finally {
      await executors().get(demo).run(['start', '--domain', 'test']);
    }
  });

  it('follows hosts removed and added in the database', async () => {
    const { id: before } = fleet.snapshot();
    await testDb.db.host.delete({ where: { id: hostIds.odd } });
    await fleet.sync();
    expect(fleet.since(before)?.flatMap((batch) => batch.deltas)).toContainEqual({
      type: 'host-removed',
      hostId: hostIds.odd,
    });
    expect(fleet.snapshot().hosts.map((host) => host.host.alias)).toEqual(['demo']);

    const added = await testDb.db.host.create({
      data: { alias: 'again', uri: hostileUri, displayUri: 'test:///…', displayName: 'again' },
    });
    const mark = fleet.snapshot().id;
    await fleet.sync();
    const deltas = fleet.since(mark)?.flatMap((batch) => batch.deltas) ?? [];
    expect(deltas[0]).toMatchObject({ type: 'host', host: { host: { id: added.id } } });
    expect(deltas.filter((delta) => delta.type === 'vm')).toHaveLength(6);
  });

  it('replays from its ring only: a future or evicted id gets null (the caller sends a snapshot)', () => {
    const { id } = fleet.snapshot();
    expect(fleet.since(id)).toEqual([]);
    expect(fleet.since(id + 1)).toBeNull();
    expect(fleet.since(0)).toBeNull();
  });
});

describe('redactFleetMessage', () => {
  const VIEWER = { mayReadRaw: false, mayReadFingerprints: false };
  const OPERATOR = { mayReadRaw: true, mayReadFingerprints: false };
  const ADMIN = { mayReadRaw: true, mayReadFingerprints: true };
  const fingerprint = 'SHA256:Zp1xqXb3m9Bv0oD6X1cH9Yk9W5p8xJmQf7s3o2t1u4E';
  const hostWith = () => {
    const first = fleet.snapshot().hosts[0] as LiveHostSnapshot;
    return { ...first, errorDetail: 'error: /root/key: bad', host: { ...first.host, pinnedFingerprint: fingerprint } };
  };

  it('drops raw virsh text and the pinned fingerprint for viewers, in snapshots and in host deltas', () => {
    const host = hostWith();
    const snapshot = redactFleetMessage({ kind: 'snapshot', hosts: [host] }, VIEWER);
    expect(snapshot.kind === 'snapshot' && snapshot.hosts[0]?.errorDetail).toBeNull();
    expect(snapshot.kind === 'snapshot' && snapshot.hosts[0]?.host.pinnedFingerprint).toBeNull();
    const { vms: _vms, ...meta } = host;
    const deltas = redactFleetMessage({ kind: 'deltas', deltas: [{ type: 'host', host: meta }] }, VIEWER);
    expect(JSON.stringify(deltas)).not.toContain('/root/key');
    expect(JSON.stringify(deltas)).not.toContain(fingerprint);
    expect(host.host.pinnedFingerprint).toBe(fingerprint);
  });

  it('gives operators the raw text but not the fingerprint; admins get both', () => {
    const host = hostWith();
    const forOperator = redactFleetMessage({ kind: 'snapshot', hosts: [host] }, OPERATOR);
    expect(forOperator.kind === 'snapshot' && forOperator.hosts[0]?.errorDetail).toBe('error: /root/key: bad');
    expect(JSON.stringify(forOperator)).not.toContain(fingerprint);
    expect(redactFleetMessage({ kind: 'snapshot', hosts: [host] }, ADMIN)).toEqual({ kind: 'snapshot', hosts: [host] });
  });
});

describe('describeStreamError', () => {
  it('keeps virsh’s words and drops the key path of the URI it quotes', () => {
    const uri = 'qemu+ssh://root@10.77.77.11/system?keyfile=/srv/ferry/keys/id_ed25519';
    const text = describeStreamError(new Error(`error: Disconnected from ${uri} due to end of file`), uri);
    expect(text).toMatch(/^Disconnected from qemu\+ssh:\/\/root@10\.77\.77\.11\/.* due to end of file$/);
    expect(text).not.toContain('/srv/ferry');
  });
});

describe('eventStreamStatuses', () => {
  const at = new Date('2026-12-03T06:00:00Z');
  const snapshotWith = (alias: string, stream: LiveHostSnapshot['stream']) =>
    ({ host: { alias }, stream }) as unknown as LiveHostSnapshot;

  it('reports a live stream as up, any other as down with its state, and leaves out hosts that cannot stream', () => {
    const statuses = eventStreamStatuses([
      snapshotWith('hv1', { state: 'live', since: at, lastError: null, reason: null }),
      snapshotWith('hv2', { state: 'reconnecting', since: at, lastError: 'Disconnected', reason: null }),
      snapshotWith('demo', { state: 'unavailable', since: null, lastError: null, reason: 'test driver' }),
      snapshotWith('hv3', { state: 'connecting', since: null, lastError: null, reason: null }),
    ]);
    expect(statuses).toEqual([
      { hostAlias: 'hv1', up: true, state: 'live since 2026-12-03T06:00:00.000Z' },
      { hostAlias: 'hv2', up: false, state: 'reconnecting since 2026-12-03T06:00:00.000Z' },
      { hostAlias: 'hv3', up: false, state: 'connecting' },
    ]);
  });
});
