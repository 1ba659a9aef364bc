import type { Db } from '../../db';
import type { EventBus } from '../../events/bus';
import { detailCacheFor, FLEET_CONCURRENCY, mapLimit, snapshotHost, type HostSnapshot } from '../../fleet/service';
import { withDeadline } from '../../hypervisor/deadline';
import { VirshError, type ExecutorSource } from '../../hypervisor/executor';
import { describeHostError } from '../../hosts/host-errors';
import { PUBLIC_HOST_SELECT, type PublicHost } from '../../hosts/service';
import type { DomainEvent } from '../../libvirt/parsers/domain-event';
import { maskUriSecrets, parseLibvirtUri } from '../../libvirt/uri';
import { redactErrorText } from '../../redact';
import { collectOneDomain, lookupDomainUuid, type VmCard } from '../collect';
import type { EventStreamStatus } from '../../observability/event-streams';
import { startHostStream, unavailableStream, type HostStream, type StreamState } from './host-stream';

/**
 * The server's live picture of the fleet: the last inventory each host reported (a cache of what hosts say,
 * rebuilt by reading every host at start), kept current by each host's event stream (host-stream.ts). An event
 * re-reads only its domain; a (re)connect re-reads the whole host; a slow poll is the safety net. Every change is
 * published as a small batch of deltas with an increasing id, and the last `replaySize` batches are kept so a
 * reconnecting browser can resume (fleet router, `fleet.live`); an id from before them, or from another process
 * (`epoch`), gets a fresh snapshot instead.
 */

/** What a browser learns about a host's event stream; lastError is already redacted. */
export type StreamView = {
  state: 'connecting' | 'live' | 'reconnecting' | 'unavailable' | 'stopped';
  since: Date | null;
  lastError: string | null;
  /** Why the host has no stream (test driver), or null. */
  reason: string | null;
};

export type LiveHostSnapshot = HostSnapshot & {
  stream: StreamView;
  /** The last read of this host that succeeded (full or one domain). */
  lastReadAt: Date | null;
  /** libvirtd's version, read once per connect of the stream (or by a full read for hosts without one). */
  libvirtVersion: string | null;
};

export type HostMeta = Omit<LiveHostSnapshot, 'vms'>;

export type FleetDelta =
  | { type: 'host'; host: HostMeta }
  | { type: 'host-removed'; hostId: string }
  | { type: 'vm'; hostId: string; vm: VmCard }
  | { type: 'vm-removed'; hostId: string; uuid: string };

/** One published change: all deltas of one read, under one id. */
export type FleetDeltaBatch = { epoch: string; id: number; deltas: FleetDelta[] };

export type LiveFleetOptions = {
  db: Db;
  executors: ExecutorSource;
  bus: EventBus;
  timeoutMs: number;
  /** Full re-read of hosts with a live stream (safety net). */
  pollMs: number;
  /** Full re-read of hosts without a stream (test driver). */
  unavailablePollMs: number;
  /** How often the host list is compared with the database (hosts added, edited, removed). */
  hostSyncMs: number;
  replaySize?: number;
  /** false: no host streams events (FERRY_LIVE_EVENTS=off); all are polled every unavailablePollMs. */
  eventsEnabled?: boolean;
  /** Events for one host within this window are handled together (a migration sends ten in 2 s). */
  coalesceMs?: number;
  /** More distinct domains than this in one burst: re-read the whole host instead. */
  burstLimit?: number;
  streamTuning?: { settleMs?: number; minBackoffMs?: number; maxBackoffMs?: number };
};

export const FLEET_LIVE_CHANNEL = 'fleet-live';

type HostRow = PublicHost & { uri: string };

type Entry = {
  row: HostRow;
  executorKey: string;
  snapshot: LiveHostSnapshot;
  stream: HostStream;
  /** Per-host reads run one after another, so an older answer never overwrites a newer one. */
  queue: Promise<unknown>;
  pending: DomainEvent[];
  coalesceTimer: NodeJS.Timeout | undefined;
  lastPollAt: number;
};

