import { Prisma } from '@prisma/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../errors';
import {
  auditFilterFromSearchParams,
  auditFilterSchema,
  auditFilterToSearchParams,
  type AuditFilterInput,
} from './filters';
import { buildAuditPageSql, FTS_DRIVE_LIMIT, planAuditQuery, queryAuditPage, type AuditQueryPlan } from './query';
import { computeAuditHash, recordAudit } from './record';
import { toSqliteTimestamp } from './sqlite-file';
import { createTestDb, type TestDb } from '../testing/test-db';

type Row = Awaited<ReturnType<TestDb['db']['auditEvent']['findMany']>>[number];

const BASE = Date.UTC(2026, 0, 1, 8, 0, 0);
const MINUTE = 60_000;
const ACTORS = ['alice', 'bob', 'system'];
const ACTIONS = ['host.add', 'host.edit', 'migration.start', 'migration.failed', 'migration.preflight'];
const HOSTS = ['hv1', 'hv2', 'hv3', null];
const VMS = ['vm-1', 'vm-2', null];
const RESULTS = ['ok', 'refused', 'failed'] as const;
const PHRASES = [
  'Permission denied (publickey)',
  'CPU lacks avx512f',
  'moved vm-42 to hv3',
  'nothing special',
  'Connection refused',
];

/** Newest first, ties on `at` broken by the higher id: what every page query must return. */
function newestFirst(rows: Row[]): Row[] {
  return [...rows].sort((a, b) => b.at.getTime() - a.at.getTime() || b.id - a.id);
}

