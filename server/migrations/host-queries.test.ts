import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Executor } from '../hypervisor/executor';
import { createLocalExecutor } from '../hypervisor/local-executor';
import { expectVirshError, recordingExecutor } from '../hypervisor/test-support';
import { CAPABILITIES_TTL_MS, getCapabilities } from './host-queries';

/** A real virsh on the test driver, keeping the commands it is given (their count is what these tests are about). */
function countingVirsh(uri = 'test:///default'): { executor: Executor; ran: string[] } {
  return recordingExecutor(createLocalExecutor({ uri }));
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('getCapabilities', () => {
  it('asks the host once for callers at the same time and within the reuse window, again after it', async () => {
    const { executor, ran } = countingVirsh();
    const [first, second] = await Promise.all([getCapabilities({ executor }), getCapabilities({ executor })]);
    expect(first.arch).toBe('i686');
    expect(second).toEqual(first);
    expect(await getCapabilities({ executor })).toEqual(first);
    expect(ran).toEqual(['capabilities']);

    const now = Date.now();
    vi.spyOn(Date, 'now').mockReturnValue(now + CAPABILITIES_TTL_MS + 1);
    expect((await getCapabilities({ executor })).arch).toBe('i686');
    expect(ran).toEqual(['capabilities', 'capabilities']);
  });

  it('keeps each host’s answer apart', async () => {
    const one = countingVirsh();
    const other = countingVirsh();
    await getCapabilities({ executor: one.executor });
    await getCapabilities({ executor: other.executor });
    expect(one.ran).toEqual(['capabilities']);
    expect(other.ran).toEqual(['capabilities']);
  });

  it('does not keep a failed read: the next caller asks again', async () => {
    const { executor, ran } = countingVirsh('test:///nonexistent/ferry-no-such-host.xml');
    const error = await expectVirshError(getCapabilities({ executor }));
    expect(error.message).toMatch(/capabilities/);
    await expectVirshError(getCapabilities({ executor }));
    expect(ran).toEqual(['capabilities', 'capabilities']);
  });

  it('ends an aborted caller at once, while another caller of the same read still gets the answer', async () => {
    const { executor, ran } = countingVirsh();
    const controller = new AbortController();
    const aborted = getCapabilities({ executor, signal: controller.signal });
    const other = getCapabilities({ executor });
    controller.abort();
    expect((await expectVirshError(aborted)).kind).toBe('aborted');
    expect((await other).arch).toBe('i686');
    expect(ran).toEqual(['capabilities']);
  });
});