const INITIAL_STREAM: StreamView = { state: 'connecting', since: null, lastError: null, reason: null };
/** A host the live inventory does not follow (yet): just added, or the live inventory is not running. */
export const NO_STREAM: StreamView = { state: 'stopped', since: null, lastError: null, reason: null };

function streamView(state: StreamState): StreamView {
  switch (state.kind) {
    case 'connecting':
    case 'live':
      return { state: state.kind, since: state.since, lastError: null, reason: null };
    case 'reconnecting':
      return { state: 'reconnecting', since: state.since, lastError: state.lastError, reason: null };
    case 'unavailable':
      return { state: 'unavailable', since: null, lastError: null, reason: state.reason };
    case 'stopped':
      return { state: 'stopped', since: null, lastError: null, reason: null };
    default: {
      const unknown: never = state;
      throw new Error(`unknown stream state ${JSON.stringify(unknown)}`);
    }
  }
}

/**
 * Each followed host's event stream for /metrics and /api/health: `up` only while it is live. Hosts that cannot
 * stream (test driver, or events turned off) are left out, since a stream that never exists is not "down".
 */
export function eventStreamStatuses(hosts: readonly LiveHostSnapshot[]): EventStreamStatus[] {
  return hosts
    .filter((snapshot) => snapshot.stream.state !== 'unavailable')
    .map(({ host, stream }) => ({
      hostAlias: host.alias,
      up: stream.state === 'live',
      state: stream.since ? `${stream.state} since ${stream.since.toISOString()}` : stream.state,
    }));
}

const executorKeyOf = (row: HostRow) => JSON.stringify([row.uri, row.executorKind, row.pinnedFingerprint]);

const isTestDriver = (uri: string) => {
  const parsed = parseLibvirtUri(uri);
  return parsed.ok && parsed.uri.driver === 'test';
};

/**
 * One line for the host section: virsh's own words (e.g. "Disconnected from qemu+ssh://root@hv1/system due to end of
 * file") with key paths and files masked, as for any host error.
 */
export function describeStreamError(error: unknown, uri: string): string {
  if (error instanceof VirshError || !(error instanceof Error)) return describeHostError(error, uri).error;
  return redactErrorText(maskUriSecrets(error.message, uri)).replace(/^error:\s*/, '');
}

function metaOf(snapshot: LiveHostSnapshot): HostMeta {
  const { vms: _vms, ...meta } = snapshot;
  return meta;
}

const sameVm = (a: VmCard, b: VmCard) => JSON.stringify(a) === JSON.stringify(b);
/** Host fields a browser shows; read times and durations change on every read and travel with real changes only. */
const visibleMeta = (meta: HostMeta) => {
  // updatedAt moves when a read learns the host's UUID (fleet/service.ts), which no one sees.
  const { updatedAt: _updatedAt, ...host } = meta.host;
  return JSON.stringify([host, meta.status, meta.error, meta.errorDetail, meta.stream, meta.libvirtVersion]);
};

export class LiveFleet {
  readonly epoch = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  private lastId = 0;
  private ring: FleetDeltaBatch[] = [];
  private readonly entries = new Map<string, Entry>();
  private timers: NodeJS.Timeout[] = [];
  private syncing: Promise<void> | null = null;
  private stopped = false;
  private readonly replaySize: number;

  constructor(private readonly options: LiveFleetOptions) {
    this.replaySize = options.replaySize ?? 1000;
  }

  /** Reads every host, starts their streams, and keeps the host list and the safety-net poll going. */
  async start(): Promise<void> {
    const tick = Math.min(this.options.hostSyncMs, this.options.unavailablePollMs, this.options.pollMs);
    this.timers.push(
      setInterval(() => {
        void this.sync().then(() => this.pollDue());
      }, tick),
    );
    for (const timer of this.timers) timer.unref();
    await this.sync();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    const entries = [...this.entries.values()];
    for (const entry of entries) clearTimeout(entry.coalesceTimer);
    await Promise.all(entries.map((entry) => entry.stream.stop()));
  }

