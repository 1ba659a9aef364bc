import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Executor } from '../hypervisor/executor';
import { createLocalExecutor } from '../hypervisor/local-executor';
import { expectVirshError, recordingExecutor } from '../hypervisor/test-support';
import { toDomainUuid } from '../libvirt/domain-ref';
import { CAPABILITIES_TTL_MS, getCapabilities, getDomainHold } from './host-queries';

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

describe('getDomainHold', () => {
  const TEST_UUID = toDomainUuid('6695eb01-f6a4-8304-79aa-97f2502e193f');

  it('reads the state with its reason; a driver without domjobinfo gives no job rather than an error', async () => {
    const { executor, ran } = countingVirsh();
    expect(await getDomainHold({ executor }, TEST_UUID)).toEqual({
      state: { state: 'running', reason: 'unknown' },
      job: null,
    });
    expect(ran.sort()).toEqual([`domjobinfo --domain ${TEST_UUID}`, `domstate --reason --domain ${TEST_UUID}`]);
  });

  it('says null for a domain the host does not have, and rejects when the host cannot be asked', async () => {
    const { executor } = countingVirsh();
    expect(await getDomainHold({ executor }, toDomainUuid('0f1e0000-7a5b-4c1b-9e00-0000000000ff'))).toBeNull();
    const unreachable = createLocalExecutor({ uri: 'test:///nonexistent/ferry-host.xml' });
    await expect(getDomainHold({ executor: unreachable }, TEST_UUID)).rejects.toThrow();
  });
});
