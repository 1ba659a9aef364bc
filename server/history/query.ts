import { Prisma } from '@prisma/client';
import type { Db } from '../db';
import { UserError } from '../errors';
import { HISTORY_PAGE_SIZE_DEFAULT, HISTORY_PAGE_SIZE_MAX, type HistoryFilter } from './filters';

/** A migration as the history list and exports show it. URIs are left out on purpose: they may name key files. */
export type HistoryRow = {
  id: string;
  vmName: string;
  sourceAlias: string;
  destinationAlias: string;
  state: string;
  percent: number;
  actor: string;
  createdAt: Date;
  startedAt: Date | null;
  endedAt: Date | null;
  durationMs: number | null;
  memoryBytes: number | null;
  diskBytes: number | null;
  avgBandwidthBps: number | null;
  downtimeMs: number | null;
  errorCode: string | null;
  errorMessage: string | null;
};

type RawHistoryRow = Omit<HistoryRow, 'memoryBytes' | 'diskBytes' | 'avgBandwidthBps'> & {
  memoryBytes: bigint | number | null;
  diskBytes: bigint | number | null;
  avgBandwidthBps: bigint | number | null;
};

export type HistoryCursor = { createdAt: Date; id: string };
export type HistoryPage = { rows: HistoryRow[]; nextCursor: string | null };

export function encodeHistoryCursor(row: { createdAt: Date; id: string }): string {
  return `${row.createdAt.getTime()}.${row.id}`;
}

export function decodeHistoryCursor(text: string): HistoryCursor {
  const match = /^(\d{1,15})\.([A-Za-z0-9_-]{1,64})$/.exec(text);
  if (!match)
    throw new UserError({
      field: 'cursor',
      message: 'That page link is no longer valid; start again from the first page.',
    });
  return { createdAt: new Date(Number(match[1])), id: match[2] ?? '' };
}

const COLUMNS = Prisma.sql`"id", "vmName", "sourceAlias", "destinationAlias", "state", "percent", "actor", "createdAt", "startedAt", "endedAt",
  "durationMs", "memoryBytes", "diskBytes", "avgBandwidthBps", "downtimeMs", "errorCode", "errorMessage"`;
// Ties on createdAt are broken by id, which no index carries: SQLite sorts only each run of equal timestamps.
const ORDER = Prisma.sql`ORDER BY "createdAt" DESC, "id" DESC`;

const INDEX = {
  createdAt: 'Migration_createdAt_idx',
  state: 'Migration_state_createdAt_idx',
  vmName: 'Migration_vmName_createdAt_idx',
  sourceAlias: 'Migration_sourceAlias_createdAt_idx',
  destinationAlias: 'Migration_destinationAlias_createdAt_idx',
} as const;

type Branch = { index: string; own: Prisma.Sql[] };

function from(index: string): Prisma.Sql {
  return Prisma.raw(`"Migration" INDEXED BY "${index}"`);
}

function where(conditions: Prisma.Sql[]): Prisma.Sql {
  return conditions.length === 0 ? Prisma.empty : Prisma.sql`WHERE ${Prisma.join(conditions, ' AND ')}`;
}

/** Conditions every row must meet, as SQL a test can EXPLAIN. */
export function historyConditions(options: {
  filter: HistoryFilter;
  cursor: HistoryCursor | null;
  skip?: 'vm' | 'host' | 'state';
}): Prisma.Sql[] {
  const { filter, cursor, skip } = options;
  const conditions: Prisma.Sql[] = [];
  if (filter.from) conditions.push(Prisma.sql`"createdAt" >= ${filter.from}`);
  if (filter.to) conditions.push(Prisma.sql`"createdAt" < ${filter.to}`);
  if (filter.vm && skip !== 'vm') conditions.push(Prisma.sql`"vmName" = ${filter.vm}`);
  if (filter.host && skip !== 'host')
    conditions.push(Prisma.sql`("sourceAlias" = ${filter.host} OR "destinationAlias" = ${filter.host})`);
  if (filter.states && skip !== 'state') {
    conditions.push(
      filter.states.length === 1
        ? Prisma.sql`"state" = ${filter.states[0]}`
        : Prisma.sql`"state" IN (${Prisma.join(filter.states)})`,
    );
  }
  if (cursor) {
    conditions.push(
      Prisma.sql`"createdAt" <= ${cursor.createdAt} AND ("createdAt" < ${cursor.createdAt} OR "id" < ${cursor.id})`,
    );
  }
  return conditions;
}