  /** The fleet as the cache has it now, ordered like fleet.list (by alias), with the id it is current up to. */
  snapshot(): { id: number; hosts: LiveHostSnapshot[] } {
    const hosts = [...this.entries.values()]
      .map((entry) => entry.snapshot)
      .sort((a, b) => a.host.alias.localeCompare(b.host.alias));
    return { id: this.lastId, hosts };
  }

  /** Batches after `afterId`, or null when the ring no longer holds them all (the caller sends a snapshot). */
  since(afterId: number): FleetDeltaBatch[] | null {
    if (afterId > this.lastId) return null;
    const oldest = this.ring[0]?.id ?? this.lastId + 1;
    if (afterId < oldest - 1) return null;
    return this.ring.filter((batch) => batch.id > afterId);
  }

  /**
   * Full reads made elsewhere (fleet.list, the Refresh button) go into the cache too, so every open page gets them;
   * returns them with each host's stream and health as the cache has them.
   */
  async acceptReads(reads: HostSnapshot[]): Promise<LiveHostSnapshot[]> {
    return Promise.all(
      reads.map(async (read) => {
        const entry = this.entries.get(read.host.id);
        if (entry === undefined) return { ...read, stream: NO_STREAM, lastReadAt: null, libvirtVersion: null };
        await this.enqueue(entry, async () => {
          if (this.entries.get(read.host.id) === entry) this.applyHostRead(entry, read);
        });
        return { ...entry.snapshot, ...read };
      }),
    );
  }

  /** Compares the running streams with the database: starts new hosts, restarts edited ones, stops removed ones. */
  sync(): Promise<void> {
    this.syncing ??= this.syncOnce().finally(() => (this.syncing = null));
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    if (this.stopped) return;
    const rows: HostRow[] = await this.options.db.host.findMany({ select: { ...PUBLIC_HOST_SELECT, uri: true } });
    const seen = new Set<string>();
    const toRead: Entry[] = [];
    for (const row of rows) {
      seen.add(row.id);
      const entry = this.entries.get(row.id);
      if (entry === undefined) {
        toRead.push(this.addHost(row));
        continue;
      }
      const key = executorKeyOf(row);
      const { uri: _uri, ...publicHost } = row;
      const changedTarget = key !== entry.executorKey;
      entry.row = row;
      entry.executorKey = key;
      if (JSON.stringify(publicHost) !== JSON.stringify(entry.snapshot.host)) {
        this.updateMeta(entry, { host: publicHost });
      }
      if (changedTarget) {
        await entry.stream.stop();
        entry.stream = this.startStream(entry);
        toRead.push(entry);
      }
    }
    for (const [id, entry] of this.entries) {
      if (seen.has(id)) continue;
      this.entries.delete(id);
      clearTimeout(entry.coalesceTimer);
      void entry.stream.stop();
      this.publish([{ type: 'host-removed', hostId: id }]);
    }
    // As many hosts at once as a fleet refresh reads (each mostly waits on its own virsh).
    await mapLimit(toRead, FLEET_CONCURRENCY, (entry) => this.readHost(entry));
  }

  private addHost(row: HostRow): Entry {
    const { uri: _uri, ...host } = row;
    const entry: Entry = {
      row,
      executorKey: executorKeyOf(row),
      snapshot: {
        host,
        status: 'ok',
        error: null,
        errorDetail: null,
        vms: [],
        refreshedAt: new Date(0),
        durationMs: 0,
        stream: INITIAL_STREAM,
        lastReadAt: null,
        libvirtVersion: null,
      },
      stream: unavailableStream('starting', () => {}),
      queue: Promise.resolve(),
      pending: [],
      coalesceTimer: undefined,
      lastPollAt: Date.now(),
    };
    this.entries.set(row.id, entry);
    entry.stream = this.startStream(entry);
    return entry;
  }

