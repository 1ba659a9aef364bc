import { QueryClient, QueryObserver } from '@tanstack/react-query';
import { describe, expect, it } from 'vitest';
import { refreshAfterChange } from './query-client';

/**
 * A page's first read of a list is under way (no data yet) when a change lands: the list must be read again after
 * the change, not be answered by the read that began before it.
 */
function listWithSlowFirstRead() {
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const answers: ((rows: string[]) => void)[] = [];
  let calls = 0;
  const observer = new QueryObserver(queryClient, {
    queryKey: ['host', 'list'],
    queryFn: () => {
      calls += 1;
      return new Promise<string[]>((resolve) => answers.push(resolve));
    },
  });
  const unsubscribe = observer.subscribe(() => {});
  return { queryClient, answers, calls: () => calls, data: () => observer.getCurrentResult().data, unsubscribe };
}

describe('refreshAfterChange', () => {
  it('reads the list again although its first read is still under way', async () => {
    const list = listWithSlowFirstRead();
    expect(list.calls()).toBe(1);
    const refreshed = refreshAfterChange(list.queryClient, [['host']]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(list.calls()).toBe(2);
    // The first read answers with the list from before the change; only the second read's answer is kept.
    list.answers[0]?.(['demo']);
    list.answers[1]?.(['demo', 'hung']);
    await refreshed;
    expect(list.data()).toEqual(['demo', 'hung']);
    list.unsubscribe();
  });

  it('is needed: invalidateQueries alone joins the read that began before the change', async () => {
    const list = listWithSlowFirstRead();
    const invalidated = list.queryClient.invalidateQueries({ queryKey: ['host'] });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(list.calls()).toBe(1);
    list.answers[0]?.(['demo']);
    await invalidated;
    expect(list.data()).toEqual(['demo']);
    list.unsubscribe();
  });
});
