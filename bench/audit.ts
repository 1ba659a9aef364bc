import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { PrismaClient } from '@prisma/client';
import { createPrismaClient } from '../server/db';
import { auditExportResponse } from '../server/audit/export';
import { auditFilterSchema, type AuditFilterInput } from '../server/audit/filters';
import { encodeAuditCursor, planAuditQuery, queryAuditPage } from '../server/audit/query';
import { verifyAuditChain } from '../server/audit/verify';
import { historyExportResponse } from '../server/history/export';
import { historyFilterSchema, type HistoryFilterInput } from '../server/history/filters';
import { encodeHistoryCursor, queryHistoryPage } from '../server/history/query';
import { migrationStats } from '../server/history/stats';
import { BENCH_SHAPE, existingSeed, seedAuditBench, type SeedShape } from './audit-seed';

/**
 * Audit and migration history at the size of a busy two-year-old fleet, measured through the same functions
 * the tRPC routers and the export routes call. Prints a table and returns the figures.
 *
 *   npx tsx --conditions=react-server bench/audit.ts  (reuses bench/out/audit-bench.db when it holds the current seed)
 *   FERRY_BENCH_RESEED=1 npx tsx --conditions=react-server bench/audit.ts
 *   FERRY_BENCH_AUDIT_PARTS=queries,charts npx tsx --conditions=react-server bench/audit.ts
 *     (skip the minute of exports and verify)
 */

export const BENCH_PARTS = ['queries', 'charts', 'exports', 'verify'] as const;
export type BenchPart = (typeof BENCH_PARTS)[number];

function partsFromEnv(): BenchPart[] {
  const wanted = process.env.FERRY_BENCH_AUDIT_PARTS?.split(',').map((part) => part.trim());
  return wanted ? BENCH_PARTS.filter((part) => wanted.includes(part)) : [...BENCH_PARTS];
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const AUDIT_BENCH_DB = path.join(ROOT, 'bench', 'out', 'audit-bench.db');
const ITERATIONS = 40;
const PAGE_SIZE = 50;
const P95_GOAL_MS = 20;
const RSS_GOAL_MB = 50;

export type QueryFigure = {
  name: string;
  page: 'first' | 'deep';
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  avgRows: number;
  plan: string;
};
export type ExportFigure = {
  name: string;
  rows: number;
  megabytes: number;
  seconds: number;
  rssGrowthMb: number;
  heapGrowthMb: number;
  /** Largest heap growth right after a forced full GC (only in the run that forces them): what stays alive. */
  liveHeapGrowthMb: number | null;
};

/**
 * A handle on V8's collector without restarting node with --expose-gc (npm run bench runs plain tsx): the
 * flag may be set at run time, and a fresh context then sees `gc`.
 */
function exposeGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}
export type AuditBenchResult = {
  seed: { auditRows: number; migrations: number; seededNow: boolean; seedSeconds: number | null };
  audit: QueryFigure[];
  history: QueryFigure[];
  stats: { name: string; p95Ms: number }[];
  exports: ExportFigure[];
  verify: { rows: number; seconds: number; ok: boolean } | null;
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? 0;
}

async function timeIt<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await work();
  return { ms: performance.now() - started, value };
}

function summarize(name: string, page: 'first' | 'deep', times: number[], rows: number[], plan: string): QueryFigure {
  const sorted = [...times].sort((a, b) => a - b);
  return {
    name,
    page,
    p50Ms: percentile(sorted, 0.5),
    p95Ms: percentile(sorted, 0.95),
    maxMs: sorted.at(-1) ?? 0,
    avgRows: rows.reduce((a, b) => a + b, 0) / Math.max(rows.length, 1),
    plan,
  };
}

type AuditCase = { name: string; filter: (i: number) => AuditFilterInput };

