import { EventEmitter } from 'node:events';

/**
 * The one seam between producers (migration jobs, inventory refreshes) and subscribers (tRPC SSE streams).
 * Events are also persisted where they matter (MigrationEvent rows), so the bus only has to wake listeners
 * up; a Postgres LISTEN/NOTIFY implementation can replace this one when Ferry runs as several replicas.
 */
export type EventBus = {
  publish(channel: string, payload: unknown): void;
  /** Returns an unsubscribe function. */
  subscribe(channel: string, listener: (payload: unknown) => void): () => void;
};

export function createInProcessEventBus(): EventBus {
  const emitter = new EventEmitter();
  // Every open browser tab holds a listener per migration it watches.
  emitter.setMaxListeners(0);
  return {
    publish(channel, payload) {
      emitter.emit(channel, payload);
    },
    subscribe(channel, listener) {
      emitter.on(channel, listener);
      return () => emitter.off(channel, listener);
    },
  };
}

const globalForBus = globalThis as unknown as { ferryBus?: EventBus };

export const bus: EventBus = globalForBus.ferryBus ?? createInProcessEventBus();
globalForBus.ferryBus = bus;
