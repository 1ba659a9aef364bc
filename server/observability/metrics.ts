import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Ferry's Prometheus metrics. Counters and histograms count what this process saw (a migration it closed, a host
 * read it made): with two replicas each counts its own and Prometheus sums them. Gauges of shared state (jobs in
 * progress or queued, the audit chain head) are read from the database at scrape time, so every replica reports
 * the same truth. No label ever carries a VM name (unbounded, and a name is not for every scraper's eyes): hosts
 * are named by their alias, migrations by result and mode only.
 */
const LINT_FAILING_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // prom-client names these gauges `_total`, which `promtool check metrics` rejects (that suffix means a counter).
  for (const name of LINT_FAILING_DEFAULTS) registry.removeSingleMetric(name);
  const SECONDS_SHORT = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  return {
    registry,
    migrations: new Counter({
      name: 'ferry_migrations_total',
      help: 'Migrations that reached a final state, by result (succeeded, failed, cancelled, unknown) and mode.',
      labelNames: ['result', 'mode'] as const,
      registers: [registry],
    }),
    migrationDuration: new Histogram({
      name: 'ferry_migration_duration_seconds',
      help: 'Time from a migration start (or queueing, if it never started) to its final state.',
      labelNames: ['result', 'mode'] as const,
      buckets: [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200],
      registers: [registry],
    }),
    migrationDowntime: new Histogram({
      name: 'ferry_migration_downtime_seconds',
      help: 'Downtime libvirt reported for a migration that measured one (the VM paused for the switch-over).',
      labelNames: ['mode'] as const,
      buckets: SECONDS_SHORT,
      registers: [registry],
    }),
    transferredBytes: new Counter({
      name: 'ferry_migration_transferred_bytes_total',
      help: 'Bytes migrations copied, by what was copied (memory, disk).',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    inProgress: new Gauge({
      name: 'ferry_migrations_in_progress',
      help: 'Migrations holding a slot (preflight, running, cancelling), read from the database at scrape time.',
      registers: [registry],
    }),
    queued: new Gauge({
      name: 'ferry_migrations_queued',
      help: 'Migrations waiting for a slot, read from the database at scrape time.',
      registers: [registry],
    }),
    eventStreamUp: new Gauge({
      name: 'ferry_event_stream_up',
      help: "1 when this process's libvirt event stream to the host is live, 0 when it is not.",
      labelNames: ['host'] as const,
      registers: [registry],
    }),
    hostReadDuration: new Histogram({
      name: 'ferry_host_read_duration_seconds',
      help: 'Time to read one host (its domains and their stats) for the fleet, by outcome.',
      labelNames: ['host', 'result'] as const,
      buckets: SECONDS_SHORT,
      registers: [registry],
    }),
    virshErrors: new Counter({
      name: 'ferry_virsh_errors_total',
      help: 'virsh commands that failed, by kind (exit, timeout, aborted, spawn, connection, host-key).',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    auditHeadId: new Gauge({
      name: 'ferry_audit_chain_head_id',
      help: 'Id of the newest audit row (the chain head), read from the database at scrape time.',
      registers: [registry],
    }),
    auditHeadInfo: new Gauge({
      name: 'ferry_audit_chain_head_info',
      help: 'Always 1; its hash label is the chain hash of the newest audit row, an anchor kept outside the box.',
      labelNames: ['id', 'hash'] as const,
      registers: [registry],
    }),
  };
}

export type FerryMetrics = ReturnType<typeof createMetrics>;

/** On globalThis: Next bundles server code more than once, and prom-client refuses a metric registered twice. */
const store = globalThis as unknown as { ferryMetrics?: FerryMetrics };

export function metrics(): FerryMetrics {
  store.ferryMetrics ??= createMetrics();
  return store.ferryMetrics;
}

export type MigrationEndSample = {
  result: string;
  mode: string;
  durationMs: number;
  downtimeMs: number | null;
  memoryBytes: number | null;
  diskBytes: number | null;
};

/** Called once per migration, where its final state is written (server/migrations/final-state.ts). */
export function observeMigrationEnd(sample: MigrationEndSample): void {
  const m = metrics();
  const labels = { result: sample.result, mode: sample.mode };
  m.migrations.inc(labels);
  m.migrationDuration.observe(labels, sample.durationMs / 1000);
  if (sample.downtimeMs !== null && sample.downtimeMs >= 0) {
    m.migrationDowntime.observe({ mode: sample.mode }, sample.downtimeMs / 1000);
  }
  if (sample.memoryBytes) m.transferredBytes.inc({ kind: 'memory' }, sample.memoryBytes);
  if (sample.diskBytes) m.transferredBytes.inc({ kind: 'disk' }, sample.diskBytes);
}

export function observeHostRead(sample: { hostAlias: string; ok: boolean; durationMs: number }): void {
  metrics().hostReadDuration.observe(
    { host: sample.hostAlias, result: sample.ok ? 'ok' : 'error' },
    sample.durationMs / 1000,
  );
}

export function countVirshError(kind: string): void {
  metrics().virshErrors.inc({ kind });
}

/** What the scrape reads from shared state (the database, the event-stream seam) right before rendering. */
export type ScrapeState = {
  inProgress: number;
  queued: number;
  eventStreams: { hostAlias: string; up: boolean }[] | null;
  auditHead: { id: number; hash: string } | null;
};

export async function renderMetrics(state: ScrapeState): Promise<{ contentType: string; body: string }> {
  const m = metrics();
  m.inProgress.set(state.inProgress);
  m.queued.set(state.queued);
  // A host removed since the last scrape must disappear, not keep its last value.
  m.eventStreamUp.reset();
  for (const stream of state.eventStreams ?? []) m.eventStreamUp.set({ host: stream.hostAlias }, stream.up ? 1 : 0);
  m.auditHeadInfo.reset();
  m.auditHeadId.set(state.auditHead?.id ?? 0);
  if (state.auditHead) m.auditHeadInfo.set({ id: String(state.auditHead.id), hash: state.auditHead.hash }, 1);
  return { contentType: m.registry.contentType, body: await m.registry.metrics() };
}
