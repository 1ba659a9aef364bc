import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createInProcessEventBus, type EventBus } from '../events/bus';
import { appendMigrationEvent } from '../migrations/events';
import type { MigrationEvent, MigrationEventPayload } from '../migrations/types';
import { runningMigrationRow } from '../testing/migration-row';
import { createTestDb, type TestDb } from '../testing/test-db';
import { streamEvacuationEvents } from './events';

/** An evacuation's one stream for all its jobs, on real SQLite and the real bus. */

let testDb: TestDb;
let bus: EventBus;
let evacuationId: string;
let jobA: string;
let jobB: string;
let single: string;

const job = (vmName: string, evacuation: string | null) =>
  testDb.db.migration.create({ data: runningMigrationRow({ vmName, evacuationId: evacuation }) });

beforeEach(async () => {
  testDb ??= createTestDb();
  bus = createInProcessEventBus();
  await testDb.db.migrationEvent.deleteMany();
  await testDb.db.migration.deleteMany();
  await testDb.db.evacuation.deleteMany();
  evacuationId = (
    await testDb.db.evacuation.create({
      data: { kind: 'evacuate', hostId: 'h1', hostAlias: 'hv1', actor: 'bob', options: '{}' },
    })
  ).id;
  jobA = (await job('vm-a', evacuationId)).id;
  jobB = (await job('vm-b', evacuationId)).id;
  // A single migration running at the same time: its events are not the evacuation's.
  single = (await job('vm-single', null)).id;
});

afterAll(async () => {
  await testDb.cleanup();
});

const append = (migrationId: string, payload: MigrationEventPayload) =>
  appendMigrationEvent({ db: testDb.db, bus, migrationId, payload });
const progress = (migrationId: string, percent: number) =>
  append(migrationId, { type: 'progress', percent, readAt: percent });

const summary = (events: MigrationEvent[]) =>
  events.map((event) => {
    const who = event.migrationId === jobA ? 'A' : event.migrationId === jobB ? 'B' : 'single';
    return `${who} ${event.type === 'progress' ? event.percent : event.type === 'state' ? event.state : event.type}`;
  });

/** Reads the stream until `count` events came, then stops it as the page does (abort). */
async function take(afterId: number, count: number, whileOpen?: () => Promise<void>) {
  const controller = new AbortController();
  const seen: MigrationEvent[] = [];
  const stream = streamEvacuationEvents({ db: testDb.db, bus, evacuationId, afterId, signal: controller.signal });
  const reading = (async () => {
    for await (const event of stream) {
      seen.push(event);
      if (seen.length === count) controller.abort();
    }
  })();
  await whileOpen?.();
  await reading;
  return seen;
}

describe('streamEvacuationEvents', () => {
  it('replays the states and progress of every job of the evacuation, in id order, and nothing else', async () => {
    await append(jobA, { type: 'state', state: 'running' });
    await progress(jobA, 10);
    await append(jobA, { type: 'log', stream: 'stdout', text: 'Migration: [ 10 %]' });
    await progress(single, 50);
    await progress(jobB, 5);
    await progress(jobA, 20);
    expect(summary(await take(0, 4))).toEqual(['A running', 'A 10', 'B 5', 'A 20']);
  });

  it('follows the jobs live after the replay, and a resumed stream starts after its Last-Event-ID', async () => {
    const first = await progress(jobA, 10);
    const seen = await take(0, 4, async () => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      await progress(jobB, 30);
      await progress(single, 99);
      await progress(jobA, 40);
      await append(jobB, { type: 'state', state: 'succeeded' });
    });
    expect(summary(seen)).toEqual(['A 10', 'B 30', 'A 40', 'B succeeded']);
    expect(summary(await take(first.id, 3))).toEqual(['B 30', 'A 40', 'B succeeded']);
  });

  it('delivers two jobs’ events published out of id order, and each only once', async () => {
    // What two jobs appending at once can do: the later row is published first. The replay has neither.
    const controller = new AbortController();
    const seen: MigrationEvent[] = [];
    const stream = streamEvacuationEvents({ db: testDb.db, bus, evacuationId, afterId: 0, signal: controller.signal });
    const reading = (async () => {
      for await (const event of stream) {
        seen.push(event);
        if (seen.length === 2) controller.abort();
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const base = { at: new Date(0).toISOString(), type: 'progress' as const, readAt: 0 };
    bus.publish(`evacuation-events:${evacuationId}`, { ...base, id: 1002, migrationId: jobB, percent: 7 });
    bus.publish(`evacuation-events:${evacuationId}`, { ...base, id: 1002, migrationId: jobB, percent: 7 });
    bus.publish(`evacuation-events:${evacuationId}`, { ...base, id: 1001, migrationId: jobA, percent: 3 });
    await reading;
    expect(summary(seen)).toEqual(['B 7', 'A 3']);
  });

  it('ends after the replay when the evacuation is over, and at once for one that does not exist', async () => {
    await progress(jobA, 100);
    await testDb.db.evacuation.update({ where: { id: evacuationId }, data: { state: 'finished' } });
    const events: MigrationEvent[] = [];
    for await (const event of streamEvacuationEvents({ db: testDb.db, bus, evacuationId, afterId: 0 }))
      events.push(event);
    expect(summary(events)).toEqual(['A 100']);

    const none: MigrationEvent[] = [];
    for await (const event of streamEvacuationEvents({ db: testDb.db, bus, evacuationId: 'nope', afterId: 0 }))
      none.push(event);
    expect(none).toEqual([]);
  });

  it('publishes on the evacuation channel the job context names, as when the row is read with the insert', async () => {
    const published: string[] = [];
    const unsubscribe = bus.subscribe(`evacuation-events:${evacuationId}`, (event) =>
      published.push(summary([event as MigrationEvent])[0]!),
    );
    try {
      // How a running job writes (its context read the row's evacuation once) ...
      const write = (migrationId: string, evacuation: string | null, percent: number) =>
        appendMigrationEvent({
          db: testDb.db,
          bus,
          migrationId,
          evacuationId: evacuation,
          payload: progressOf(percent),
        });
      await write(jobA, evacuationId, 1);
      await write(single, null, 2);
      // ... and how every other writer does (the evacuation read with the insert).
      await progress(jobB, 3);
      await progress(single, 4);
    } finally {
      unsubscribe();
    }
    expect(published).toEqual(['A 1', 'B 3']);
    // Stored the same way either way: the replay has them too.
    expect(summary(await take(0, 2))).toEqual(['A 1', 'B 3']);
  });
});

function progressOf(percent: number): MigrationEventPayload {
  return { type: 'progress', percent, readAt: percent };
}