function auditCases(shape: SeedShape, end: Date): AuditCase[] {
  const host = (i: number) => `hv${String(((i * 7) % shape.hosts) + 1).padStart(3, '0')}`;
  const vm = (i: number) => `vm-${String(((i * 37) % shape.vms) + 1).padStart(4, '0')}`;
  const actor = (i: number) =>
    i % shape.actors === 0
      ? 'system'
      : i % shape.actors === 1
        ? 'admin'
        : `ops-${String(i % shape.actors).padStart(2, '0')}`;
  const day = 86_400_000;
  // 30-day windows spread over the second year back, one per iteration.
  const window = (i: number) => ({
    from: new Date(end.getTime() - (365 + i * 7) * day),
    to: new Date(end.getTime() - (335 + i * 7) * day),
  });
  const actions = [
    'migration.preflight',
    'migration.start',
    'migration.succeeded',
    'migration.failed',
    'volume.create',
    'host.edit',
  ];
  return [
    { name: 'no filter', filter: () => ({}) },
    { name: 'time range (30 days)', filter: (i) => window(i) },
    { name: 'actor', filter: (i) => ({ actor: actor(i) }) },
    { name: 'action (one)', filter: (i) => ({ actions: [actions[i % actions.length] as string] }) },
    {
      name: 'actions (three)',
      filter: (i) => ({ actions: ['migration.failed', 'migration.cancelled', actions[i % actions.length] as string] }),
    },
    { name: 'host', filter: (i) => ({ host: host(i) }) },
    { name: 'vm', filter: (i) => ({ vm: vm(i) }) },
    { name: 'result', filter: (i) => ({ result: (['failed', 'refused', 'ok'] as const)[i % 3] }) },
    { name: 'details: rare words', filter: (i) => ({ q: `10.30.0.${i % 250}` }) },
    {
      name: 'details: common words',
      filter: (i) => ({ q: ['avx512f', 'Permission denied', 'shared', 'timeout'][i % 4] }),
    },
    { name: 'details: word in ~all rows', filter: () => ({ q: 'source' }) },
    { name: 'host + action + time', filter: (i) => ({ host: host(i), actions: ['migration.start'], ...window(i) }) },
    {
      name: 'actor + action + result',
      filter: (i) => ({
        actor: actor(i),
        actions: [actions[i % actions.length] as string],
        result: i % 2 ? 'refused' : 'ok',
      }),
    },
    {
      name: 'vm + actions(2) + words',
      filter: (i) => ({ vm: vm(i), actions: ['migration.preflight', 'migration.start'], q: 'source' }),
    },
  ];
}

type HistoryCase = { name: string; filter: (i: number) => HistoryFilterInput };

function historyCases(shape: SeedShape, end: Date): HistoryCase[] {
  const host = (i: number) => `hv${String(((i * 7) % shape.hosts) + 1).padStart(3, '0')}`;
  const vm = (i: number) => `vm-${String(((i * 37) % shape.vms) + 1).padStart(4, '0')}`;
  const day = 86_400_000;
  const window = (i: number) => ({
    from: new Date(end.getTime() - (365 + i * 7) * day),
    to: new Date(end.getTime() - (335 + i * 7) * day),
  });
  return [
    { name: 'no filter', filter: () => ({}) },
    {
      name: 'state (one)',
      filter: (i) => ({ states: [(['failed', 'cancelled', 'succeeded'] as const)[i % 3] ?? 'failed'] }),
    },
    { name: 'states (two)', filter: () => ({ states: ['failed', 'cancelled'] }) },
    { name: 'host (source or dest.)', filter: (i) => ({ host: host(i) }) },
    { name: 'vm', filter: (i) => ({ vm: vm(i) }) },
    { name: 'time range (30 days)', filter: (i) => window(i) },
    { name: 'host + state + time', filter: (i) => ({ host: host(i), states: ['failed'], ...window(i) }) },
  ];
}

async function deepAuditCursor(db: PrismaClient, position: number): Promise<string> {
  // The bench may use OFFSET to find a row half a million deep; the page queries themselves never do.
  const rows = await db.$queryRaw<
    { id: number; at: Date }[]
  >`SELECT "id", "at" FROM "AuditEvent" ORDER BY "at" DESC, "id" DESC LIMIT 1 OFFSET ${position}`;
  const row = rows[0];
  if (!row) throw new Error('the bench database has fewer rows than the deep-page position');
  return encodeAuditCursor(row);
}