  private startStream(entry: Entry): HostStream {
    const onState = (state: StreamState) => {
      if (this.entries.get(entry.row.id) !== entry || state.kind === 'stopped') return;
      this.updateMeta(entry, { stream: streamView(state) });
    };
    const seconds = Math.round(this.options.unavailablePollMs / 1000);
    if (this.options.eventsEnabled === false)
      return unavailableStream(`event streams are switched off; polled every ${seconds} s`, onState);
    if (isTestDriver(entry.row.uri)) {
      return unavailableStream(
        `the test driver keeps its state per process, so no events arrive; polled every ${seconds} s`,
        onState,
      );
    }
    return startHostStream({
      executor: () => this.options.executors.get(entry.row),
      onEvent: (event) => this.onEvent(entry, event),
      onConnected: ({ libvirtVersion }) => {
        if (this.entries.get(entry.row.id) !== entry) return;
        this.updateMeta(entry, { libvirtVersion });
        void this.readHost(entry);
      },
      onState,
      describeError: (error) => describeStreamError(error, entry.row.uri),
      ...this.options.streamTuning,
    });
  }

  private enqueue<T>(entry: Entry, work: () => Promise<T>): Promise<T> {
    const next = entry.queue.then(work, work);
    entry.queue = next.catch(() => {});
    return next;
  }

  /** One full read of the host, applied as deltas against what the cache had. */
  private readHost(entry: Entry): Promise<void> {
    return this.enqueue(entry, async () => {
      if (this.stopped || this.entries.get(entry.row.id) !== entry) return;
      entry.lastPollAt = Date.now();
      const read = await snapshotHost({
        db: this.options.db,
        host: entry.row,
        executors: this.options.executors,
        timeoutMs: this.options.timeoutMs,
      });
      if (this.entries.get(entry.row.id) !== entry) return;
      this.applyHostRead(entry, read);
    });
  }

  private applyHostRead(entry: Entry, read: HostSnapshot) {
    const before = entry.snapshot;
    const deltas: FleetDelta[] = [];
    const hostId = entry.row.id;
    // As in fleet.list, a host that failed to answer shows its error and no VMs (nothing claims they are there).
    const vms = read.vms;
    const previous = new Map(before.vms.map((vm) => [vm.uuid, vm]));
    const current = new Set(vms.map((vm) => vm.uuid));
    for (const vm of vms) {
      const old = previous.get(vm.uuid);
      if (old === undefined || !sameVm(old, vm)) deltas.push({ type: 'vm', hostId, vm });
    }
    for (const vm of before.vms) if (!current.has(vm.uuid)) deltas.push({ type: 'vm-removed', hostId, uuid: vm.uuid });
    const next: LiveHostSnapshot = {
      ...before,
      ...read,
      host: read.host,
      vms,
      lastReadAt: read.status === 'ok' ? read.refreshedAt : before.lastReadAt,
    };
    entry.snapshot = next;
    if (visibleMeta(metaOf(before)) !== visibleMeta(metaOf(next)) || deltas.length > 0)
      deltas.unshift({ type: 'host', host: metaOf(next) });
    if (deltas.length > 0) this.publish(deltas);
  }

  private updateMeta(entry: Entry, change: Partial<HostMeta>) {
    const before = metaOf(entry.snapshot);
    entry.snapshot = { ...entry.snapshot, ...change };
    const after = metaOf(entry.snapshot);
    if (visibleMeta(before) !== visibleMeta(after)) this.publish([{ type: 'host', host: after }]);
  }

