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

/**
 * Each event reaches a channel's listeners in a rotating order, starting one further along each time. A stream's
 * listener writes the event to its client, and with 51 clients on one evacuation the last write leaves a few ms
 * after the first (each is a syscall that also does the loopback receiver's work): in subscription order, the
 * client that connected last would always be the last served. Rotating spreads that wait over every client.
 *
 * Delivery is synchronous and works on a snapshot: a listener added or removed during a delivery takes effect from
 * the next event.
 */
export function createInProcessEventBus<Channels = FerryChannels>(): EventBus<Channels> {
  const channels = new Map<string, { listeners: ((payload: unknown) => void)[]; next: number }>();
  return {
    publish(channel, payload) {
      const entry = channels.get(channel);
      if (entry === undefined) return;
      const listeners = entry.listeners.slice();
      const count = listeners.length;
      const start = entry.next % count;
      entry.next = start + 1;
      for (let offset = 0; offset < count; offset++)
        (listeners[(start + offset) % count] as (p: unknown) => void)(payload);
    },
    subscribe(channel, listener) {
      const untyped = listener as (payload: unknown) => void;
      let entry = channels.get(channel);
      if (entry === undefined) {
        entry = { listeners: [], next: 0 };
        channels.set(channel, entry);
      }
      entry.listeners.push(untyped);
      let subscribed = true;
      return () => {
        if (!subscribed) return;
        subscribed = false;
        const current = channels.get(channel);
        if (current === undefined) return;
        const index = current.listeners.lastIndexOf(untyped);
        if (index >= 0) current.listeners.splice(index, 1);
        if (current.listeners.length === 0) channels.delete(channel);
      };
    },
  };
}

const globalForBus = globalThis as unknown as { ferryBus?: EventBus };

export const bus: EventBus = globalForBus.ferryBus ?? createInProcessEventBus();
globalForBus.ferryBus = bus;
