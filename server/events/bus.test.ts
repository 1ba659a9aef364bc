import { describe, expect, it } from 'vitest';
import { createInProcessEventBus } from './bus';

type Channels = { a: number; b: number };

/** Three listeners on channel a, each noting its name when called: the order one publish reached them in. */
function threeListeners() {
  const bus = createInProcessEventBus<Channels>();
  let calls: string[] = [];
  const unsubscribe = ['x', 'y', 'z'].map((name) => bus.subscribe('a', () => calls.push(name)));
  const deliver = (payload = 1) => {
    calls = [];
    bus.publish('a', payload);
    return calls;
  };
  return { bus, unsubscribe, deliver };
}

describe('the in-process event bus', () => {
  it('reaches every listener once per event, starting one further along each time', () => {
    const { deliver } = threeListeners();
    expect(deliver()).toEqual(['x', 'y', 'z']);
    expect(deliver()).toEqual(['y', 'z', 'x']);
    expect(deliver()).toEqual(['z', 'x', 'y']);
    expect(deliver()).toEqual(['x', 'y', 'z']);
  });

  it('hands every listener the payload, and only the listeners of its channel', () => {
    const bus = createInProcessEventBus<Channels>();
    const onA: number[] = [];
    const onB: number[] = [];
    bus.subscribe('a', (payload) => onA.push(payload));
    bus.subscribe('b', (payload) => onB.push(payload));
    bus.publish('a', 7);
    bus.publish('b', 8);
    bus.publish('a', 9);
    expect(onA).toEqual([7, 9]);
    expect(onB).toEqual([8]);
  });

  it('stops calling a listener once unsubscribed; a second unsubscribe changes nothing', () => {
    const { unsubscribe, deliver } = threeListeners();
    unsubscribe[1]?.();
    unsubscribe[1]?.();
    expect(deliver().sort()).toEqual(['x', 'z']);
    unsubscribe[0]?.();
    unsubscribe[2]?.();
    expect(deliver()).toEqual([]);
  });

  it('removes one subscription of a listener subscribed twice per unsubscribe', () => {
    const bus = createInProcessEventBus<Channels>();
    let calls = 0;
    const listener = () => calls++;
    const first = bus.subscribe('a', listener);
    bus.subscribe('a', listener);
    first();
    first();
    bus.publish('a', 1);
    expect(calls).toBe(1);
  });

  it('applies a subscribe or unsubscribe made during a delivery from the next event on', () => {
    const bus = createInProcessEventBus<Channels>();
    const calls: string[] = [];
    let unsubscribeLate: (() => void) | undefined;
    const unsubscribeFirst = bus.subscribe('a', (payload) => {
      calls.push(`first ${payload}`);
      if (payload === 1) unsubscribeLate = bus.subscribe('a', (late) => calls.push(`late ${late}`));
      if (payload === 2) unsubscribeSecond();
    });
    const unsubscribeSecond = bus.subscribe('a', (payload) => calls.push(`second ${payload}`));
    bus.publish('a', 1);
    expect(calls.sort()).toEqual(['first 1', 'second 1']);
    calls.length = 0;
    bus.publish('a', 2);
    // The snapshot: the second listener, removed by the first during this delivery, still gets this event.
    expect(calls.sort()).toEqual(['first 2', 'late 2', 'second 2']);
    calls.length = 0;
    bus.publish('a', 3);
    expect(calls.sort()).toEqual(['first 3', 'late 3']);
    unsubscribeFirst();
    unsubscribeLate?.();
    calls.length = 0;
    bus.publish('a', 4);
    expect(calls).toEqual([]);
  });
});
