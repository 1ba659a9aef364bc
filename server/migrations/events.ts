import type { Db } from '../db';
import type { EventBus } from '../events/bus';
import { MIGRATIONS_CHANNEL, migrationChannel, type MigrationEvent, type MigrationEventPayload } from './types';

/**
 * Persists first, then publishes: a subscriber that reconnects replays from the table, so an event the bus
 * delivered is always also in the database (and carries the row id the browser resumes from).
 */
export async function appendMigrationEvent(options: {
  db: Db;
  bus: EventBus;
  migrationId: string;
  payload: MigrationEventPayload;
}): Promise<MigrationEvent> {
  const row = await options.db.migrationEvent.create({
    data: { migrationId: options.migrationId, type: options.payload.type, data: JSON.stringify(options.payload) },
  });
  const event = toEvent(row);
  options.bus.publish(migrationChannel(options.migrationId), event);
  if (options.payload.type === 'state' || options.payload.type === 'result') {
    options.bus.publish(MIGRATIONS_CHANNEL, { migrationId: options.migrationId, type: options.payload.type });
  }
  return event;
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