async function deepHistoryCursor(db: PrismaClient, position: number): Promise<string> {
  const rows = await db.$queryRaw<
    { id: string; createdAt: Date }[]
  >`SELECT "id", "createdAt" FROM "Migration" ORDER BY "createdAt" DESC, "id" DESC LIMIT 1 OFFSET ${position}`;
  const row = rows[0];
  if (!row) throw new Error('the bench database has fewer migrations than the deep-page position');
  return encodeHistoryCursor(row);
}

/** Reads a whole export response as a browser would, sampling memory after every chunk. */
async function measureExport(
  name: string,
  respond: () => Promise<Response> | Response,
  options: { gcEveryChunks?: number } = {},
): Promise<ExportFigure> {
  const gc = exposeGc();
  gc();
  const baseline = process.memoryUsage();
  let liveMax: number | null = options.gcEveryChunks ? 0 : null;
  let chunks = 0;
  let peakRss = baseline.rss;
  let peakHeap = baseline.heapUsed;
  const started = performance.now();
  const response = await respond();
  if (!response.ok || !response.body) throw new Error(`${name}: export answered ${response.status}`);
  const reader = response.body.getReader();
  let bytes = 0;
  let newlines = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    for (let i = 0; i < value.length; i++) if (value[i] === 10) newlines++;
    const memory = process.memoryUsage();
    peakRss = Math.max(peakRss, memory.rss);
    peakHeap = Math.max(peakHeap, memory.heapUsed);
    chunks++;
    if (options.gcEveryChunks && liveMax !== null && chunks % options.gcEveryChunks === 0) {
      gc();
      liveMax = Math.max(liveMax, process.memoryUsage().heapUsed - baseline.heapUsed);
    }
  }
  return {
    name,
    // CSV carries a header line; a details field with a newline in it would add one (the seed has none).
    rows: name.includes('CSV') ? newlines - 1 : newlines,
    megabytes: bytes / 2 ** 20,
    seconds: (performance.now() - started) / 1000,
    rssGrowthMb: (peakRss - baseline.rss) / 2 ** 20,
    heapGrowthMb: (peakHeap - baseline.heapUsed) / 2 ** 20,
    liveHeapGrowthMb: liveMax === null ? null : liveMax / 2 ** 20,
  };
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

function fmt(ms: number): string {
  return ms.toFixed(ms < 10 ? 2 : 1);
}

function printQueryTable(title: string, figures: QueryFigure[], log: (line: string) => void) {
  log('');
  log(
    `${title} — page of ${PAGE_SIZE}, ${ITERATIONS} runs each with varying values, server-side time (goal p95 ≤ ${P95_GOAL_MS} ms)`,
  );
  log(
    `  ${pad('filter', 28)}${pad('page', 7)}${pad('p50 ms', 9)}${pad('p95 ms', 9)}${pad('max ms', 9)}${pad('rows', 7)}${pad('goal', 6)}read from`,
  );
  for (const figure of figures) {
    log(
      `  ${pad(figure.name, 28)}${pad(figure.page, 7)}${pad(fmt(figure.p50Ms), 9)}${pad(fmt(figure.p95Ms), 9)}${pad(fmt(figure.maxMs), 9)}${pad(figure.avgRows.toFixed(0), 7)}${pad(figure.p95Ms <= P95_GOAL_MS ? 'ok' : 'MISS', 6)}${figure.plan}`,
    );
  }
}

