import { readFile } from 'node:fs/promises';
import { VirshError, type Executor, type RunOptions, type RunResult } from '../hypervisor/executor';

/** Test helpers for the inventory. Real virsh stays real; these only watch or replay it. */

export type RecordedRun = { args: readonly string[] };

/** Wraps an executor and records every argv it runs, so a test can assert which commands a refresh cost. */
export function recordingExecutor(
  inner: Executor,
  options: { beforeRun?: (args: readonly string[]) => Promise<void> | void } = {},
) {
  const runs: RecordedRun[] = [];
  const executor: Executor = {
    description: `recording ${inner.description}`,
    async run(args: readonly string[], runOptions?: RunOptions): Promise<RunResult> {
      runs.push({ args: [...args] });
      await options.beforeRun?.(args);
      return inner.run(args, runOptions);
    },
    close: () => inner.close(),
  };
  return { executor, runs };
}

/**
 * Answers from output captured from real virsh (server/libvirt/fixtures/virsh), keyed by the exact argv.
 * For code paths that need a driver we cannot run in a unit test (qemu with full domstats); an argv it
 * has no capture for fails like virsh would for an unknown domain, so a wrong command cannot pass.
 */
export function replayExecutor(captures: Record<string, string>): Executor {
  return {
    description: 'replay of captured virsh output',
    async run(args: readonly string[]): Promise<RunResult> {
      const file = captures[JSON.stringify(args)];
      if (file === undefined) {
        throw new VirshError({
          kind: 'exit',
          message: `no capture for ${JSON.stringify(args)}`,
          argv: ['virsh', ...args],
          exitCode: 1,
          stderr: `error: no capture for ${JSON.stringify(args)}\n`,
        });
      }
      return {
        stdout: await readFile(new URL(`../libvirt/fixtures/virsh/${file}`, import.meta.url), 'utf8'),
        stderr: '',
        exitCode: 0,
      };
    },
    close: async () => {},
  };
}
