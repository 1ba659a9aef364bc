import 'server-only';
import { spawn } from 'node:child_process';
import type { Executor, RunOptions, RunResult } from './executor';
import { findUnsendableArgument, plainFailure } from './failure';
import { createOutputCollector, settleRun, watchStop, type StopReason } from './run-output';
import { createSshMux, type SshMuxOptions } from './ssh-mux';
import { tiedToThisProcess } from './tied-spawn';

export const DEFAULT_VIRSH_PATH = 'virsh';
export const DEFAULT_TIMEOUT_MS = 60_000;
/** Time between SIGTERM and SIGKILL when a command is stopped; virsh migrate uses it to cancel the job. */
export const KILL_GRACE_MS = 2_000;

/**
 * Parsers read virsh's English, C-locale output; pinning LC_ALL keeps a server started under another
 * locale from translating messages or changing number formats.
 */
export function virshEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, LC_ALL: 'C.UTF-8', ...extra };
}

export type LocalExecutorOptions = {
  /** libvirt URI given to `virsh -c`: `test:///default`, `test:///abs/path.xml`, `qemu+ssh://root@hv1/system`, … */
  uri: string;
  virshPath?: string;
  defaultTimeoutMs?: number;
  killGraceMs?: number;
  /** The shared ssh connection for a `qemu+ssh://` URI (ssh-mux.ts); `false` turns it off. */
  sshMux?: SshMuxOptions | false;
};

/**
 * Runs each command as its own `virsh -c <uri> <args…>` process (no shell). With a `qemu+ssh://` URI this is
 * virsh's own ssh transport: one ssh process per command, each a session on the host's shared ssh connection
 * (ssh-mux.ts) while that is up, its own login otherwise.
 */
export function createLocalExecutor(options: LocalExecutorOptions): Executor {
  const virshPath = options.virshPath ?? DEFAULT_VIRSH_PATH;
  const defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const killGraceMs = options.killGraceMs ?? KILL_GRACE_MS;
  const mux = options.sshMux === false ? null : createSshMux(options.uri, options.sshMux);
  return {
    description: `local virsh -c ${options.uri}`,
    run: (args, runOptions = {}) =>
      runProcess({
        file: virshPath,
        argv: ['-c', mux?.connectUri() ?? options.uri, ...args],
        reportedArgv: ['virsh', '-c', options.uri, ...args],
        timeoutMs: runOptions.timeoutMs ?? defaultTimeoutMs,
        killGraceMs,
        runOptions,
      }),
    close: async () => mux?.close(),
  };
}

/**
 * Spawns `file argv…` in its own process group (so a timeout also kills the ssh that virsh started), with
 * stdin on /dev/null and no controlling terminal, so nothing can ever wait for a password or a yes/no; tied to
 * Ferry's life (tied-spawn.ts), so a virsh never outlives a Ferry killed with -9.
 * Longer than most: spawn, the time limit, abort and the kill of the group share one set of handles and one
 * settle; split apart they would pass them around.
 */
export function runProcess(options: {
  file: string;
  argv: readonly string[];
  reportedArgv: readonly string[];
  timeoutMs: number;
  killGraceMs: number;
  runOptions: RunOptions;
  env?: NodeJS.ProcessEnv;
}): Promise<RunResult> {
  const { reportedArgv, runOptions } = options;
  const unsendable = findUnsendableArgument(options.argv);
  if (unsendable !== null) {
    return Promise.reject(
      plainFailure({ kind: 'spawn', argv: reportedArgv, message: `refused to run: ${unsendable}` }),
    );
  }
  if (runOptions.signal?.aborted) {
    return Promise.reject(
      plainFailure({
        kind: 'aborted',
        argv: reportedArgv,
        message: 'aborted before it started',
        cause: runOptions.signal.reason,
      }),
    );
  }

  return new Promise<RunResult>((resolve, reject) => {
    const tied = tiedToThisProcess(options.file, options.argv);
    const child = spawn(tied.file, tied.argv, {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: options.env ?? virshEnvironment(),
    });
    let stopReason: StopReason | null = null;
    let killTimer: NodeJS.Timeout | undefined;

    let isSettled = false;
    // The whole group, not just virsh: an ssh that virsh started for qemu+ssh:// holds our pipes open too.
    const killGroup = (signal: NodeJS.Signals) => {
      if (child.pid === undefined || isSettled) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // ESRCH: the group is already gone.
      }
    };
    const stop = (reason: StopReason) => {
      if (stopReason !== null) return;
      stopReason = reason;
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), options.killGraceMs);
    };

    const output = createOutputCollector(runOptions, stop);
    child.stdout.on('data', (data: Buffer) => output.write('stdout', data));
    child.stderr.on('data', (data: Buffer) => output.write('stderr', data));
    const disarm = watchStop({
      timeoutMs: options.timeoutMs,
      delayMs: options.timeoutMs,
      signal: runOptions.signal,
      stop,
    });

    const settle = (outcome: () => void) => {
      if (isSettled) return;
      isSettled = true;
      disarm();
      clearTimeout(killTimer);
      outcome();
    };

    child.on('error', (error) => {
      // Only a failed spawn leaves pid undefined; other errors (a failed kill) are followed by 'close'.
      if (child.pid !== undefined) return;
      settle(() =>
        reject(
          plainFailure({
            kind: 'spawn',
            argv: reportedArgv,
            message: `could not start ${options.file}: ${error.message}`,
            cause: error,
          }),
        ),
      );
    });
    // 'close' waits for the pipes too, so every byte virsh wrote is in stdout/stderr by now.
    child.on('close', (exitCode, signal) => {
      const text = output.end();
      settle(() =>
        settleRun({ argv: reportedArgv, stopReason, exit: { code: exitCode, signal }, output: text }, resolve, reject),
      );
    });
  });
}
