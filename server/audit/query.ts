import { Prisma } from '@prisma/client';
import type { Db } from '../db';
import { UserError } from '../errors';
import { AUDIT_PAGE_SIZE_DEFAULT, AUDIT_PAGE_SIZE_MAX, type AuditFilter } from './filters';
import type { AuditHashFields } from './record';
import { toFtsMatchExpression } from './search-text';

/** One audit row as stored: the hashed columns plus the row id and its hash. */
export type AuditRow = AuditHashFields & { id: number; hash: string };

/** Position after which the next page starts: newest first, ties on `at` broken by id. */
export type AuditCursor = { at: Date; id: number };

export type AuditPage = { rows: AuditRow[]; nextCursor: string | null };

export function encodeAuditCursor(row: { at: Date; id: number }): string {
  return `${row.at.getTime()}.${row.id}`;
}

/** 9999-12-31T23:59:59.999Z: the last instant the database's DateTime column can hold. */
const LATEST_STORABLE_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export function decodeAuditCursor(text: string): AuditCursor {
  const match = /^(\d{1,15})\.(\d{1,15})$/.exec(text);
  if (!match || Number(match[1]) > LATEST_STORABLE_MS)
    throw new UserError({
      field: 'cursor',
      message: 'That page link is no longer valid; start again from the first page.',
    });
  return { at: new Date(Number(match[1])), id: Number(match[2]) };
}

const COLUMNS = Prisma.sql`"id", "at", "actor", "clientAddress", "action", "result", "hostAlias", "vmName", "migrationId", "details", "prevHash", "hash"`;
const ORDER = Prisma.sql`ORDER BY "at" DESC, "id" DESC`;

type EqualityColumn = 'vmName' | 'hostAlias' | 'actor' | 'action' | 'result';

/**
 * The index walks a page can be read from. Each index ends in `at` (and, implicitly, the rowid `id`), so a
 * walk with its leading columns fixed returns rows already in page order and stops after one page.
 * Listed most selective first (5 000 VMs, 200 hosts, 20 actors); that order breaks ties between estimates.
 */
const DRIVERS: { name: string; index: string; columns: EqualityColumn[] }[] = [
  { name: 'vm', index: 'AuditEvent_vmName_at_idx', columns: ['vmName'] },
  { name: 'host', index: 'AuditEvent_hostAlias_at_idx', columns: ['hostAlias'] },
  { name: 'action + result', index: 'AuditEvent_action_result_at_idx', columns: ['action', 'result'] },
  { name: 'actor', index: 'AuditEvent_actor_at_idx', columns: ['actor'] },
  { name: 'action', index: 'AuditEvent_action_at_idx', columns: ['action'] },
  { name: 'result', index: 'AuditEvent_result_at_idx', columns: ['result'] },
];

const AT_INDEX = 'AuditEvent_at_idx';

/**
 * Below this many details matches the search index drives the query: its matches are read once and looked
 * up by id. Above it the search is a membership test on an index walk.
 */
export const FTS_DRIVE_LIMIT = 2000;

/**
 * How far an estimate counts before it stops: enough to tell a 300-row VM from a 300 000-row actor, cheap
 * because it reads index entries only.
 */
export const ESTIMATE_CAP = 5000;

export type AuditQueryPlan =
  /** Walk `index`, once per value of `split` (several actions) and merge. */
  | { kind: 'index'; driver: string; index: string; columns: EqualityColumn[] }
  /** The few rows whose details match, by id. */
  | { kind: 'search'; ids: number[] };

function valuesOf(filter: AuditFilter, column: EqualityColumn): string[] | undefined {
  switch (column) {
    case 'vmName':
      return filter.vm ? [filter.vm] : undefined;
    case 'hostAlias':
      return filter.host ? [filter.host] : undefined;
    case 'actor':
      return filter.actor ? [filter.actor] : undefined;
    case 'action':
      return filter.actions;
    case 'result':
      return filter.result ? [filter.result] : undefined;
    default: {
      const unreachable: never = column;
      return unreachable;
    }
  }
}

function quoted(column: string): Prisma.Sql {
  return Prisma.raw(`"${column}"`);
}

