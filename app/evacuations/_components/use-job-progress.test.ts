import { describe, expect, it } from 'vitest';
import { shownJobProgress } from './use-job-progress';

describe("what a job's bar shows", () => {
  const pushed = { percent: 64, readAt: 1_700_000_000_000 };

  it('is the pushed percent, with its read time, while the job runs', () => {
    for (const state of ['preflight', 'running', 'cancelling'])
      expect(shownJobProgress({ id: 'j', state, percent: 60 }, pushed)).toEqual(pushed);
  });

  it("is the row's percent (no read time) before a push, and once the job is queued or ended", () => {
    expect(shownJobProgress({ id: 'j', state: 'running', percent: 60 }, null)).toEqual({ percent: 60 });
    for (const state of ['queued', 'succeeded', 'failed', 'cancelled'])
      expect(shownJobProgress({ id: 'j', state, percent: 100 }, pushed)).toEqual({ percent: 100 });
  });
});