export async function benchAudit(
  options: {
    file?: string;
    reseed?: boolean;
    shape?: SeedShape;
    parts?: BenchPart[];
    log?: (line: string) => void;
  } = {},
): Promise<AuditBenchResult> {
  const file = options.file ?? AUDIT_BENCH_DB;
  const parts = new Set(options.parts ?? partsFromEnv());
  const shape = options.shape ?? BENCH_SHAPE;
  const log = options.log ?? ((line: string) => console.log(line));
  const reseed = options.reseed ?? process.env.FERRY_BENCH_RESEED === '1';

  log(`audit bench: ${file}`);
  let seedSeconds: number | null = null;
  const seededNow = reseed || !existingSeed(file, shape);
  if (seededNow) {
    log(
      `seeding ${shape.auditRows.toLocaleString('en')} audit rows and ${shape.migrations.toLocaleString('en')} migrations (${shape.hosts} hosts, ${shape.vms} VMs, ${shape.actors} actors, ${shape.days} days)…`,
    );
    const summary = seedAuditBench({ file, shape, log });
    seedSeconds = summary.seconds;
    log(`seeded in ${summary.seconds.toFixed(1)} s`);
  } else {
    log('reusing the existing seed (FERRY_BENCH_RESEED=1 to rebuild)');
  }

  const db = createPrismaClient(`file:${file}`);
  try {
    const [auditCount, migrationCount, newest] = await Promise.all([
      db.auditEvent.count(),
      db.migration.count(),
      db.auditEvent.findFirst({ orderBy: { id: 'desc' }, select: { at: true } }),
    ]);
    const end = newest?.at ?? new Date();
    const deepAudit = await deepAuditCursor(db, Math.floor(auditCount / 2));
    const deepHistory = await deepHistoryCursor(db, Math.floor(migrationCount / 2));

    // One untimed pass first: the first query of a kind pays for JIT and for pages coming into the OS cache.
    for (const testCase of auditCases(shape, end)) {
      const filter = auditFilterSchema.parse(testCase.filter(0));
      await queryAuditPage({ db, filter, limit: PAGE_SIZE });
    }
    for (const testCase of historyCases(shape, end))
      await queryHistoryPage({ db, filter: historyFilterSchema.parse(testCase.filter(0)), limit: PAGE_SIZE });

    const audit: QueryFigure[] = [];
    for (const testCase of parts.has('queries') ? auditCases(shape, end) : []) {
      for (const page of ['first', 'deep'] as const) {
        const times: number[] = [];
        const rows: number[] = [];
        const plans = new Set<string>();
        for (let i = 0; i < ITERATIONS; i++) {
          const filter = auditFilterSchema.parse(testCase.filter(i));
          const { ms, value } = await timeIt(async () => {
            const plan = await planAuditQuery({ db, filter });
            const result = await queryAuditPage({
              db,
              filter,
              plan,
              limit: PAGE_SIZE,
              cursor: page === 'deep' ? deepAudit : null,
            });
            return { plan, result };
          });
          times.push(ms);
          rows.push(value.result.rows.length);
          plans.add(value.plan.kind === 'search' ? 'search index' : value.plan.index);
        }
        audit.push(summarize(testCase.name, page, times, rows, [...plans].join(', ')));
      }
    }
    if (audit.length > 0) printQueryTable(`Audit log (${auditCount.toLocaleString('en')} rows)`, audit, log);

    const history: QueryFigure[] = [];
    for (const testCase of parts.has('queries') ? historyCases(shape, end) : []) {
      for (const page of ['first', 'deep'] as const) {
        const times: number[] = [];
        const rows: number[] = [];
        for (let i = 0; i < ITERATIONS; i++) {
          const filter = historyFilterSchema.parse(testCase.filter(i));
          const { ms, value } = await timeIt(() =>
            queryHistoryPage({ db, filter, limit: PAGE_SIZE, cursor: page === 'deep' ? deepHistory : null }),
          );
          times.push(ms);
          rows.push(value.rows.length);
        }
        history.push(summarize(testCase.name, page, times, rows, ''));
      }
    }
    if (history.length > 0)
      printQueryTable(`Migration history (${migrationCount.toLocaleString('en')} migrations)`, history, log);

    const stats: { name: string; p95Ms: number }[] = [];
    const statCases: { name: string; filter: HistoryFilterInput }[] = [
      { name: 'charts, default window (90 days)', filter: {} },
      { name: 'charts, two years', filter: { from: new Date(end.getTime() - 730 * 86_400_000), to: end } },
      {
        name: 'charts, one host, two years',
        filter: { host: 'hv042', from: new Date(end.getTime() - 730 * 86_400_000), to: end },
      },
    ];
    for (const statCase of parts.has('charts') ? statCases : []) {
      const times: number[] = [];
      for (let i = 0; i < 10; i++) {
        const filter = historyFilterSchema.parse(statCase.filter);
        times.push((await timeIt(() => migrationStats({ db, filter, now: end }))).ms);
      }
      stats.push({
        name: statCase.name,
        p95Ms: percentile(
          [...times].sort((a, b) => a - b),
          0.95,
        ),
      });
    }
    if (stats.length > 0) {
      log('');
      log('History charts (10 runs)');
      for (const stat of stats) log(`  ${pad(stat.name, 40)}p95 ${fmt(stat.p95Ms)} ms`);
    }

    const exports: ExportFigure[] = [];
    if (parts.has('exports')) await measureExports(db, exports, log);

    let verify: AuditBenchResult['verify'] = null;
    if (parts.has('verify')) {
      const verified = await timeIt(() => verifyAuditChain(db));
      verify = { rows: verified.value.checked, seconds: verified.ms / 1000, ok: verified.value.ok };
      log('');
      log(
        `Chain verification: ${verify.rows.toLocaleString('en')} rows in ${verify.seconds.toFixed(1)} s — ${verify.ok ? 'intact' : `BROKEN: ${verified.value.firstBreak?.message}`}`,
      );
    }

    return {
      seed: { auditRows: auditCount, migrations: migrationCount, seededNow, seedSeconds },
      audit,
      history,
      stats,
      exports,
      verify,
    };
  } finally {
    await db.$disconnect();
  }
}

