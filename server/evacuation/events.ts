import type { Db } from '../db';
import type { EventBus } from '../events/bus';
import { replayThenPush, replayThenStream, type ReplayThenStreamOptions } from '../events/stream';
import { REPLAY_PAGE_SIZE, toEvent } from '../migrations/events';
import { evacuationEventsChannel, type MigrationEvent } from '../migrations/types';
import { OPEN_STATES } from './run';

/** What an evacuation's page follows of its jobs: their bars and states (not logs or job samples). */
export const EVACUATION_STREAM_TYPES = ['state', 'progress'] as const;

/**
 * The `state` and `progress` events of every job of one evacuation, merged in id order, then live: one stream for
 * an evacuation page however many of its jobs run at once (a browser holds at most 6 HTTP/1.1 connections to
 * Ferry, so one stream per running job would stall the page past a few). It does not end by itself while the
 * evacuation is open: the page closes it once the evacuation is over. Resuming after `afterId` (Last-Event-ID)
 * replays what every job stored after it.
 */
export function streamEvacuationEvents(options: EvacuationStreamOptions): AsyncGenerator<MigrationEvent> {
  return replayThenStream<MigrationEvent>(evacuationStream(options));
}

/** The same stream handed to `deliver` event by event (replayThenPush): what the page's SSE stream sends. */
export function pushEvacuationEvents(
  options: EvacuationStreamOptions,
  deliver: (event: MigrationEvent) => void,
): Promise<void> {
  return replayThenPush<MigrationEvent>(evacuationStream(options), deliver);
}

type EvacuationStreamOptions = {
  db: Db;
  bus: EventBus;
  evacuationId: string;
  afterId: number;
  signal?: AbortSignal;
};

function evacuationStream(options: EvacuationStreamOptions): ReplayThenStreamOptions<MigrationEvent> {
  const { db, bus, evacuationId } = options;
  const types: readonly string[] = EVACUATION_STREAM_TYPES;
  return {
    subscribe: (listener) =>
      bus.subscribe(evacuationEventsChannel(evacuationId), (event) => {
        if (types.includes(event.type)) listener(event);
      }),
    replay: async (afterId) => {
      const rows = await db.migrationEvent.findMany({
        where: { migration: { evacuationId }, type: { in: [...types] }, id: { gt: afterId } },
        orderBy: { id: 'asc' },
        take: REPLAY_PAGE_SIZE,
      });
      return rows.map(toEvent);
    },
    pageSize: REPLAY_PAGE_SIZE,
    afterId: options.afterId,
    isLast: () => false,
    isClosed: async () => {
      const row = await db.evacuation.findUnique({ where: { id: evacuationId }, select: { state: true } });
      return row ? !(OPEN_STATES as readonly string[]).includes(row.state) : null;
    },
    subjectOf: (event) => event.migrationId,
    signal: options.signal,
  };
}
