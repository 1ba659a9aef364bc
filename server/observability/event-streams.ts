/**
 * The seam between the per-host libvirt event streams (server/inventory/live, another module) and what reports
 * on them (/metrics' `ferry_event_stream_up`, /api/health). The stream owner registers a function that says, at
 * call time, each host's stream state; until one is registered Ferry reports no streams rather than guessing.
 */
export type EventStreamStatus = { hostAlias: string; up: boolean; state: string };

type Source = () => EventStreamStatus[];

/** On globalThis: Next bundles server code more than once (instrumentation, routes), and all must share it. */
const store = globalThis as unknown as { ferryEventStreamSource?: Source | null };

export function setEventStreamSource(source: Source | null): void {
  store.ferryEventStreamSource = source;
}

/** The streams the registered source reports now; null when no source is registered (nothing is known). */
export function readEventStreams(): EventStreamStatus[] | null {
  const source = store.ferryEventStreamSource;
  if (!source) return null;
  return source();
}