  private onEvent(entry: Entry, event: DomainEvent) {
    entry.pending.push(event);
    if (entry.coalesceTimer !== undefined) return;
    entry.coalesceTimer = setTimeout(() => {
      entry.coalesceTimer = undefined;
      const events = entry.pending.splice(0);
      void this.enqueue(entry, () => this.rereadDomains(entry, events)).catch((error: unknown) => {
        console.error(`live inventory: re-reading after events failed on ${entry.row.alias}`, describeHostError(error));
        void this.readHost(entry);
      });
    }, this.options.coalesceMs ?? 30);
  }

  /** Re-reads the domains a burst of events named; an unresolvable or too large burst re-reads the whole host. */
  private async rereadDomains(entry: Entry, events: DomainEvent[]): Promise<void> {
    if (this.stopped || this.entries.get(entry.row.id) !== entry) return;
    const executor = this.options.executors.get(entry.row);
    const byName = new Map(entry.snapshot.vms.map((vm) => [vm.name, vm.uuid]));
    const uuids = new Set<string>();
    const unknownNames = new Set<string>();
    for (const event of events) {
      const known = event.candidates.filter((name) => byName.has(name));
      if (known.length === 1) uuids.add(byName.get(known[0] as string) as string);
      else if (known.length > 1) return this.readHostNow(entry);
      else for (const name of event.candidates) unknownNames.add(name);
    }
    if (uuids.size + unknownNames.size > (this.options.burstLimit ?? 20)) return this.readHostNow(entry);
    const started = performance.now();
    await withDeadline(this.options.timeoutMs, async (signal) => {
      for (const name of unknownNames) {
        const uuid = await lookupDomainUuid({ executor, signal, name });
        if (uuid !== null) uuids.add(uuid);
      }
      const deltas: FleetDelta[] = [];
      let vms = entry.snapshot.vms;
      for (const uuid of uuids) {
        const vm = await collectOneDomain({ executor, signal, uuid, cache: detailCacheFor(entry.row.id) });
        const old = vms.find((candidate) => candidate.uuid === uuid);
        if (vm === null) {
          if (old === undefined) continue;
          vms = vms.filter((candidate) => candidate.uuid !== uuid);
          deltas.push({ type: 'vm-removed', hostId: entry.row.id, uuid });
        } else if (old === undefined || !sameVm(old, vm)) {
          vms = old === undefined ? [...vms, vm] : vms.map((candidate) => (candidate.uuid === uuid ? vm : candidate));
          deltas.push({ type: 'vm', hostId: entry.row.id, vm });
        }
      }
      if (this.entries.get(entry.row.id) !== entry) return;
      const now = new Date();
      entry.snapshot = {
        ...entry.snapshot,
        vms,
        status: 'ok',
        error: null,
        errorDetail: null,
        lastReadAt: now,
        refreshedAt: now,
        durationMs: performance.now() - started,
      };
      if (deltas.length > 0) this.publish([{ type: 'host', host: metaOf(entry.snapshot) }, ...deltas]);
    });
  }

  /** A full read from inside the host's queue (rereadDomains already holds it). */
  private async readHostNow(entry: Entry): Promise<void> {
    const read = await snapshotHost({
      db: this.options.db,
      host: entry.row,
      executors: this.options.executors,
      timeoutMs: this.options.timeoutMs,
    });
    if (this.entries.get(entry.row.id) === entry) this.applyHostRead(entry, read);
  }

  private pollDue() {
    const now = Date.now();
    for (const entry of this.entries.values()) {
      const every =
        entry.snapshot.stream.state === 'unavailable' ? this.options.unavailablePollMs : this.options.pollMs;
      if (now - entry.lastPollAt >= every) void this.readHost(entry);
    }
  }

  private publish(deltas: FleetDelta[]) {
    const batch: FleetDeltaBatch = { epoch: this.epoch, id: ++this.lastId, deltas };
    this.ring.push(batch);
    if (this.ring.length > this.replaySize) this.ring.splice(0, this.ring.length - this.replaySize);
    this.options.bus.publish(FLEET_LIVE_CHANNEL, batch);
  }
}
