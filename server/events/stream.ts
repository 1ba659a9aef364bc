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
  /** The subject an event belongs to, when the stream merges several; one subject if not given. */
  subjectOf?: (event: T) => string;
  signal?: AbortSignal;
}): AsyncGenerator<T> {
  const subjectOf = options.subjectOf ?? (() => '');
  /** The last id yielded per subject; a subject not seen yet starts at the resume point. */
  const lastIds = new Map<string, number>();
  const isNew = (event: T) => event.id > (lastIds.get(subjectOf(event)) ?? options.afterId);
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
          lastIds.set(subjectOf(event), event.id);
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
        if (!isNew(event)) continue;
        lastIds.set(subjectOf(event), event.id);
        yield event;
        if (options.isLast(event)) return;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        // Aborted while the consumer held an event (no wake was waiting then): do not sleep past it.
        if (signal?.aborted) resolve();
      });
      wake = null;
    }
  } finally {
    unsubscribe();
  }
}
