import { afterEach, describe, expect, it } from 'vitest';
import { createLocalExecutor } from './local-executor';
import { canBatch, withPrefetched, type BatchingExecutor } from './prefetch';
import { createSessionExecutor, type SessionExecutor } from './session-executor';
import { expectVirshError } from './test-support';

const executors: SessionExecutor[] = [];
afterEach(async () => {
  for (const executor of executors.splice(0)) await executor.close();
});

/** A real session executor on the test driver, counting what reaches it. */
function counted() {
  const inner = createSessionExecutor({ uri: 'test:///default' });
  executors.push(inner);
  const calls = { run: [] as string[], batches: [] as number[] };
  const executor: BatchingExecutor = {
    description: inner.description,
    run: (args, options) => {
      calls.run.push(args.join(' '));
      return inner.run(args, options);
    },
    runBatch: (commands, options) => {
      calls.batches.push(commands.length);
      return inner.runBatch(commands, options);
    },
    close: () => inner.close(),
  };
  return { executor, calls };
}

describe('withPrefetched', () => {
  it('asks the commands in one batch and serves each answer once, failures as the command alone fails', async () => {
    const { executor, calls } = counted();
    const served = await withPrefetched(executor, [
      ['domstate', '--domain', 'test'],
      ['dominfo', '--domain', 'no-such-vm'],
    ]);
    expect(calls.batches).toEqual([2]);

    expect((await served.run(['domstate', '--domain', 'test'])).stdout.trim()).toBe('running');
    const error = await expectVirshError(served.run(['dominfo', '--domain', 'no-such-vm']));
    expect(error.kind).toBe('exit');
    expect(error.stderr).toContain("failed to get domain 'no-such-vm'");
    expect(calls.run).toEqual([]);

    // Asked again, or never prefetched: the executor answers.
    expect((await served.run(['domstate', '--domain', 'test'])).stdout.trim()).toBe('running');
    expect((await served.run(['list', '--name'])).stdout).toContain('test');
    expect(calls.run).toEqual(['domstate --domain test', 'list --name']);
  });

  it('passes a later batch through to the executor, so a caller given a served executor can batch too', async () => {
    const { executor, calls } = counted();
    const served = await withPrefetched(executor, [['list', '--name'], ['nodeinfo']]);
    expect(canBatch(served)).toBe(true);
    const again = await withPrefetched(served, [
      ['domstate', '--domain', 'test'],
      ['domid', '--domain', 'test'],
    ]);
    expect(calls.batches).toEqual([2, 2]);
    expect((await again.run(['domid', '--domain', 'test'])).stdout.trim()).toBe('1');
    expect(calls.run).toEqual([]);
  });

  it('leaves an executor that cannot batch, or a single command, as it is', async () => {
    const local = createLocalExecutor({ uri: 'test:///default' });
    expect(await withPrefetched(local, [['list'], ['nodeinfo']])).toBe(local);
    const { executor, calls } = counted();
    expect(await withPrefetched(executor, [['list']])).toBe(executor);
    expect(calls.batches).toEqual([]);
  });
});