function tokens(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

/** The values in a details JSON (not its keys), which is what the search indexes. */
function jsonValues(value: unknown): string[] {
  if (value === null) return [];
  if (Array.isArray(value)) return value.flatMap(jsonValues);
  if (typeof value === 'object') return Object.values(value).flatMap(jsonValues);
  return [String(value)];
}

/** An independent reading of "every word appears (a phrase for vm-42), the last word as a prefix". */
function matchesWords(details: string, q: string): boolean {
  const haystack = tokens(jsonValues(JSON.parse(details)).join(' '));
  const phrases = q
    .split(/\s+/)
    .map(tokens)
    .filter((phrase) => phrase.length > 0);
  return phrases.every((phrase, p) =>
    haystack.some((_, start) =>
      phrase.every((word, i) =>
        p === phrases.length - 1 && i === phrase.length - 1 && word.length >= 3
          ? haystack[start + i]?.startsWith(word)
          : haystack[start + i] === word,
      ),
    ),
  );
}

function oracle(rows: Row[], input: AuditFilterInput): Row[] {
  const filter = auditFilterSchema.parse(input);
  return newestFirst(
    rows.filter(
      (row) =>
        (!filter.from || row.at >= filter.from) &&
        (!filter.to || row.at < filter.to) &&
        (!filter.actor || row.actor === filter.actor) &&
        (!filter.actions || filter.actions.includes(row.action)) &&
        (!filter.host || row.hostAlias === filter.host) &&
        (!filter.vm || row.vmName === filter.vm) &&
        (!filter.result || row.result === filter.result) &&
        (!filter.q || matchesWords(row.details, filter.q)),
    ),
  );
}

async function readAllPages(t: TestDb, input: AuditFilterInput, limit: number): Promise<number[]> {
  const filter = auditFilterSchema.parse(input);
  const ids: number[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 100; pages++) {
    const page = await queryAuditPage({ db: t.db, filter, cursor, limit });
    ids.push(...page.rows.map((row) => row.id));
    if (!page.nextCursor) return ids;
    cursor = page.nextCursor;
  }
  throw new Error('pagination did not end');
}

const FILTERS: { name: string; filter: AuditFilterInput }[] = [
  { name: 'no filter', filter: {} },
  { name: 'from', filter: { from: new Date(BASE + 20 * MINUTE) } },
  { name: 'to', filter: { to: new Date(BASE + 20 * MINUTE) } },
  { name: 'time range', filter: { from: new Date(BASE + 10 * MINUTE), to: new Date(BASE + 40 * MINUTE) } },
  { name: 'actor', filter: { actor: 'bob' } },
  { name: 'one action', filter: { actions: ['host.edit'] } },
  { name: 'several actions', filter: { actions: ['host.add', 'migration.failed', 'migration.start'] } },
  { name: 'host', filter: { host: 'hv2' } },
  { name: 'vm', filter: { vm: 'vm-1' } },
  { name: 'result', filter: { result: 'refused' } },
  { name: 'details words', filter: { q: 'permission den' } },
  { name: 'details phrase with punctuation', filter: { q: 'vm-42' } },
  {
    name: 'actor + several actions + result',
    filter: { actor: 'alice', actions: ['host.add', 'host.edit', 'migration.failed'], result: 'ok' },
  },
  {
    name: 'host + action + time range',
    filter: { host: 'hv1', actions: ['migration.start'], from: new Date(BASE), to: new Date(BASE + 50 * MINUTE) },
  },
  { name: 'vm + words + result', filter: { vm: 'vm-2', q: 'refused', result: 'failed' } },
  {
    name: 'six filters at once',
    filter: {
      actor: 'system',
      actions: ['host.add', 'host.edit'],
      host: 'hv1',
      result: 'refused',
      q: 'permission',
      from: new Date(BASE),
    },
  },
];

describe('audit queries', () => {
  let t: TestDb;
  let all: Row[];

  beforeAll(async () => {
    t = createTestDb();
    for (let i = 0; i < 60; i++) {
      // Rows 10-12 share one timestamp (ties break on id); row 30 is recorded with an earlier time than row 29.
      const minute = i >= 10 && i <= 12 ? 10 : i === 30 ? 28.5 : i;
      await t.db.$transaction((tx) =>
        recordAudit(tx, {
          actor: ACTORS[i % 3] as string,
          clientAddress: `10.0.0.${i % 4}`,
          action: ACTIONS[i % 5] as string,
          result: RESULTS[(i >> 1) % 3],
          hostAlias: HOSTS[i % 4],
          vmName: VMS[(i >> 2) % 3],
          details: { message: PHRASES[i % 5], n: i },
          at: new Date(BASE + minute * MINUTE),
        }),
      );
    }
    all = await t.db.auditEvent.findMany();
  });
  afterAll(() => t.cleanup());

  it.each(FILTERS)('$name: the first page is the newest matching rows', async ({ filter }) => {
    const expected = oracle(all, filter);
    expect(expected.length).toBeGreaterThan(0);
    const page = await queryAuditPage({ db: t.db, filter: auditFilterSchema.parse(filter), limit: 5 });
    expect(page.rows.map((row) => row.id)).toEqual(expected.slice(0, 5).map((row) => row.id));
    expect(page.nextCursor === null).toBe(expected.length <= 5);
  });

  it.each(FILTERS)('$name: walking every page yields each matching row once, in order', async ({ filter }) => {
    expect(await readAllPages(t, filter, 3)).toEqual(oracle(all, filter).map((row) => row.id));
  });

  it('searches the values in details, not the field names', async () => {
    const byKey = await queryAuditPage({ db: t.db, filter: auditFilterSchema.parse({ q: 'message' }) });
    expect(byKey.rows).toEqual([]);
    const byValue = await readAllPages(t, { q: 'special' }, 100);
    expect(byValue).toEqual(oracle(all, { q: 'special' }).map((row) => row.id));
    expect(byValue).toHaveLength(12);
  });

  it('orders by time, not by id: a row recorded with an earlier time sorts below a later one', async () => {
    const ids = await readAllPages(t, {}, 100);
    expect(ids.indexOf(31)).toBeGreaterThan(ids.indexOf(30));
    // Three rows share one timestamp: the newest id comes first.
    expect(ids.slice(ids.indexOf(13), ids.indexOf(13) + 3)).toEqual([13, 12, 11]);
  });

  it('survives the URL: a filter written to search params and read back selects the same rows', async () => {
    for (const { filter } of FILTERS) {
      const params = new URLSearchParams(auditFilterToSearchParams(filter).toString());
      expect(auditFilterSchema.parse(auditFilterFromSearchParams(params))).toEqual(auditFilterSchema.parse(filter));
    }
  });

  it('refuses a malformed cursor and a search with nothing to search for, naming the field', async () => {
    await expect(queryAuditPage({ db: t.db, filter: {}, cursor: 'OFFSET 10' })).rejects.toMatchObject({
      field: 'cursor',
    });
    await expect(queryAuditPage({ db: t.db, filter: auditFilterSchema.parse({ q: '-- ()' }) })).rejects.toBeInstanceOf(
      UserError,
    );
  });

  it('rejects a time range that ends before it starts', () => {
    expect(auditFilterSchema.safeParse({ from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' }).success).toBe(
      false,
    );
  });
});

describe('cursor stability while rows are added', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = createTestDb();
    for (let i = 0; i < 9; i++) {
      await t.db.$transaction((tx) =>
        recordAudit(tx, { actor: 'alice', action: 'host.edit', details: { i }, at: new Date(BASE + i * MINUTE) }),
      );
    }
  });
  afterAll(() => t.cleanup());

  it('the next page continues where the first ended, whatever arrived in between', async () => {
    const first = await queryAuditPage({ db: t.db, filter: {}, limit: 3 });
    expect(first.rows.map((row) => row.id)).toEqual([9, 8, 7]);

    // New activity: later rows, and one recorded with exactly the cursor row's timestamp (it is newer by id,
    // so it belongs before the cursor and must not appear on page two).
    const cursorRow = first.rows[2] as { at: Date };
    await t.db.$transaction((tx) =>
      recordAudit(tx, { actor: 'bob', action: 'host.add', details: {}, at: new Date(BASE + 60 * MINUTE) }),
    );
    await t.db.$transaction((tx) =>
      recordAudit(tx, { actor: 'bob', action: 'host.add', details: {}, at: cursorRow.at }),
    );
    await t.db.$transaction((tx) => recordAudit(tx, { actor: 'bob', action: 'host.add', details: {} }));

    const second = await queryAuditPage({ db: t.db, filter: {}, limit: 3, cursor: first.nextCursor });
    expect(second.rows.map((row) => row.id)).toEqual([6, 5, 4]);
    const third = await queryAuditPage({ db: t.db, filter: {}, limit: 3, cursor: second.nextCursor });
    expect(third.rows.map((row) => row.id)).toEqual([3, 2, 1]);
    expect(third.nextCursor).toBeNull();

    // A fresh read sees the new rows where their time puts them: 12 (now), 10 (an hour in), and 11 just above
    // the row whose timestamp it shares.
    const fresh = await queryAuditPage({ db: t.db, filter: {}, limit: 20 });
    expect(fresh.rows.map((row) => row.id)).toEqual([12, 10, 9, 8, 11, 7, 6, 5, 4, 3, 2, 1]);
  });
});

