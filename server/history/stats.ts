import { Prisma } from '@prisma/client';
import type { Db } from '../db';
import type { HistoryFilter } from './filters';
import { historyConditions } from './query';

/** Without a time range the charts cover this many days up to now: a day-by-day chart of years says little. */
export const DEFAULT_CHART_DAYS = 90;
const DAY_MS = 86_400_000;
/** More bars than this would be thinner than a pixel; the caller is asked to narrow the range instead. */
export const MAX_CHART_DAYS = 800;
const FAILURE_CAUSES_SHOWN = 8;

export const DURATION_BUCKETS = [
  { label: '< 10 s', belowMs: 10_000 },
  { label: '10–30 s', belowMs: 30_000 },
  { label: '30–60 s', belowMs: 60_000 },
  { label: '1–2 min', belowMs: 120_000 },
  { label: '2–5 min', belowMs: 300_000 },
  { label: '5–10 min', belowMs: 600_000 },
  { label: '10–30 min', belowMs: 1_800_000 },
  { label: '≥ 30 min', belowMs: null },
] as const;

export type DayOutcomes = { day: string; succeeded: number; failed: number; cancelled: number; other: number };

export type HistoryStats = {
  window: { from: Date; to: Date; isDefault: boolean };
  perDay: DayOutcomes[];
  totals: Omit<DayOutcomes, 'day'>;
  /** Succeeded migrations by how long they took. */
  durations: { label: string; count: number }[];
  failureCauses: { errorCode: string; count: number; example: string | null }[];
};

type Outcome = Exclude<keyof DayOutcomes, 'day'>;

function outcomeOf(state: string): Outcome {
  switch (state) {
    case 'succeeded':
    case 'failed':
    case 'cancelled':
      return state;
    default:
      return 'other';
  }
}

function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** The time window the charts cover: the filter's, or the last DEFAULT_CHART_DAYS days. */
export function chartWindow(filter: HistoryFilter, now: Date = new Date()): HistoryStats['window'] {
  const to = filter.to ?? now;
  const from = filter.from ?? new Date(Math.max(0, to.getTime() - DEFAULT_CHART_DAYS * DAY_MS));
  const clampedFrom = to.getTime() - from.getTime() > MAX_CHART_DAYS * DAY_MS ? new Date(to.getTime() - MAX_CHART_DAYS * DAY_MS) : from;
  return { from: clampedFrom, to, isDefault: !filter.from && !filter.to };
}

const DURATION_CASE = Prisma.sql`CASE WHEN "state" <> 'succeeded' OR "durationMs" IS NULL THEN NULL ${Prisma.join(
  DURATION_BUCKETS.map((bucket, index) =>
    bucket.belowMs === null ? Prisma.sql`ELSE ${index}` : Prisma.sql`WHEN "durationMs" < ${bucket.belowMs} THEN ${index}`,
  ),
  ' ',
)} END`;

/** Without a VM or host to narrow by, every chart reads this index alone (it holds all four columns). */
const CHART_INDEX = 'Migration_createdAt_state_durationMs_errorCode_idx';

type ChartCell = { day: string; state: string; bucket: number | bigint | null; errorCode: string | null; n: number | bigint };

/** Aggregates for the history charts, over the same filter as the list (within the chart window), in one pass. */
export async function migrationStats(options: { db: Db; filter: HistoryFilter; now?: Date }): Promise<HistoryStats> {
  const window = chartWindow(options.filter, options.now);
  const filter: HistoryFilter = { ...options.filter, from: window.from, to: window.to };
  const conditions = Prisma.join(historyConditions({ filter, cursor: null }), ' AND ');
  const source = filter.vm || filter.host ? Prisma.sql`"Migration"` : Prisma.raw(`"Migration" INDEXED BY "${CHART_INDEX}"`);

  const [cells, examples] = await Promise.all([
    options.db.$queryRaw<ChartCell[]>(
      Prisma.sql`SELECT substr("createdAt", 1, 10) AS "day", "state", ${DURATION_CASE} AS "bucket",
          CASE WHEN "state" = 'failed' THEN coalesce("errorCode", 'unknown') END AS "errorCode", count(*) AS "n"
        FROM ${source} WHERE ${conditions} GROUP BY 1, 2, 3, 4`,
    ),
    options.db.$queryRaw<{ errorCode: string; example: string | null }[]>(
      Prisma.sql`SELECT coalesce("errorCode", 'unknown') AS "errorCode", max("errorMessage") AS "example" FROM "Migration"
        WHERE ${conditions} AND "state" = 'failed' GROUP BY 1`,
    ),
  ]);

  // Every day of the window gets a bar, also the quiet ones, so gaps read as "nothing happened".
  const days = new Map<string, DayOutcomes>();
  for (let t = Date.parse(utcDay(window.from)); t < window.to.getTime(); t += DAY_MS) {
    const day = utcDay(new Date(t));
    days.set(day, { day, succeeded: 0, failed: 0, cancelled: 0, other: 0 });
  }
  const totals = { succeeded: 0, failed: 0, cancelled: 0, other: 0 };
  const durationCounts = DURATION_BUCKETS.map(() => 0);
  const causeCounts = new Map<string, number>();
  for (const cell of cells) {
    const n = Number(cell.n);
    const entry = days.get(cell.day) ?? { day: cell.day, succeeded: 0, failed: 0, cancelled: 0, other: 0 };
    const outcome = outcomeOf(cell.state);
    entry[outcome] += n;
    totals[outcome] += n;
    days.set(cell.day, entry);
    if (cell.bucket !== null) durationCounts[Number(cell.bucket)] = (durationCounts[Number(cell.bucket)] ?? 0) + n;
    if (cell.errorCode !== null) causeCounts.set(cell.errorCode, (causeCounts.get(cell.errorCode) ?? 0) + n);
  }

  const exampleOf = new Map(examples.map((row) => [row.errorCode, row.example]));
  return {
    window,
    perDay: [...days.values()].sort((a, b) => a.day.localeCompare(b.day)),
    totals,
    durations: DURATION_BUCKETS.map((bucket, index) => ({ label: bucket.label, count: durationCounts[index] ?? 0 })),
    failureCauses: [...causeCounts.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, FAILURE_CAUSES_SHOWN)
      .map(([errorCode, count]) => ({ errorCode, count, example: exampleOf.get(errorCode) ?? null })),
  };
}
