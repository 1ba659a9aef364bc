import { Prisma } from '@prisma/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../testing/test-db';
import { historyExportResponse } from './export';
import {
  historyFilterFromSearchParams,
  historyFilterSchema,
  historyFilterToSearchParams,
  MIGRATION_STATES,
  type HistoryFilterInput,
} from './filters';
import { buildHistoryPageSql, queryHistoryPage } from './query';
import { migrationStats } from './stats';

const DAY = 86_400_000;
const BASE = Date.UTC(2026, 5, 1, 0, 0, 0);
const HOSTS = ['hv1', 'hv2', 'hv3', 'hv4'];
const CAUSES = ['timeout', 'timeout', 'cpu-incompatible', null];

type Seeded = {
  id: string;
  vmName: string;
  sourceAlias: string;
  destinationAlias: string;
  state: string;
  createdAt: Date;
  durationMs: number | null;
  errorCode: string | null;
};

function newestFirst(rows: Seeded[]): Seeded[] {
  return [...rows].sort(
    (a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0),
  );
}

function oracle(rows: Seeded[], input: HistoryFilterInput): Seeded[] {
  const filter = historyFilterSchema.parse(input);
  return newestFirst(
    rows.filter(
      (row) =>
        (!filter.from || row.createdAt >= filter.from) &&
        (!filter.to || row.createdAt < filter.to) &&
        (!filter.vm || row.vmName === filter.vm) &&
        (!filter.host || row.sourceAlias === filter.host || row.destinationAlias === filter.host) &&
        (!filter.states || filter.states.includes(row.state as (typeof MIGRATION_STATES)[number])),
    ),
  );
}

const FILTERS: { name: string; filter: HistoryFilterInput }[] = [
  { name: 'no filter', filter: {} },
  { name: 'one state', filter: { states: ['failed'] } },
  { name: 'several states', filter: { states: ['failed', 'cancelled', 'running'] } },
  { name: 'host as source or destination', filter: { host: 'hv2' } },
  { name: 'vm', filter: { vm: 'vm-3' } },
  { name: 'time range', filter: { from: new Date(BASE + 3 * DAY), to: new Date(BASE + 9 * DAY) } },
  { name: 'host + state + time', filter: { host: 'hv1', states: ['succeeded'], from: new Date(BASE + 2 * DAY) } },
  { name: 'vm + several states', filter: { vm: 'vm-1', states: ['succeeded', 'failed'] } },
];

