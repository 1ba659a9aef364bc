import 'server-only';
import type { Executor } from './executor';
import type { BatchItemResult, SessionRunOptions } from './virsh-session';

/** An executor that can run many commands in one go: the session executor, and the ssh executor (one remote virsh). */
export type BatchingExecutor = Executor & {
  runBatch(commands: ReadonlyArray<readonly string[]>, options?: SessionRunOptions): Promise<BatchItemResult[]>;
};

export function canBatch(executor: Executor): executor is BatchingExecutor {
  return typeof (executor as Partial<BatchingExecutor>).runBatch === 'function';
}

/**
 * Sends `commands` to a batching executor at once and returns an executor that serves each answer once, when
 * asked for it with the same argv; anything else goes to `executor` as usual. A command prefetched but not asked
 * for costs a little; one asked for but not prefetched costs a round trip. Answers are the same either way, so
 * callers keep asking command by command (their parsing and error handling unchanged) and only say up front what
 * they will ask. An executor that cannot batch, or a single command, is returned as it is.
 */
export async function withPrefetched(
  executor: Executor,
  commands: ReadonlyArray<readonly string[]>,
  options: SessionRunOptions = {},
): Promise<Executor> {
  if (!canBatch(executor) || commands.length < 2) return executor;
  const results = await executor.runBatch(commands, {
    signal: options.signal,
    timeoutMs: options.timeoutMs,
    urgent: options.urgent,
  });
  const answers = new Map<string, BatchItemResult>();
  commands.forEach((args, index) => {
    const result = results[index];
    if (result) answers.set(JSON.stringify(args), result);
  });
  const served: BatchingExecutor = {
    description: executor.description,
    // A later batch (a caller's own prefetch) goes to the host as one, like any command not prefetched.
    runBatch: (more, batchOptions) => executor.runBatch(more, batchOptions),
    run: async (args, runOptions) => {
      const key = JSON.stringify(args);
      const answer = answers.get(key);
      if (answer === undefined) return executor.run(args, runOptions);
      answers.delete(key);
      if (answer.ok) return answer.result;
      throw answer.error;
    },
    close: () => executor.close(),
  };
  return served;
}