/**
 * The index walks a page is read from, most selective filter first (5 000 VMs, 200 hosts, 7 states). A host
 * is a source or a destination: two walks merged. Several states: one walk per state, merged.
 */
function branchesFor(filter: HistoryFilter): { branches: Branch[]; skip?: 'vm' | 'host' | 'state' } {
  if (filter.vm) return { branches: [{ index: INDEX.vmName, own: [Prisma.sql`"vmName" = ${filter.vm}`] }], skip: 'vm' };
  if (filter.host) {
    return {
      skip: 'host',
      branches: [
        { index: INDEX.sourceAlias, own: [Prisma.sql`"sourceAlias" = ${filter.host}`] },
        // A row whose source is also this host was already read by the first walk.
        {
          index: INDEX.destinationAlias,
          own: [Prisma.sql`"destinationAlias" = ${filter.host}`, Prisma.sql`"sourceAlias" <> ${filter.host}`],
        },
      ],
    };
  }
  if (filter.states) {
    return {
      skip: 'state',
      branches: filter.states.map((state) => ({ index: INDEX.state, own: [Prisma.sql`"state" = ${state}`] })),
    };
  }
  return { branches: [{ index: INDEX.createdAt, own: [] }] };
}

export function buildHistoryPageSql(options: {
  filter: HistoryFilter;
  cursor: HistoryCursor | null;
  limit: number;
}): Prisma.Sql {
  const { branches, skip } = branchesFor(options.filter);
  const rest = historyConditions({ filter: options.filter, cursor: options.cursor, skip });
  const single = branches.length === 1 ? branches[0] : undefined;
  if (single)
    return Prisma.sql`SELECT ${COLUMNS} FROM ${from(single.index)} ${where([...single.own, ...rest])} ${ORDER} LIMIT ${options.limit}`;
  const parts = branches.map(
    (branch) =>
      Prisma.sql`SELECT * FROM (SELECT ${COLUMNS} FROM ${from(branch.index)} ${where([...branch.own, ...rest])} ${ORDER} LIMIT ${options.limit})`,
  );
  return Prisma.sql`${Prisma.join(parts, ' UNION ALL ')} ${ORDER} LIMIT ${options.limit}`;
}

function toNumber(value: bigint | number | null): number | null {
  return value === null ? null : Number(value);
}

export async function queryHistoryPage(options: {
  db: Db;
  filter: HistoryFilter;
  cursor?: string | null;
  limit?: number;
  /** Above HISTORY_PAGE_SIZE_MAX, for export batches. */
  batchSize?: number;
}): Promise<HistoryPage> {
  const limit =
    options.batchSize ??
    Math.min(Math.max(Math.trunc(options.limit ?? HISTORY_PAGE_SIZE_DEFAULT), 1), HISTORY_PAGE_SIZE_MAX);
  const cursor = options.cursor ? decodeHistoryCursor(options.cursor) : null;
  const raw = await options.db.$queryRaw<RawHistoryRow[]>(
    buildHistoryPageSql({ filter: options.filter, cursor, limit: limit + 1 }),
  );
  const rows = raw.map((row) => ({
    ...row,
    memoryBytes: toNumber(row.memoryBytes),
    diskBytes: toNumber(row.diskBytes),
    avgBandwidthBps: toNumber(row.avgBandwidthBps),
  }));
  const hasMore = rows.length > limit;
  const page = hasMore ? rows.slice(0, limit) : rows;
  const last = page.at(-1);
  return { rows: page, nextCursor: hasMore && last ? encodeHistoryCursor(last) : null };
}
