import { describe, expect, it } from 'vitest';
import { isMovingItem, overallPercent } from './overall-percent';

type Item = { state: string; percent: number | null };
const percentOf = (item: Item) => item.percent;

describe("an evacuation's overall percent", () => {
  it('is the mean over the moved VMs: a submitted one at its job percent, a pending one at 0, a settled one at 100', () => {
    const items: Item[] = [
      { state: 'submitted', percent: 50 },
      { state: 'pending', percent: null },
      { state: 'succeeded', percent: 100 },
      { state: 'failed', percent: 30 },
    ];
    expect(overallPercent(items, percentOf)).toBe(Math.floor((50 + 0 + 100 + 100) / 4));
  });

  it('leaves out the VMs it does not move, and rounds down (100 only when all are done)', () => {
    const items: Item[] = [
      { state: 'unmovable', percent: null },
      { state: 'excluded', percent: null },
      { state: 'submitted', percent: 99 },
      { state: 'succeeded', percent: 100 },
      { state: 'succeeded', percent: 100 },
    ];
    expect(overallPercent(items, percentOf)).toBe(99);
    expect(isMovingItem({ state: 'unmovable' })).toBe(false);
    expect(isMovingItem({ state: 'excluded' })).toBe(false);
    expect(isMovingItem({ state: 'cancelled' })).toBe(true);
  });

  it('counts a submitted VM whose job percent is not known yet as 0', () => {
    expect(
      overallPercent(
        [
          { state: 'submitted', percent: null },
          { state: 'succeeded', percent: 100 },
        ],
        percentOf,
      ),
    ).toBe(50);
  });

  it('is 100 when the evacuation moves nothing', () => {
    expect(overallPercent([{ state: 'unmovable', percent: null }], percentOf)).toBe(100);
    expect(overallPercent([], percentOf)).toBe(100);
  });

  it('reads each job percent through the caller, so the page can put the pushed ones in', () => {
    const items = [
      { state: 'submitted', job: 'a' },
      { state: 'submitted', job: 'b' },
    ];
    const pushed = new Map([['a', 80]]);
    const rows = new Map([
      ['a', 40],
      ['b', 20],
    ]);
    expect(overallPercent(items, (item) => rows.get(item.job) ?? null)).toBe(30);
    expect(overallPercent(items, (item) => pushed.get(item.job) ?? rows.get(item.job) ?? null)).toBe(50);
  });
});
