import { z } from 'zod';
import type { Db } from '../db';
import type { EventBus } from '../events/bus';
import { replayThenStream } from '../events/stream';
import { logMigrationState } from '../observability/logger';
import {
  evacuationEventsChannel,
  isFinalState,
  MIGRATIONS_CHANNEL,
  migrationChannel,
  type MigrationEvent,
  type MigrationEventPayload,
} from './types';

/**
 * Persists first, then publishes: a subscriber that reconnects replays from the table, so an event the bus
 * delivered is always also in the database (and carries the row id the browser resumes from).
 */
export async function appendMigrationEvent(options: {
  db: Db;
  bus: EventBus;
  migrationId: string;
  payload: MigrationEventPayload;
  /**
   * The job's evacuation (null: none), when the caller knows it: a job's events are written one after another
   * while it runs, and the row's evacuation never changes, so its context reads it once. Left out, it is read
   * with the insert.
   */
  evacuationId?: string | null;
}): Promise<MigrationEvent> {
  const data = { migrationId: options.migrationId, type: options.payload.type, data: JSON.stringify(options.payload) };
  let row: { id: number; migrationId: string; at: Date; data: string };
  let evacuationId: string | null;
  if (options.evacuationId !== undefined) {
    row = { ...data, ...(await insertEventRow(options.db, data)) };
    evacuationId = options.evacuationId;
  } else {
    const { migration, ...created } = await options.db.migrationEvent.create({
      data,
      include: { migration: { select: { evacuationId: true } } },
    });
    row = created;
    evacuationId = migration.evacuationId;
  }
  const event = toEvent(row);
  if (options.payload.type === 'state') {
    // Every state change of every job is appended here (and only here), so this is its one log line.
    logMigrationState({
      migrationId: options.migrationId,
      state: options.payload.state,
      message: options.payload.message,
    });
  }
  options.bus.publish(migrationChannel(options.migrationId), event);
  if (evacuationId !== null) options.bus.publish(evacuationEventsChannel(evacuationId), event);
  if (options.payload.type === 'state' || options.payload.type === 'result') {
    options.bus.publish(MIGRATIONS_CHANNEL, { migrationId: options.migrationId, type: options.payload.type });
  }
  return event;
}

/**
 * One event row, as `migrationEvent.create` writes it (same columns, the time as Prisma stores it), in one portable
 * statement (SQLite ≥ 3.35 and PostgreSQL both have RETURNING). A running job appends a row for every percent and
 * every job sample, and Prisma's query compiler costs as much as the insert: this takes about half the time of
 * `create` (`npm run bench -- db`).
 */
export async function insertEventRow(
  db: Db,
  data: { migrationId: string; type: string; data: string },
): Promise<{ id: number; at: Date }> {
  const at = new Date();
  const rows = await db.$queryRaw<{ id: number | bigint }[]>`
    INSERT INTO "MigrationEvent" ("migrationId", "type", "data", "at")
    VALUES (${data.migrationId}, ${data.type}, ${data.data}, ${at})
    RETURNING "id"`;
  const [row] = rows;
  if (row === undefined) throw new Error('the event insert returned no row');
  return { id: Number(row.id), at };
}

/** The row's percent, kept current for lists and a reload: one portable statement per step (see insertEventRow). */
export async function writePercent(db: Db, migrationId: string, percent: number): Promise<void> {
  await db.$executeRaw`UPDATE "Migration" SET "percent" = ${percent} WHERE "id" = ${migrationId}`;
}

export function toEvent(row: { id: number; migrationId: string; at: Date; data: string }): MigrationEvent {
  return {
    ...(JSON.parse(row.data) as MigrationEventPayload),
    id: row.id,
    migrationId: row.migrationId,
    at: row.at.toISOString(),
  };
}

export async function listMigrationEvents(options: {
  db: Db;
  migrationId: string;
  afterId?: number;
  limit?: number;
}): Promise<MigrationEvent[]> {
  const rows = await options.db.migrationEvent.findMany({
    where: {
      migrationId: options.migrationId,
      ...(options.afterId !== undefined ? { id: { gt: options.afterId } } : {}),
    },
    orderBy: { id: 'asc' },
    take: options.limit,
  });
  return rows.map(toEvent);
}

/** Events one replay query reads: 200 streams joining a long job hold 200 pages, not 200 copies of its history. */
export const REPLAY_PAGE_SIZE = 100;

/**
 * One migration's events for a live view: everything after `afterId` from the table, then what the runner
 * publishes, until the final state. See replayThenStream for why nothing is lost or repeated.
 */
export function streamMigrationEvents(options: {
  db: Db;
  bus: EventBus;
  migrationId: string;
  afterId: number;
  signal?: AbortSignal;
}): AsyncGenerator<MigrationEvent> {
  const { db, bus, migrationId } = options;
  return replayThenStream<MigrationEvent>({
    subscribe: (listener) => bus.subscribe(migrationChannel(migrationId), listener),
    replay: (afterId) => listMigrationEvents({ db, migrationId, afterId, limit: REPLAY_PAGE_SIZE }),
    pageSize: REPLAY_PAGE_SIZE,
    afterId: options.afterId,
    isLast: (event) => event.type === 'state' && isFinalState(event.state),
    isClosed: async () => {
      const row = await db.migration.findUnique({ where: { id: migrationId }, select: { state: true } });
      return row ? isFinalState(row.state) : null;
    },
    signal: options.signal,
  });
}

/**
 * The Last-Event-ID of a stream of stored events (a MigrationEvent row id), as a subscription's input: the
 * position to resume after, 0 for a fresh stream.
 */
export const lastEventIdInput = z
  .string()
  .regex(/^\d{1,15}$/, 'lastEventId must be the number of an event this stream sent.')
  .nullish()
  .transform((value) => (value ? Number(value) : 0));
