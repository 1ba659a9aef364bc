import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { applyMigrationFiles, openSqliteFile, type SqliteFile } from '../audit/sqlite-file';

/**
 * /metrics end to end inside one process: the real route handler over a real migrated SQLite file, real virsh
 * against the test driver for the host reads and the virsh errors, and the real promtool linting the output.
 * The route reads the server's own `db`, so DATABASE_URL points at this file before anything imports it.
 */
const setup = vi.hoisted(() => {
  const dir = `${process.env.TMPDIR ?? '/tmp'}/ferry-metrics-${process.pid}-${Date.now()}`;
  process.env.DATABASE_URL = `file:${dir}/metrics.db`;
  process.env.FERRY_METRICS_TOKEN = 'scrape-token-for-the-metrics-test';
  process.env.LOG_LEVEL = 'silent';
  return { dir };
});

const SECRET_VM = 'payroll-db-secret-name';

function promtool(text: string): { status: number | null; output: string } {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function scrape(headers: Record<string, string>): Request {
  return new Request('http://127.0.0.1:3000/api/metrics', { headers: { host: '127.0.0.1:3000', ...headers } });
}

describe('/metrics', () => {
  let raw: SqliteFile;
  let GET: (request: Request) => Promise<Response>;

  beforeAll(async () => {
    mkdirSync(setup.dir, { recursive: true });
    raw = openSqliteFile(`${setup.dir}/metrics.db`);
    applyMigrationFiles(raw);
    ({ GET } = await import('@/app/api/metrics/route'));
  });
  afterAll(async () => {
    const { db } = await import('../db');
    await db.$disconnect();
    raw.close();
    rmSync(setup.dir, { recursive: true, force: true });
  });

  it('refuses a caller with neither a session nor the scrape token, and a wrong token', async () => {
    expect((await GET(scrape({}))).status).toBe(401);
    const wrong = await GET(scrape({ authorization: 'Bearer not-the-token-at-all' }));
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).not.toContain('scrape-token-for-the-metrics-test');
  });

  it('counts real host reads, virsh errors and a migration end; passes promtool; no VM name in it', async () => {
    const { db } = await import('../db');
    const { bus } = await import('../events/bus');
    const { refreshFleet } = await import('../fleet/service');
    const { createLocalExecutor } = await import('../hypervisor/local-executor');
    const { recordFinalState } = await import('../migrations/final-state');

    await db.host.createMany({
      data: [
        { alias: 'demo', uri: 'test:///default', displayUri: 'test:///default', displayName: 'demo' },
        // A test-driver file that does not exist: virsh exits 1, one host read fails, one virsh error is counted.
        {
          alias: 'gone',
          uri: `test://${setup.dir}/missing.xml`,
          displayUri: 'test:///…',
          displayName: 'gone',
        },
      ],
    });
    const snapshots = await refreshFleet({
      db,
      executors: { get: (host) => createLocalExecutor({ uri: host.uri }) },
      timeoutMs: 10_000,
    });
    expect(snapshots.map((s) => `${s.host.alias}:${s.status}`)).toEqual(['demo:ok', 'gone:error']);

    const base = {
      vmName: SECRET_VM,
      sourceAlias: 'demo',
      sourceUri: 'test:///default',
      destinationAlias: 'gone',
      destinationUri: 'test:///default',
      actor: 'alice',
    };
    const started = new Date(Date.now() - 42_000);
    const done = await db.migration.create({
      data: { ...base, options: JSON.stringify({ mode: 'live' }), state: 'running', startedAt: started },
    });
    await db.migration.create({ data: { ...base, options: JSON.stringify({ mode: 'offline' }), state: 'queued' } });
    await db.migration.create({ data: { ...base, options: JSON.stringify({ mode: 'live' }), state: 'running' } });
    const closed = await recordFinalState(
      { db, bus },
      {
        migrationId: done.id,
        ending: {
          summary: {
            state: 'succeeded',
            errorCode: null,
            errorTitle: null,
            message: null,
            nextStep: null,
            verification: [],
          },
          totals: { memoryBytes: 1_000_000, diskBytes: 2_000_000, downtimeMs: 120, peakBandwidthBps: null },
        },
      },
    );
    expect(closed).toBe(true);

    const response = await GET(scrape({ authorization: 'Bearer scrape-token-for-the-metrics-test' }));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();

    const lint = promtool(text);
    expect(lint.output).toBe('');
    expect(lint.status).toBe(0);

    expect(text).toContain('ferry_migrations_total{result="succeeded",mode="live"} 1');
    expect(text).toContain('ferry_migration_duration_seconds_count{result="succeeded",mode="live"} 1');
    expect(text).toMatch(/ferry_migration_duration_seconds_sum\{result="succeeded",mode="live"\} 4\d\.\d+/);
    expect(text).toContain('ferry_migration_downtime_seconds_sum{mode="live"} 0.12');
    expect(text).toContain('ferry_migration_transferred_bytes_total{kind="memory"} 1000000');
    expect(text).toContain('ferry_migration_transferred_bytes_total{kind="disk"} 2000000');
    expect(text).toContain('ferry_migrations_in_progress 1');
    expect(text).toContain('ferry_migrations_queued 1');
    expect(text).toContain('ferry_host_read_duration_seconds_count{host="demo",result="ok"} 1');
    expect(text).toContain('ferry_host_read_duration_seconds_count{host="gone",result="error"} 1');
    expect(text).toMatch(/ferry_virsh_errors_total\{kind="exit"\} [1-9]/);
    const head = await db.auditEvent.findFirstOrThrow({ orderBy: { id: 'desc' } });
    expect(text).toContain(`ferry_audit_chain_head_info{id="${head.id}",hash="${head.hash}"} 1`);
    expect(text).toContain(`ferry_audit_chain_head_id ${head.id}`);
    // No event stream source is registered here: no stream series at all, rather than invented ones.
    expect(text).not.toMatch(/^ferry_event_stream_up\{/m);
    expect(text).not.toContain(SECRET_VM);
    expect(text).not.toContain(setup.dir);
  });

  it('reports each host stream from the registered source, and promtool still passes', async () => {
    const { setEventStreamSource } = await import('./event-streams');
    setEventStreamSource(() => [
      { hostAlias: 'demo', up: true, state: 'live' },
      { hostAlias: 'gone', up: false, state: 'reconnecting' },
    ]);
    try {
      const text = await (await GET(scrape({ authorization: 'Bearer scrape-token-for-the-metrics-test' }))).text();
      expect(text).toContain('ferry_event_stream_up{host="demo"} 1');
      expect(text).toContain('ferry_event_stream_up{host="gone"} 0');
      expect(promtool(text)).toEqual({ status: 0, output: '' });
    } finally {
      setEventStreamSource(null);
    }
  });

  it('promtool fails on a lint problem, so the checks above can fail', () => {
    // The very problem prom-client's defaults had: a gauge named like a counter.
    const lint = promtool('# HELP queue_total Jobs.\n# TYPE queue_total gauge\nqueue_total 2\n');
    expect(lint.status).not.toBe(0);
    expect(lint.output).toContain('non-counter metrics should not have "_total" suffix');
  });
});
