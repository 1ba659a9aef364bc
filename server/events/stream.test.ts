import { describe, expect, it } from 'vitest';
import { replayThenStream } from './stream';

type Item = { id: number; last?: boolean };

/** A store of `count` events and a bus that never delivers: what the stream asks the store, page by page. */
function pagedStore(count: number, pageSize: number, options: { hasLast: boolean }) {
  const items: Item[] = Array.from({ length: count }, (_, index) => ({
    id: index + 1,
    last: options.hasLast && index === count - 1,
  }));
  const asked: { afterId: number; returned: number }[] = [];
  return {
    asked,
    replay: async (afterId: number) => {
      const page = items.filter((item) => item.id > afterId).slice(0, pageSize);
      asked.push({ afterId, returned: page.length });
      return page;
    },
  };
}

/** Every id the stream yields until it ends; the bus never delivers, the store is paged by 10. */
async function drain(store: ReturnType<typeof pagedStore>, afterId: number, closed: boolean): Promise<number[]> {
  const ids: number[] = [];
  const stream = replayThenStream<Item>({
    subscribe: () => () => {},
    replay: store.replay,
    pageSize: 10,
    afterId,
    isLast: (item) => item.last === true,
    isClosed: async () => closed,
  });
  for await (const item of stream) ids.push(item.id);
  return ids;
}

describe('replayThenStream', () => {
  it('reads the replay a page at a time, each after the last id it yielded, and ends at the last event', async () => {
    const store = pagedStore(25, 10, { hasLast: true });
    const ids = await drain(store, 0, false);
    expect(ids).toEqual(Array.from({ length: 25 }, (_, index) => index + 1));
    expect(store.asked).toEqual([
      { afterId: 0, returned: 10 },
      { afterId: 10, returned: 10 },
      { afterId: 20, returned: 5 },
    ]);
  });

  it('after a full last page asks once more, and a closed subject with nothing queued ends the stream', async () => {
    const store = pagedStore(25, 10, { hasLast: false });
    const ids = await drain(store, 5, true);
    expect(ids).toEqual(Array.from({ length: 20 }, (_, index) => index + 6));
    // Two full pages (after 5 and 15), an empty one after 25; then closed: the store is asked once more from 25.
    expect(store.asked.map((ask) => ask.afterId)).toEqual([5, 15, 25, 25]);
  });

  it('ends when aborted while its consumer holds an event, though nothing more is published', async () => {
    const controller = new AbortController();
    let publish: (item: Item) => void = () => {};
    const stream = replayThenStream<Item>({
      subscribe: (listener) => {
        publish = listener;
        return () => {};
      },
      replay: async () => [],
      pageSize: 10,
      afterId: 0,
      isLast: () => false,
      isClosed: async () => false,
      signal: controller.signal,
    });
    const ids: number[] = [];
    const reading = (async () => {
      for await (const item of stream) {
        ids.push(item.id);
        // The page going away as the event arrives: no wake is waiting at this moment.
        controller.abort();
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 20));
    publish({ id: 1 });
    await reading;
    expect(ids).toEqual([1]);
  });
});
