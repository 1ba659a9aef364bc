/**
 * A resumable live stream over a bus channel whose events are also stored with increasing ids: subscribe first,
 * then replay what the store has after `afterId`, then stream what the bus delivers, skipping anything already
 * yielded. Subscribing before the replay means an event published meanwhile is queued, never lost; the id check
 * drops the copy the replay already had. Ends on the event `isLast` accepts, when the caller's signal aborts, or
 * at once after the replay when `isClosed` says nothing more will come.
 *
 * The replay is read in pages (`replay` returns at most `pageSize` events after the id it is given): a stream that
 * joins a long job holds one page at a time, not the job's whole history, however many streams join at once.
 */
export async function* replayThenStream<T extends { id: number }>(options: {
  subscribe: (listener: (event: T) => void) => () => void;
  replay: (afterId: number) => Promise<T[]>;
  /** The most events one `replay` call returns; a shorter page is the last. */
  pageSize: number;
  afterId: number;
  isLast: (event: T) => boolean;
  /** Asked once after the replay; null when the stream's subject does not exist (the stream ends). */
  isClosed: () => Promise<boolean | null>;
  signal?: AbortSignal;
}): AsyncGenerator<T> {
  const queue: T[] = [];
  let wake: (() => void) | null = null;
  const unsubscribe = options.subscribe((event) => {
    queue.push(event);
    wake?.();
  });
  try {
    let lastId = options.afterId;
    const replayFrom = async function* (): AsyncGenerator<T, boolean> {
      for (;;) {
        const page = await options.replay(lastId);
        for (const event of page) {
          lastId = event.id;
          yield event;
          if (options.isLast(event)) return true;
        }
        if (page.length < options.pageSize) return false;
      }
    };
    if (yield* replayFrom()) return;
    const closed = await options.isClosed();
    if (closed === null) return;
    if (closed && queue.length === 0) {
      // Closed between the replay and the check: the last events are in the store, not (any more) on the bus.
      yield* replayFrom();
      return;
    }
    const { signal } = options;
    signal?.addEventListener('abort', () => wake?.(), { once: true });
    while (!signal?.aborted) {
      while (queue.length > 0) {
        const event = queue.shift() as T;
        if (event.id <= lastId) continue;
        lastId = event.id;
        yield event;
        if (options.isLast(event)) return;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = null;
    }
  } finally {
    unsubscribe();
  }
}
