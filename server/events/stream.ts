/** What a resumable live stream reads and follows; see replayThenStream. */
export type ReplayThenStreamOptions<T extends { id: number }> = {
  subscribe: (listener: (event: T) => void) => () => void;
  replay: (afterId: number) => Promise<T[]>;
  /** The most events one `replay` call returns; a shorter page is the last. */
  pageSize: number;
  afterId: number;
  isLast: (event: T) => boolean;
  /** Asked once after the replay; null when the stream's subject does not exist (the stream ends). */
  isClosed: () => Promise<boolean | null>;
  /** The subject an event belongs to, when the stream merges several; one subject if not given. */
  subjectOf?: (event: T) => string;
  signal?: AbortSignal;
};

/**
 * A resumable live stream over a bus channel whose events are also stored with increasing ids: subscribe first,
 * then replay what the store has after `afterId`, then stream what the bus delivers, skipping anything already
 * yielded. Subscribing before the replay means an event published meanwhile is queued, never lost; the id check
 * drops the copy the replay already had. Ends on the event `isLast` accepts, when the caller's signal aborts, or
 * at once after the replay when `isClosed` says nothing more will come.
 *
 * The replay is read in pages (`replay` returns at most `pageSize` events after the id it is given): a stream that
 * joins a long job holds one page at a time, not the job's whole history, however many streams join at once.
 *
 * A stream may merge several subjects (an evacuation's jobs): `subjectOf` names an event's subject, and the
 * already-yielded check is per subject. One subject's events are stored one after another, so its ids rise in the
 * order they are published; two subjects' events may be published out of id order (two jobs appending at once),
 * and a single "last id" would drop the lower one.
 *
 * This is replayThenPush's stream as an async generator, for consumers that pull (tRPC subscriptions).
 */
export async function* replayThenStream<T extends { id: number }>(
  options: ReplayThenStreamOptions<T>,
): AsyncGenerator<T> {
  const { signal } = options;
  // Stops the stream when the consumer stops pulling (tRPC ends a subscription with the generator's return).
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) stop.abort();
  const queue: T[] = [];
  let wake: (() => void) | null = null;
  // In an object: set from the core's settlement, which the loop below cannot see coming.
  const ending: { outcome: { failed: false } | { failed: true; error: unknown } | null } = { outcome: null };
  const settle = (outcome: NonNullable<typeof ending.outcome>) => {
    ending.outcome = outcome;
    wake?.();
  };
  void replayThenPush({ ...options, signal: stop.signal }, (event) => {
    queue.push(event);
    wake?.();
  }).then(
    () => settle({ failed: false }),
    (error: unknown) => settle({ failed: true, error }),
  );
  try {
    for (;;) {
      // Aborted while the consumer held an event: nothing more, though events may have queued meanwhile.
      if (signal?.aborted) return;
      if (queue.length > 0) {
        yield queue.shift() as T;
        continue;
      }
      const settled = ending.outcome;
      if (settled !== null) {
        if (settled.failed) throw settled.error;
        return;
      }
      await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
    }
  } finally {
    // replayThenPush lets go of the bus once it sees the stop (after a store read in flight, if any).
    stop.abort();
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * The stream of replayThenStream handed to `deliver` event by event, in the same order, for a consumer that writes
 * each as it comes (an event stream written to sockets, server/events/sse-response.ts): replayed events as each
 * page is read, then each live one inside the bus's publish, with no promise step between the publish and the
 * consumer's write. One event published to 51 streams is then 51 writes in a row rather than 51 generators resumed
 * one promise job after another. Resolves when the stream ends: after the last event, when the signal aborts, or
 * after the replay of a closed subject; rejects when a store read fails.
 */
export async function replayThenPush<T extends { id: number }>(
  options: ReplayThenStreamOptions<T>,
  deliver: (event: T) => void,
): Promise<void> {
  const { signal } = options;
  const subjectOf = options.subjectOf ?? (() => '');
  /** The last id delivered per subject; a subject not seen yet starts at the resume point. */
  const lastIds = new Map<string, number>();
  let ended = false;
  let markEnded = () => {};
  const endedOrAborted = new Promise<void>((resolve) => (markEnded = resolve));
  /** Delivers an event the consumer has not had; true once the stream is over (this was the last, or aborted). */
  const take = (event: T): boolean => {
    if (ended || signal?.aborted) return true;
    if (event.id <= (lastIds.get(subjectOf(event)) ?? options.afterId)) return false;
    lastIds.set(subjectOf(event), event.id);
    deliver(event);
    if (options.isLast(event)) {
      ended = true;
      markEnded();
    }
    return ended;
  };
  // Until the replay is done, the bus's events wait here (in publish order), then go through `take` like the rest.
  let queue: T[] | null = [];
  const unsubscribe = options.subscribe((event) => {
    if (queue) queue.push(event);
    else take(event);
  });
  const onAbort = () => markEnded();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    let lastId = options.afterId;
    const replayFrom = async (): Promise<boolean> => {
      for (;;) {
        const page = await options.replay(lastId);
        for (const event of page) {
          lastId = event.id;
          if (take(event)) return true;
        }
        if (page.length < options.pageSize) return false;
      }
    };
    if (await replayFrom()) return;
    const closed = await options.isClosed();
    if (closed === null || signal?.aborted) return;
    if (closed && queue.length === 0) {
      // Closed between the replay and the check: the last events are in the store, not (any more) on the bus.
      await replayFrom();
      return;
    }
    const waiting = queue;
    queue = null;
    for (const event of waiting) if (take(event)) return;
    await endedOrAborted;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    unsubscribe();
  }
}