function equality(column: EqualityColumn, values: string[]): Prisma.Sql {
  return values.length === 1
    ? Prisma.sql`${quoted(column)} = ${values[0]}`
    : Prisma.sql`${quoted(column)} IN (${Prisma.join(values)})`;
}

function matchExpression(filter: AuditFilter): string | null {
  if (filter.q === undefined) return null;
  const match = toFtsMatchExpression(filter.q);
  if (match === null) throw new UserError({ field: 'q', message: 'Search for words with letters or digits in them.' });
  return match;
}

function timeConditions(filter: AuditFilter): Prisma.Sql[] {
  const conditions: Prisma.Sql[] = [];
  if (filter.from) conditions.push(Prisma.sql`"at" >= ${filter.from}`);
  if (filter.to) conditions.push(Prisma.sql`"at" < ${filter.to}`);
  return conditions;
}

function where(conditions: Prisma.Sql[]): Prisma.Sql {
  return conditions.length === 0 ? Prisma.empty : Prisma.sql`WHERE ${Prisma.join(conditions, ' AND ')}`;
}

function usableDrivers(filter: AuditFilter) {
  const usable = DRIVERS.filter((driver) =>
    driver.columns.every((column) => (valuesOf(filter, column)?.length ?? 0) > 0),
  );
  // The action + result index never offers more rows than either column's own index: no need to count those.
  const hasPair = usable.some((driver) => driver.columns.length === 2);
  return hasPair
    ? usable.filter(
        (driver) => driver.columns.length === 2 || (driver.columns[0] !== 'action' && driver.columns[0] !== 'result'),
      )
    : usable;
}

/**
 * Chooses how a filter is read. SQLite has no statistics here and, left alone, may walk the `result` index
 * for "actor + action + result" and read most of the log; so Ferry counts, in index entries only and up to
 * ESTIMATE_CAP, how many rows each usable index would offer, and walks the smallest. Naming the index
 * (INDEXED BY) also turns a dropped index into an error instead of a silent full scan.
 * Exported for the EXPLAIN QUERY PLAN test and the bench.
 */
export async function planAuditQuery(options: { db: Db; filter: AuditFilter }): Promise<AuditQueryPlan> {
  const { db, filter } = options;
  const match = matchExpression(filter);
  if (match !== null) {
    const hits = await db.$queryRaw<{ id: number | bigint }[]>(
      Prisma.sql`SELECT "rowid" AS "id" FROM "AuditEventSearch" WHERE "AuditEventSearch" MATCH ${match} LIMIT ${FTS_DRIVE_LIMIT}`,
    );
    if (hits.length < FTS_DRIVE_LIMIT) return { kind: 'search', ids: hits.map((hit) => Number(hit.id)) };
  }

  const drivers = usableDrivers(filter);
  const first = drivers[0];
  if (!first) return { kind: 'index', driver: 'time', index: AT_INDEX, columns: [] };
  if (drivers.length === 1) return { kind: 'index', driver: first.name, index: first.index, columns: first.columns };

  let best = { driver: first, estimate: Number.POSITIVE_INFINITY };
  for (const driver of drivers) {
    const own = driver.columns.map((column) => equality(column, valuesOf(filter, column) ?? []));
    const rows = await db.$queryRaw<{ n: number | bigint }[]>(
      Prisma.sql`SELECT count(*) AS "n" FROM (SELECT 1 FROM "AuditEvent" INDEXED BY ${quoted(driver.index)} ${where([...own, ...timeConditions(filter)])} LIMIT ${ESTIMATE_CAP})`,
    );
    const estimate = Number(rows[0]?.n ?? 0);
    if (estimate < best.estimate) best = { driver, estimate };
  }
  return { kind: 'index', driver: best.driver.name, index: best.driver.index, columns: best.driver.columns };
}

