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

export type DayOutcomes = {
  day: string;
  succeeded: number;
  failed: number;
  cancelled: number;
  /** Lost jobs whose outcome the hosts did not establish (reconcile.ts). */
  unknown: number;
  other: number;
};

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
    case 'unknown':
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
  const clampedFrom =
    to.getTime() - from.getTime() > MAX_CHART_DAYS * DAY_MS ? new Date(to.getTime() - MAX_CHART_DAYS * DAY_MS) : from;
  return { from: clampedFrom, to, isDefault: !filter.from && !filter.to };
}

const DURATION_CASE = Prisma.sql`CASE ${Prisma.join(
  DURATION_BUCKETS.map((bucket, index) =>
    bucket.belowMs === null
      ? Prisma.sql`ELSE ${index}`
      : Prisma.sql`WHEN "durationMs" < ${bucket.belowMs} THEN ${index}`,
  ),
  ' ',
)} END`;

/** Without a VM or host to narrow by, the day and duration charts read this index alone (it holds their columns). */
const CHART_INDEX = 'Migration_createdAt_state_durationMs_errorCode_idx';
const FAILED_INDEX = 'Migration_state_createdAt_idx';

/**
 * A VM or host has few migrations; read those through its own index(es). Left alone, SQLite picks the
 * state index for "succeeded in these two years" and reads every success of the fleet to find one host's.
 */
function narrowedSource(filter: HistoryFilter): Prisma.Sql | null {
  if (filter.vm) return Prisma.raw(`"Migration" INDEXED BY "Migration_vmName_createdAt_idx"`);
  if (!filter.host) return null;
  // Only the columns the charts and the filter read: "output" can hold a migration's whole virsh log.
  const columns = Prisma.sql`"createdAt", "state", "durationMs", "errorCode", "errorMessage", "sourceAlias", "destinationAlias", "vmName"`;
  return Prisma.sql`(SELECT ${columns} FROM "Migration" INDEXED BY "Migration_sourceAlias_createdAt_idx" WHERE "sourceAlias" = ${filter.host}
    UNION ALL SELECT ${columns} FROM "Migration" INDEXED BY "Migration_destinationAlias_createdAt_idx" WHERE "destinationAlias" = ${filter.host} AND "sourceAlias" <> ${filter.host})`;
}

/**
 * Aggregates for the history charts, over the same filter as the list (within the chart window). Three
 * small GROUP BYs: one pass grouping by all four columns sorted far more groups and took longer.
 */
export async function migrationStats(options: { db: Db; filter: HistoryFilter; now?: Date }): Promise<HistoryStats> {
  const window = chartWindow(options.filter, options.now);
  const filter: HistoryFilter = { ...options.filter, from: window.from, to: window.to };
  const conditions = Prisma.join(historyConditions({ filter, cursor: null }), ' AND ');
  const narrowed = narrowedSource(filter);
  const chartSource = narrowed ?? Prisma.raw(`"Migration" INDEXED BY "${CHART_INDEX}"`);
  const failedSource = narrowed ?? Prisma.raw(`"Migration" INDEXED BY "${FAILED_INDEX}"`);

  const byDay = await options.db.$queryRaw<{ day: string; state: string; n: number | bigint }[]>(
    Prisma.sql`SELECT substr("createdAt", 1, 10) AS "day", "state", count(*) AS "n" FROM ${chartSource} WHERE ${conditions} GROUP BY 1, 2`,
  );
  const byDuration = await options.db.$queryRaw<{ bucket: number | bigint; n: number | bigint }[]>(
    Prisma.sql`SELECT ${DURATION_CASE} AS "bucket", count(*) AS "n" FROM ${chartSource}
      WHERE ${conditions} AND "state" = 'succeeded' AND "durationMs" IS NOT NULL GROUP BY 1`,
  );
  const byCause = await options.db.$queryRaw<{ errorCode: string; n: number | bigint; example: string | null }[]>(
    Prisma.sql`SELECT coalesce("errorCode", 'unknown') AS "errorCode", count(*) AS "n", max("errorMessage") AS "example" FROM ${failedSource}
      WHERE ${conditions} AND "state" = 'failed' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ${FAILURE_CAUSES_SHOWN}`,
  );

  // Every day of the window gets a bar, also the quiet ones, so gaps read as "nothing happened".
  const days = new Map<string, DayOutcomes>();
  for (let t = Date.parse(utcDay(window.from)); t < window.to.getTime(); t += DAY_MS) {
    const day = utcDay(new Date(t));
    days.set(day, { day, succeeded: 0, failed: 0, cancelled: 0, unknown: 0, other: 0 });
  }
  const totals = { succeeded: 0, failed: 0, cancelled: 0, unknown: 0, other: 0 };
  for (const row of byDay) {
    const entry = days.get(row.day) ?? { day: row.day, succeeded: 0, failed: 0, cancelled: 0, unknown: 0, other: 0 };
    const outcome = outcomeOf(row.state);
    entry[outcome] += Number(row.n);
    totals[outcome] += Number(row.n);
    days.set(row.day, entry);
  }

  const durationCounts = new Map(byDuration.map((row) => [Number(row.bucket), Number(row.n)]));
  return {
    window,
    perDay: [...days.values()].sort((a, b) => a.day.localeCompare(b.day)),
    totals,
    durations: DURATION_BUCKETS.map((bucket, index) => ({
      label: bucket.label,
      count: durationCounts.get(index) ?? 0,
    })),
    failureCauses: byCause.map((row) => ({ errorCode: row.errorCode, count: Number(row.n), example: row.example })),
  };
}