describe('migration history', () => {
  let t: TestDb;
  const seeded: Seeded[] = [];

  beforeAll(async () => {
    t = createTestDb();
    for (let i = 0; i < 48; i++) {
      const state =
        (['succeeded', 'succeeded', 'failed', 'cancelled', 'succeeded', 'running'] as const)[i % 6] ?? 'succeeded';
      const source = HOSTS[i % 4] ?? 'hv1';
      const destination = HOSTS[(i + 1 + (i % 3)) % 4] ?? 'hv2';
      // Pairs share a timestamp so ties break on id.
      const createdAt = new Date(BASE + Math.floor(i / 2) * (DAY / 2) + 3_600_000);
      const durationMs = state === 'succeeded' ? ([5_000, 20_000, 45_000, 90_000, 400_000][i % 5] ?? 5_000) : null;
      const errorCode = state === 'failed' ? (CAUSES[i % 4] ?? null) : null;
      const row = await t.db.migration.create({
        data: {
          vmName: `vm-${i % 5}`,
          sourceAlias: source,
          sourceUri: `qemu+ssh://root@${source}/system?keyfile=/secret/id_ed25519`,
          destinationAlias: destination,
          destinationUri: `qemu+ssh://root@${destination}/system`,
          options: '{}',
          actor: 'alice',
          state,
          createdAt,
          startedAt: createdAt,
          durationMs,
          memoryBytes: BigInt(4 * 2 ** 30),
          errorCode,
          errorMessage: errorCode ? `failed because ${errorCode}` : null,
        },
      });
      seeded.push({
        id: row.id,
        vmName: row.vmName,
        sourceAlias: source,
        destinationAlias: destination,
        state,
        createdAt,
        durationMs,
        errorCode,
      });
    }
  });
  afterAll(() => t.cleanup());

  it.each(FILTERS)(
    '$name: walking every page yields each matching migration once, newest first',
    async ({ filter }) => {
      const expected = oracle(seeded, filter).map((row) => row.id);
      expect(expected.length).toBeGreaterThan(0);
      const ids: string[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 50; pages++) {
        const page = await queryHistoryPage({ db: t.db, filter: historyFilterSchema.parse(filter), cursor, limit: 4 });
        ids.push(...page.rows.map((row) => row.id));
        cursor = page.nextCursor;
        if (!cursor) break;
      }
      expect(ids).toEqual(expected);
    },
  );

  it('keeps its place while new migrations arrive', async () => {
    const first = await queryHistoryPage({ db: t.db, filter: {}, limit: 5 });
    await t.db.migration.create({
      data: {
        vmName: 'vm-new',
        sourceAlias: 'hv1',
        sourceUri: 'x',
        destinationAlias: 'hv2',
        destinationUri: 'y',
        options: '{}',
        actor: 'bob',
        createdAt: new Date(BASE + 100 * DAY),
      },
    });
    const second = await queryHistoryPage({ db: t.db, filter: {}, limit: 5, cursor: first.nextCursor });
    expect(second.rows.map((row) => row.id)).toEqual(
      newestFirst(seeded)
        .slice(5, 10)
        .map((row) => row.id),
    );
    await t.db.migration.deleteMany({ where: { vmName: 'vm-new' } });
  });

  it("never sends the hosts' URIs (they may name key files)", async () => {
    const page = await queryHistoryPage({ db: t.db, filter: {}, limit: 3 });
    for (const row of page.rows) expect(Object.keys(row)).not.toContain('sourceUri');
  });

  it('survives the URL', () => {
    for (const { filter } of FILTERS) {
      const params = new URLSearchParams(historyFilterToSearchParams(filter).toString());
      expect(historyFilterSchema.parse(historyFilterFromSearchParams(params))).toEqual(
        historyFilterSchema.parse(filter),
      );
    }
    expect(
      historyFilterSchema.safeParse(historyFilterFromSearchParams(new URLSearchParams('state=exploded'))).success,
    ).toBe(false);
  });

  it.each(FILTERS)(
    '$name: EXPLAIN shows index walks only, never a full scan or a sort of every match',
    async ({ filter }) => {
      const parsed = historyFilterSchema.parse(filter);
      for (const cursor of [null, { createdAt: new Date(BASE + 5 * DAY), id: 'cz' }]) {
        const lines = (
          await t.db.$queryRaw<{ detail: string }[]>(
            Prisma.sql`EXPLAIN QUERY PLAN ${buildHistoryPageSql({ filter: parsed, cursor, limit: 51 })}`,
          )
        ).map((line) => line.detail);
        const reads = lines.filter((line) => /^(SEARCH|SCAN) Migration\b/.test(line));
        expect(reads.length).toBeGreaterThan(0);
        for (const read of reads) expect(read).toMatch(/USING INDEX Migration_\w+_idx/);
        // Ties on createdAt are sorted by id ("LAST TERM"); a walk never sorts all its rows.
        const walks = reads.length;
        if (walks === 1)
          expect(lines.filter((line) => line.includes('TEMP B-TREE') && !line.includes('LAST TERM'))).toEqual([]);
      }
    },
  );

  it('charts count per UTC day by outcome, durations of successes, and failure causes, for the filter', async () => {
    const filter = historyFilterSchema.parse({ from: new Date(BASE), to: new Date(BASE + 30 * DAY) });
    const stats = await migrationStats({ db: t.db, filter });
    const inWindow = oracle(seeded, { from: new Date(BASE), to: new Date(BASE + 30 * DAY) });
    expect(stats.perDay).toHaveLength(30);
    expect(stats.totals).toEqual({
      succeeded: inWindow.filter((row) => row.state === 'succeeded').length,
      failed: inWindow.filter((row) => row.state === 'failed').length,
      cancelled: inWindow.filter((row) => row.state === 'cancelled').length,
      unknown: inWindow.filter((row) => row.state === 'unknown').length,
      other: inWindow.filter((row) => row.state === 'running').length,
    });
    const day0 = stats.perDay[0];
    const onDay0 = inWindow.filter((row) => row.createdAt.toISOString().startsWith('2026-06-01'));
    expect((day0?.succeeded ?? 0) + (day0?.failed ?? 0) + (day0?.cancelled ?? 0) + (day0?.other ?? 0)).toBe(
      onDay0.length,
    );
    expect(stats.durations.map((bucket) => bucket.count)).toEqual([
      inWindow.filter((row) => row.durationMs !== null && row.durationMs < 10_000).length,
      inWindow.filter((row) => row.durationMs !== null && row.durationMs >= 10_000 && row.durationMs < 30_000).length,
      inWindow.filter((row) => row.durationMs !== null && row.durationMs >= 30_000 && row.durationMs < 60_000).length,
      inWindow.filter((row) => row.durationMs !== null && row.durationMs >= 60_000 && row.durationMs < 120_000).length,
      0,
      inWindow.filter((row) => row.durationMs !== null && row.durationMs >= 300_000 && row.durationMs < 600_000).length,
      0,
      0,
    ]);
    const failed = inWindow.filter((row) => row.state === 'failed');
    const counts = new Map<string, number>();
    for (const row of failed) counts.set(row.errorCode ?? 'unknown', (counts.get(row.errorCode ?? 'unknown') ?? 0) + 1);
    // Most frequent first, ties by name.
    const expected = [...counts.entries()]
      .sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]))
      .map(([errorCode, count]) => ({
        errorCode,
        count,
        example: errorCode === 'unknown' ? null : `failed because ${errorCode}`,
      }));
    expect(expected.length).toBeGreaterThan(1);
    expect(stats.failureCauses).toEqual(expected);
  });

  it('charts default to the last 90 days when the filter has no time range, and follow a host filter', async () => {
    const stats = await migrationStats({
      db: t.db,
      filter: historyFilterSchema.parse({ host: 'hv3' }),
      now: new Date(BASE + 40 * DAY),
    });
    expect(stats.window.isDefault).toBe(true);
    expect(stats.perDay.length).toBeGreaterThanOrEqual(90);
    const hv3 = oracle(seeded, { host: 'hv3' });
    expect(stats.totals.succeeded + stats.totals.failed + stats.totals.cancelled + stats.totals.other).toBe(hv3.length);
  });

  it('exports the filter as CSV without URIs', async () => {
    const response = await historyExportResponse({
      db: t.db,
      url: new URL('http://ferry.test/api/migrations/export?format=csv&state=failed'),
      actor: 'tester',
      clientAddress: null,
    });
    const text = await response.text();
    const lines = text.trimEnd().split('\r\n');
    expect(lines[0]).toBe(
      'id,vmName,sourceAlias,destinationAlias,state,actor,createdAt,startedAt,endedAt,durationMs,memoryBytes,diskBytes,avgBandwidthBps,downtimeMs,errorCode,errorMessage',
    );
    expect(lines.slice(1).map((line) => line.split(',')[0])).toEqual(
      oracle(seeded, { states: ['failed'] }).map((row) => row.id),
    );
    expect(text).not.toContain('keyfile');
    expect(lines[1]).toContain(String(4 * 2 ** 30));
  });
});
