import { describe, expect, it } from 'vitest';
import { replayThenPush, replayThenStream, type ReplayThenStreamOptions } from './stream';

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

/** A bus of one listener: publish hands an event to it at once; `subscribed` says whether it is still there. */
function oneListenerBus() {
  let listener: ((item: Item) => void) | null = null;
  return {
    subscribe: (next: (item: Item) => void) => {
      listener = next;
      return () => (listener = null);
    },
    publish: (item: Item) => listener?.(item),
    subscribed: () => listener !== null,
  };
}

/** A stream over `bus` that starts at 0 and never ends by itself; `overrides` sets the store and the rest. */
function over(
  bus: ReturnType<typeof oneListenerBus>,
  overrides: Partial<ReplayThenStreamOptions<Item>> & Pick<ReplayThenStreamOptions<Item>, 'replay'>,
): ReplayThenStreamOptions<Item> {
  return {
    subscribe: bus.subscribe,
    pageSize: 10,
    afterId: 0,
    isLast: () => false,
    isClosed: async () => false,
    ...overrides,
  };
}

describe('replayThenStream over replayThenPush', () => {
  it("throws the store's error to its consumer, and lets go of the bus", async () => {
    const bus = oneListenerBus();
    const stream = replayThenStream<Item>(
      over(bus, {
        replay: async () => {
          throw new Error('disk I/O error');
        },
      }),
    );
    await expect(
      (async () => {
        for await (const item of stream) void item;
      })(),
    ).rejects.toThrow('disk I/O error');
    expect(bus.subscribed()).toBe(false);
  });

  it('lets go of the bus when its consumer stops pulling', async () => {
    const bus = oneListenerBus();
    const stream = replayThenStream<Item>(over(bus, { replay: async () => [{ id: 1 }] }));
    for await (const item of stream) if (item.id === 1) break;
    while (bus.subscribed()) await new Promise((resolve) => setTimeout(resolve, 1));
    expect(bus.subscribed()).toBe(false);
  });
});

describe('replayThenPush', () => {
  it('delivers a live event inside the publish, with no promise step in between', async () => {
    const bus = oneListenerBus();
    const delivered: number[] = [];
    const controller = new AbortController();
    const done = replayThenPush<Item>(
      over(bus, { replay: async (afterId) => (afterId < 1 ? [{ id: 1 }] : []), signal: controller.signal }),
      (item) => delivered.push(item.id),
    );
    while (delivered.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    await new Promise((resolve) => setTimeout(resolve, 5));
    bus.publish({ id: 2 });
    expect(delivered).toEqual([1, 2]);
    controller.abort();
    await done;
    expect(bus.subscribed()).toBe(false);
    bus.publish({ id: 3 });
    expect(delivered).toEqual([1, 2]);
  });

  it('holds what is published during the replay and delivers it after, in order, without what the replay had', async () => {
    const bus = oneListenerBus();
    const delivered: number[] = [];
    let releaseReplay = () => {};
    const replayGate = new Promise<void>((resolve) => (releaseReplay = resolve));
    const done = replayThenPush<Item>(
      over(bus, {
        replay: async (afterId) => {
          await replayGate;
          return [{ id: 1 }, { id: 2 }].filter((item) => item.id > afterId);
        },
        isLast: (item) => item.last === true,
      }),
      (item) => delivered.push(item.id),
    );
    // Published while the replay read is in flight: 2 is stored too (the replay will have it), 3 is newer.
    bus.publish({ id: 2 });
    bus.publish({ id: 3 });
    expect(delivered).toEqual([]);
    releaseReplay();
    while (delivered.length < 3) await new Promise((resolve) => setTimeout(resolve, 1));
    expect(delivered).toEqual([1, 2, 3]);
    // The last event ends the stream and lets go of the bus; nothing after it is delivered.
    bus.publish({ id: 4, last: true });
    await done;
    expect(bus.subscribed()).toBe(false);
    expect(delivered).toEqual([1, 2, 3, 4]);
  });

  it('rejects when a store read fails, and lets go of the bus', async () => {
    const bus = oneListenerBus();
    const failing = replayThenPush<Item>(
      over(bus, {
        replay: async () => {
          throw new Error('database is locked');
        },
      }),
      () => {},
    );
    await expect(failing).rejects.toThrow('database is locked');
    expect(bus.subscribed()).toBe(false);
  });
});
