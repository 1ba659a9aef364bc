import { EventEmitter } from 'node:events';
import type { FerryChannels } from './channels';

/**
 * The one seam between producers (migration jobs, inventory refreshes) and subscribers (tRPC SSE streams).
 * Events are also persisted where they matter (MigrationEvent rows), so the bus only has to wake listeners
 * up; a Postgres LISTEN/NOTIFY implementation can replace this one when Ferry runs as several replicas.
 *
 * Typed by a channel map (channel name, or a template such as `migration:${string}`, → payload type), so a
 * publisher and its subscribers cannot disagree on what travels; channels.ts holds Ferry's map.
 */
export type EventBus<Channels = FerryChannels> = {
  publish<K extends keyof Channels & string>(channel: K, payload: Channels[K]): void;
  /** Returns an unsubscribe function. */
  subscribe<K extends keyof Channels & string>(channel: K, listener: (payload: Channels[K]) => void): () => void;
};

export function createInProcessEventBus<Channels = FerryChannels>(): EventBus<Channels> {
  const emitter = new EventEmitter();
  // Every open browser tab holds a listener per migration it watches.
  emitter.setMaxListeners(0);
  return {
    publish(channel, payload) {
      emitter.emit(channel, payload);
    },
    subscribe(channel, listener) {
      const untyped = listener as (payload: unknown) => void;
      emitter.on(channel, untyped);
      return () => emitter.off(channel, untyped);
    },
  };
}

const globalForBus = globalThis as unknown as { ferryBus?: EventBus };

export const bus: EventBus = globalForBus.ferryBus ?? createInProcessEventBus();
globalForBus.ferryBus = bus;
