import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { runningMigrationRow } from '../testing/migration-row';
import { createTestDb, type TestDb } from '../testing/test-db';
import { createInProcessEventBus, type EventBus } from '../events/bus';
import { appendMigrationEvent, REPLAY_PAGE_SIZE, streamMigrationEvents, writePercent } from './events';
import { recordFinalState } from './final-state';
import type { MigrationEvent } from './types';

/** The live stream (subscribe → replay → stream) and the final-state writer, on real SQLite and the real bus. */

let testDb: TestDb;
let bus: EventBus;
let migrationId: string;

beforeEach(async () => {
  testDb ??= createTestDb();
  bus = createInProcessEventBus();
  await testDb.db.migrationEvent.deleteMany();
  await testDb.db.migration.deleteMany();
  migrationId = (await testDb.db.migration.create({ data: runningMigrationRow() })).id;
});

afterAll(async () => {
  await testDb.cleanup();
});

const append = (percent: number) =>
  appendMigrationEvent({ db: testDb.db, bus, migrationId, payload: { type: 'progress', percent, readAt: 0 } });

async function collect(stream: AsyncGenerator<MigrationEvent>, onEach?: (event: MigrationEvent) => Promise<void>) {
  const seen: MigrationEvent[] = [];
  for await (const event of stream) {
    seen.push(event);
    await onEach?.(event);
  }
  return seen;
}

const failed = {
  summary: {
    state: 'failed' as const,
    errorCode: 'interrupted',
    errorTitle: 'Interrupted',
    message: 'gone',
    nextStep: null,
    verification: ['hv1: running'],
  },
};

describe('appendMigrationEvent', () => {
  it('writes a job’s rows with one plain statement that Prisma reads back as its own, ids rising, then publishes them', async () => {
    const published: MigrationEvent[] = [];
    bus.subscribe(`migration:${migrationId}`, (event) => published.push(event));
    const before = Date.now();
    // A job's context passes its evacuation (none here), which takes the one-statement insert.
    const first = await appendMigrationEvent({
      db: testDb.db,
      bus,
      migrationId,
      evacuationId: null,
      payload: { type: 'progress', percent: 7, readAt: 1 },
    });
    const second = await appendMigrationEvent({
      db: testDb.db,
      bus,
      migrationId,
      payload: { type: 'state', state: 'running' },
    });
    expect(second.id).toBeGreaterThan(first.id);
    const rows = await testDb.db.migrationEvent.findMany({ where: { migrationId }, orderBy: { id: 'asc' } });
    expect(rows.map((row) => [row.id, row.type])).toEqual([
      [first.id, 'progress'],
      [second.id, 'state'],
    ]);
    expect(rows[0]?.at.toISOString()).toBe(first.at);
    expect(rows[0]?.at.getTime()).toBeGreaterThanOrEqual(before);
    expect(JSON.parse(rows[0]?.data ?? '')).toEqual({ type: 'progress', percent: 7, readAt: 1 });
    // Prisma's own filters on the time work on these rows (the text format is Prisma's).
    expect(await testDb.db.migrationEvent.count({ where: { at: { gte: new Date(before) } } })).toBe(2);
    expect(published.map((event) => event.id)).toEqual([first.id, second.id]);

    await writePercent(testDb.db, migrationId, 42);
    expect((await testDb.db.migration.findUniqueOrThrow({ where: { id: migrationId } })).percent).toBe(42);
  });
});

describe('streamMigrationEvents', () => {
  it('replays after the given id, streams what comes next without gaps or repeats, and ends at the final state', async () => {
    const first = await append(10);
    await append(20);
    const stream = streamMigrationEvents({ db: testDb.db, bus, migrationId, afterId: first.id });
    let written = false;
    const seen = await collect(stream, async () => {
      if (written) return;
      written = true;
      await append(30);
      await recordFinalState({ db: testDb.db, bus }, { migrationId, ending: failed });
    });
    const types = seen.map((e) => (e.type === 'progress' ? `progress ${e.percent}` : e.type));
    expect(types).toEqual(['progress 20', 'progress 30', 'result', 'state']);
    expect(seen.map((e) => e.id)).toEqual([...seen.map((e) => e.id)].sort((a, b) => a - b));
  });

  it('of a migration that already ended: replays and stops, without waiting for the bus', async () => {
    await append(50);
    await recordFinalState({ db: testDb.db, bus }, { migrationId, ending: failed });
    const seen = await collect(streamMigrationEvents({ db: testDb.db, bus, migrationId, afterId: 0 }));
    expect(seen.map((e) => e.type)).toEqual(['progress', 'result', 'state']);
  });

  it('replays a history longer than a page whole, in order, each event once, page after page', async () => {
    const count = 2 * REPLAY_PAGE_SIZE + 7;
    for (let index = 0; index < count; index++) await append(index % 100);
    await recordFinalState({ db: testDb.db, bus }, { migrationId, ending: failed });
    const seen = await collect(streamMigrationEvents({ db: testDb.db, bus, migrationId, afterId: 0 }));
    const ids = seen.map((e) => e.id);
    expect(seen.filter((e) => e.type === 'progress')).toHaveLength(count);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(seen.at(-1)?.type).toBe('state');
  });

  it('stops when the caller aborts', async () => {
    const controller = new AbortController();
    const stream = streamMigrationEvents({ db: testDb.db, bus, migrationId, afterId: 0, signal: controller.signal });
    const done = collect(stream);
    await append(5);
    controller.abort();
    await append(6);
    // The stream ended (else this await would hang the test) and took nothing published after the abort.
    const seen = await done;
    expect(seen.every((e) => e.type === 'progress' && e.percent === 5)).toBe(true);
  });
});

describe('recordFinalState', () => {
  it('closes an active row once, with its audit row and events; a second close changes nothing', async () => {
    expect(await recordFinalState({ db: testDb.db, bus }, { migrationId, ending: failed, actor: 'system' })).toBe(true);
    const succeeded = { summary: { ...failed.summary, state: 'succeeded' as const, errorCode: null } };
    expect(await recordFinalState({ db: testDb.db, bus }, { migrationId, ending: succeeded })).toBe(false);
    const row = await testDb.db.migration.findUniqueOrThrow({ where: { id: migrationId } });
    expect(row).toMatchObject({ state: 'failed', errorCode: 'interrupted', rawError: 'gone' });
    const audit = await testDb.db.auditEvent.findMany({ where: { migrationId } });
    expect(audit.map((a) => `${a.action}:${a.actor}:${a.result}`)).toEqual(['migration.failed:system:failed']);
    const events = await testDb.db.migrationEvent.findMany({ where: { migrationId }, orderBy: { id: 'asc' } });
    expect(events.map((e) => e.type)).toEqual(['result', 'state']);
  });
});