type PlanLine = { detail: string };

async function explain(t: TestDb, sql: Prisma.Sql): Promise<string[]> {
  const lines = await t.db.$queryRaw<PlanLine[]>(Prisma.sql`EXPLAIN QUERY PLAN ${sql}`);
  return lines.map((line) => line.detail);
}

/** A full table scan reads the table without an index: "SCAN AuditEvent" with nothing after it. */
const FULL_SCAN = /^SCAN AuditEvent$/;

describe('EXPLAIN QUERY PLAN of every filter', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = createTestDb();
    // Enough rows containing "common" that the search index stops driving (FTS_DRIVE_LIMIT), written in one
    // transaction straight through SQLite with a correct chain (recordAudit one by one would take seconds).
    const insert = t.raw.prepare(
      `INSERT INTO "AuditEvent" ("at", "actor", "action", "result", "hostAlias", "vmName", "details", "prevHash", "hash") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    t.raw.transaction(() => {
      let prevHash = '';
      for (let i = 0; i <= FTS_DRIVE_LIMIT; i++) {
        const row = {
          at: new Date(BASE + i * MINUTE),
          actor: ACTORS[i % 3] as string,
          clientAddress: null,
          action: ACTIONS[i % 5] as string,
          result: 'ok',
          hostAlias: HOSTS[i % 4] ?? null,
          vmName: VMS[i % 3] ?? null,
          migrationId: null,
          details: JSON.stringify({ message: `a common word ${i % 7 === 0 ? 'rareword' : ''}` }),
          prevHash,
        };
        const hash = computeAuditHash(row);
        insert.run(
          toSqliteTimestamp(row.at),
          row.actor,
          row.action,
          row.result,
          row.hostAlias,
          row.vmName,
          row.details,
          prevHash,
          hash,
        );
        prevHash = hash;
      }
    })();
  });
  afterAll(() => t.cleanup());

  const cursor = { at: new Date(BASE + 1000 * MINUTE), id: 1000 };
  const cases: { name: string; filter: AuditFilterInput; expect: AuditQueryPlan['kind'] }[] = [
    ...FILTERS.map((entry) => ({ ...entry, expect: (entry.filter.q ? 'search' : 'index') as AuditQueryPlan['kind'] })),
    { name: 'a word in over FTS_DRIVE_LIMIT rows', filter: { q: 'common' }, expect: 'index' },
    { name: 'a common word and a host', filter: { q: 'common', host: 'hv1' }, expect: 'index' },
  ];

  it('walks the index that offers the fewest rows, not a fixed favourite', async () => {
    // 2 001 rows: each actor has 667, each action 400, every result is "ok".
    const plan = async (filter: AuditFilterInput) =>
      planAuditQuery({ db: t.db, filter: auditFilterSchema.parse(filter) });
    expect(await plan({ actor: 'alice', result: 'ok' })).toMatchObject({ kind: 'index', driver: 'actor' });
    expect(await plan({ actor: 'alice', actions: ['host.add'], result: 'ok' })).toMatchObject({
      kind: 'index',
      driver: 'action + result',
    });
    expect(await plan({ actions: ['host.add'], vm: 'vm-1' })).toMatchObject({ kind: 'index', driver: 'action' });
  });

  it.each(cases)(
    '$name: reads through an index, never a full scan or a sort of all matches',
    async ({ filter, expect: kind }) => {
      const parsed = auditFilterSchema.parse(filter);
      const plan = await planAuditQuery({ db: t.db, filter: parsed });
      expect(plan.kind).toBe(kind);
      for (const page of [null, cursor]) {
        const lines = await explain(t, buildAuditPageSql({ filter: parsed, cursor: page, limit: 51, plan }));
        expect(lines.filter((line) => FULL_SCAN.test(line))).toEqual([]);
        const reads = lines.filter((line) => /^(SEARCH|SCAN) AuditEvent\b/.test(line));
        expect(reads.length).toBeGreaterThan(0);
        if (plan.kind === 'index') {
          // Every walk uses the chosen index, in its order, so the page stops after `limit` rows.
          for (const read of reads) expect(read).toContain(`USING INDEX ${plan.index}`);
          const branches = lines.filter(
            (line) => line.startsWith('SEARCH AuditEvent') || line.startsWith('SCAN AuditEvent'),
          ).length;
          // One walk: no sort at all. Several (one per action): only the merge of their `limit`-row heads.
          if (branches === 1) expect(lines.some((line) => line.includes('TEMP B-TREE'))).toBe(false);
          if (plan.columns.length > 0) expect(reads.every((read) => read.startsWith('SEARCH'))).toBe(true);
        } else {
          // The few matching ids (found by the search index while planning), looked up by primary key.
          expect(reads).toEqual(['SEARCH AuditEvent USING INTEGER PRIMARY KEY (rowid=?)']);
          expect(lines.some((line) => line.includes('json_each'))).toBe(true);
        }
      }
    },
  );
});
