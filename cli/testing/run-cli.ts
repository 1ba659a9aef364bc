import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FERRY_BIN = path.join(REPO_ROOT, 'cli', 'ferry.mjs');

export type CliRun = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string };

/**
 * Spawns the real `ferry` bin (`node cli/ferry.mjs …`, what `npx ferry` runs) with exactly the environment given
 * plus PATH/HOME, so a developer's own FERRY_URL or agent never leaks into a test.
 */
function spawnFerry(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; command?: string[]; stdin: 'ignore' | 'pipe' },
): ChildProcessByStdio<Writable | null, Readable, Readable> {
  const [file, ...prefix] = options.command ?? [process.execPath, FERRY_BIN];
  // stdout and stderr are always pipes; stdin is a pipe only for commands a test talks to (Ctrl-C prompts).
  return spawn(file as string, [...prefix, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: {
      NODE_ENV: process.env.NODE_ENV,
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/root',
      ...options.env,
    },
    stdio: [options.stdin, 'pipe', 'pipe'],
  }) as ChildProcessByStdio<Writable | null, Readable, Readable>;
}

/** Runs `ferry` to its end and returns its exit and everything it printed. */
export function runCli(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number; command?: string[] } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawnFerry(args, { ...options, stdin: 'ignore' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export type RunningCli = {
  child: ReturnType<typeof spawn>;
  /** Everything printed so far. */
  output: () => { stdout: string; stderr: string };
  /** Resolves once stdout (or stderr) matches `pattern`; rejects after `timeoutMs` or if the process ends first. */
  waitFor: (pattern: RegExp, options?: { timeoutMs?: number; stream?: 'stdout' | 'stderr' }) => Promise<string>;
  /** Resolves when it has exited, with everything it printed. */
  done: Promise<CliRun>;
};

/** Starts `ferry` and returns at once, for commands that run until something happens (migrate, watch). */
export function startCli(args: string[], options: { env?: Record<string, string>; command?: string[] }): RunningCli {
  const child = spawnFerry(args, { ...options, stdin: 'pipe' });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const listener of listeners) listener();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const listener of listeners) listener();
  });
  const done = new Promise<CliRun>((resolve) =>
    child.on('close', (code, signal) => {
      for (const listener of listeners) listener();
      resolve({ code, signal, stdout, stderr });
    }),
  );
  return {
    child,
    output: () => ({ stdout, stderr }),
    done,
    waitFor: (pattern, waitOptions = {}) =>
      new Promise((resolve, reject) => {
        const text = () => (waitOptions.stream === 'stderr' ? stderr : stdout);
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(
            new Error(
              `no ${pattern} within ${waitOptions.timeoutMs ?? 60_000} ms; stdout: ${stdout} stderr: ${stderr}`,
            ),
          );
        }, waitOptions.timeoutMs ?? 60_000);
        const check = () => {
          const match = pattern.exec(text());
          if (match) {
            clearTimeout(timer);
            listeners.delete(check);
            resolve(match[0]);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            clearTimeout(timer);
            listeners.delete(check);
            reject(new Error(`ferry ended before ${pattern}; stdout: ${stdout} stderr: ${stderr}`));
          }
        };
        listeners.add(check);
        check();
      }),
  };
}