/**
 * The 1M-row audit CSV twice (plain, then with a forced GC every 100k rows to see what stays alive), then
 * migrations.
 */
async function measureExports(db: PrismaClient, exports: ExportFigure[], log: (line: string) => void) {
  exports.push(
    await measureExport('audit CSV, all rows', () =>
      auditExportResponse({
        db,
        url: new URL('http://bench.invalid/api/audit/export?format=csv'),
        actor: 'bench',
        clientAddress: null,
      }),
    ),
  );
  exports.push(
    await measureExport(
      'audit CSV, GC every 100k rows',
      () =>
        auditExportResponse({
          db,
          url: new URL('http://bench.invalid/api/audit/export?format=csv'),
          actor: 'bench',
          clientAddress: null,
        }),
      { gcEveryChunks: 50 },
    ),
  );
  exports.push(
    await measureExport('migrations CSV, all rows', () =>
      historyExportResponse({
        db,
        url: new URL('http://bench.invalid/api/migrations/export?format=csv'),
        actor: 'bench',
        clientAddress: null,
      }),
    ),
  );
  log('');
  log(
    `Exports through the real route stream (goal: memory growth < ${RSS_GOAL_MB} MB). Peak growth over a forced-GC baseline;`,
  );
  log(
    '"live" is the heap right after a forced GC every 100k rows: what the export keeps, as opposed to garbage V8 has not collected yet.',
  );
  log(
    `  ${pad('export', 32)}${pad('rows', 11)}${pad('MB', 7)}${pad('seconds', 9)}${pad('rows/s', 10)}${pad('RSS +MB', 9)}${pad('heap +MB', 10)}live +MB`,
  );
  for (const figure of exports) {
    log(
      `  ${pad(figure.name, 32)}${pad(figure.rows.toLocaleString('en'), 11)}${pad(figure.megabytes.toFixed(0), 7)}${pad(figure.seconds.toFixed(1), 9)}${pad(Math.round(figure.rows / figure.seconds).toLocaleString('en'), 10)}${pad(figure.rssGrowthMb.toFixed(1), 9)}${pad(figure.heapGrowthMb.toFixed(1), 10)}${figure.liveHeapGrowthMb === null ? '—' : figure.liveHeapGrowthMb.toFixed(1)}`,
    );
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const small = process.env.FERRY_BENCH_SMALL === '1';
  await benchAudit(
    small
      ? {
          file: path.join(ROOT, 'bench', 'out', 'audit-bench-small.db'),
          shape: { ...BENCH_SHAPE, auditRows: 50_000, migrations: 5_000 },
        }
      : {},
  );
}
