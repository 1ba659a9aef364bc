import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { VirshError, type Executor, type RunOptions } from '../../hypervisor/executor';
import type { DomainEvent } from '../../libvirt/parsers/domain-event';
import { backoffMs, startHostStream, type StreamState } from './host-stream';

const VERSION = readFileSync(new URL('../../libvirt/fixtures/virsh/qemu-version-daemon.txt', import.meta.url), 'utf8');

type Loop = { options: RunOptions; end: (error?: Error) => void; signal: AbortSignal };

/**
 * A fake executor for the state machine only (the real virsh runs in host-stream.integration.test.ts): `version`
 * answers or fails as the test says, `event` hands its callbacks to the test and ends when told or aborted.
 */
function fakeExecutor() {
  const loops: Loop[] = [];
  const fake = {
    versionFails: false,
    loops,
    executor: {
      description: 'fake',
      close: async () => {},
      run: (args: readonly string[], options: RunOptions = {}) => {
        if (args[0] === 'version') {
          if (fake.versionFails)
            return Promise.reject(
              new VirshError({
                kind: 'exit',
                message: 'exit 1',
                argv: ['virsh', ...args],
                stderr: 'error: failed to connect to the hypervisor',
              }),
            );
          return Promise.resolve({ stdout: VERSION, stderr: '', exitCode: 0 });
        }
        return new Promise((resolve, reject) => {
          const signal = options.signal as AbortSignal;
          const end = (error?: Error) => (error ? reject(error) : resolve({ stdout: '', stderr: '', exitCode: 0 }));
          signal.addEventListener('abort', () =>
            end(new VirshError({ kind: 'aborted', message: 'aborted', argv: ['virsh', ...args] })),
          );
          loops.push({ options, end, signal });
        });
      },
    } satisfies Executor,
  };
  return fake;
}

function harness(fake: ReturnType<typeof fakeExecutor>) {
  const states: StreamState[] = [];
  const events: DomainEvent[] = [];
  const connects: string[] = [];
  const stream = startHostStream({
    executor: () => fake.executor,
    onEvent: (event) => events.push(event),
    onConnected: ({ libvirtVersion }) => connects.push(libvirtVersion),
    onState: (state) => states.push(state),
    describeError: (error) => (error instanceof Error ? error.message : String(error)),
    settleMs: 10,
    minBackoffMs: 10,
    maxBackoffMs: 40,
  });
  return { stream, states, events, connects };
}

async function until(check: () => boolean, ms = 2000) {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > ms) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const kinds = (states: StreamState[]) => states.map((state) => state.kind);

describe('startHostStream', () => {
  it('connects, goes live after the settle time, re-lists and passes events on', async () => {
    const fake = fakeExecutor();
    const { stream, states, events, connects } = harness(fake);
    await until(() => connects.length === 1);
    expect(kinds(states)).toEqual(['connecting', 'live']);
    expect(connects[0]).toMatch(/^\d+\.\d+\.\d+$/);
    const loop = fake.loops[0] as Loop;
    loop.options.onStdout?.("2026-12-03 03:12:01.250+0000: event 'lifecycle' for domain 'a b': Started Booted\n");
    loop.options.onStdout?.("2026-12-03 03:12:02.000+0000: event 'job-completed' for domain 'x':\n\toperation: 5\n");
    await until(() => events.length === 2);
    expect(events.map((event) => [event.domain, event.detail])).toEqual([
      ['a b', 'Started Booted'],
      ['x', 'operation: 5'],
    ]);
    await stream.stop();
    expect(loop.signal.aborted).toBe(true);
    expect(states.at(-1)?.kind).toBe('stopped');
  });

  it('treats "Disconnected from" on stderr as a lost connection: reconnecting, then live and a fresh re-list', async () => {
    const fake = fakeExecutor();
    const { stream, states, connects } = harness(fake);
    await until(() => connects.length === 1);
    const first = fake.loops[0] as Loop;
    first.options.onStderr?.('error: Disconnected from qemu:///system due to end of file\n');
    await until(() => connects.length === 2);
    expect(first.signal.aborted).toBe(true);
    expect(kinds(states)).toEqual(['connecting', 'live', 'reconnecting', 'live']);
    expect(states[2]).toMatchObject({
      kind: 'reconnecting',
      attempt: 1,
      lastError: expect.stringContaining('Disconnected'),
    });
    await stream.stop();
  });

  it('keeps the time it first failed while retries fail, counting attempts, and backs off', async () => {
    const fake = fakeExecutor();
    const { stream, states, connects } = harness(fake);
    await until(() => connects.length === 1);
    fake.versionFails = true;
    (fake.loops[0] as Loop).end();
    await until(() => states.filter((state) => state.kind === 'reconnecting').length >= 3);
    const retries = states.filter((state) => state.kind === 'reconnecting');
    expect(retries.map((state) => state.attempt).slice(0, 3)).toEqual([1, 2, 3]);
    expect(new Set(retries.map((state) => state.since.getTime())).size).toBe(1);
    expect(retries[1]?.lastError).toContain('exit 1');
    fake.versionFails = false;
    await until(() => connects.length === 2);
    expect(states.at(-1)?.kind).toBe('live');
    await stream.stop();
    expect(fake.loops.every((loop) => loop.signal.aborted)).toBe(true);
  });

  it('stops during a backoff without starting another attempt', async () => {
    const fake = fakeExecutor();
    fake.versionFails = true;
    const { stream, states } = harness(fake);
    await until(() => states.some((state) => state.kind === 'reconnecting'));
    await stream.stop();
    const count = states.length;
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(states.length).toBe(count);
    expect(states.at(-1)?.kind).toBe('stopped');
    expect(fake.loops).toHaveLength(0);
  });
});

describe('backoffMs', () => {
  it('doubles from the minimum up to the maximum, jitter only shortening it', () => {
    const noJitter = () => 0;
    expect([1, 2, 3, 4, 10].map((attempt) => backoffMs(attempt, 500, 4000, noJitter))).toEqual([
      500, 1000, 2000, 4000, 4000,
    ]);
    expect(backoffMs(3, 500, 4000, () => 1)).toBe(1600);
  });
});