/** The SQL of one page. Pure, so a test can EXPLAIN exactly what the page runs. */
export function buildAuditPageSql(options: {
  filter: AuditFilter;
  cursor: AuditCursor | null;
  limit: number;
  plan: AuditQueryPlan;
}): Prisma.Sql {
  const { filter, cursor, limit, plan } = options;
  const match = matchExpression(filter);
  const rest: Prisma.Sql[] = [...timeConditions(filter)];
  for (const column of ['vmName', 'hostAlias', 'actor', 'action', 'result'] as const) {
    const values = valuesOf(filter, column);
    if (values && values.length > 0 && !(plan.kind === 'index' && plan.columns.includes(column)))
      rest.push(equality(column, values));
  }
  if (cursor) {
    // `at <= c` is the range the index can seek to; the OR only sorts out rows that share c's timestamp.
    rest.push(Prisma.sql`"at" <= ${cursor.at} AND ("at" < ${cursor.at} OR "id" < ${cursor.id})`);
  }

  if (plan.kind === 'search') {
    // Under FTS_DRIVE_LIMIT ids, looked up by primary key and sorted. NOT INDEXED keeps SQLite from
    // walking an equality index instead and testing every row against the list.
    const ids = Prisma.sql`"id" IN (SELECT "value" FROM json_each(${JSON.stringify(plan.ids)}))`;
    return Prisma.sql`SELECT ${COLUMNS} FROM "AuditEvent" NOT INDEXED ${where([ids, ...rest])} ${ORDER} LIMIT ${limit}`;
  }

  if (match !== null) {
    // Common words: the walk tests each row against the search index's matches.
    rest.push(Prisma.sql`"id" IN (SELECT "rowid" FROM "AuditEventSearch" WHERE "AuditEventSearch" MATCH ${match})`);
  }
  const table = Prisma.sql`"AuditEvent" INDEXED BY ${quoted(plan.index)}`;
  const fixed = plan.columns
    .filter((column) => column !== 'action')
    .map((column) => equality(column, valuesOf(filter, column) ?? []));
  const actions = plan.columns.includes('action') ? (filter.actions ?? []) : [];

  if (actions.length <= 1) {
    const own = actions.length === 1 ? [equality('action', actions), ...fixed] : fixed;
    return Prisma.sql`SELECT ${COLUMNS} FROM ${table} ${where([...own, ...rest])} ${ORDER} LIMIT ${limit}`;
  }
  // Several actions on an action index: an IN list would lose the index order and sort every match, so
  // read each action's newest `limit` rows in order and merge them.
  const branches = actions.map(
    (action) =>
      Prisma.sql`SELECT * FROM (SELECT ${COLUMNS} FROM ${table} ${where([equality('action', [action]), ...fixed, ...rest])} ${ORDER} LIMIT ${limit})`,
  );
  return Prisma.sql`${Prisma.join(branches, ' UNION ALL ')} ${ORDER} LIMIT ${limit}`;
}

function clampLimit(limit: number | undefined): number {
  return Math.min(Math.max(Math.trunc(limit ?? AUDIT_PAGE_SIZE_DEFAULT), 1), AUDIT_PAGE_SIZE_MAX);
}

/** One page of audit rows, newest first, after `cursor` (keyset: no OFFSET, stable while rows are added). */
export async function queryAuditPage(options: {
  db: Db;
  filter: AuditFilter;
  cursor?: string | null;
  limit?: number;
  /** Export reads many pages of one filter; it plans once. */
  plan?: AuditQueryPlan;
  /** Above AUDIT_PAGE_SIZE_MAX, for export batches. */
  batchSize?: number;
}): Promise<AuditPage> {
  const limit = options.batchSize ?? clampLimit(options.limit);
  const cursor = options.cursor ? decodeAuditCursor(options.cursor) : null;
  const plan = options.plan ?? (await planAuditQuery({ db: options.db, filter: options.filter }));
  // One extra row tells whether there is a next page without a count over the whole filter.
  const rows = await options.db.$queryRaw<AuditRow[]>(
    buildAuditPageSql({ filter: options.filter, cursor, limit: limit + 1, plan }),
  );
  const hasMore = rows.length > limit;
  const page = hasMore ? rows.slice(0, limit) : rows;
  const last = page.at(-1);
  return { rows: page, nextCursor: hasMore && last ? encodeAuditCursor(last) : null };
}
