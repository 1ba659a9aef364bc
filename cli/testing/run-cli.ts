import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FERRY_BIN = path.join(REPO_ROOT, 'cli', 'ferry.mjs');

export type CliRun = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string };

/**
 * Runs the real `ferry` bin as its own process (`node cli/ferry.mjs …`, what `npx ferry` runs) with exactly
 * the environment given plus PATH/HOME, so a developer's own FERRY_URL or agent never leaks into a test.
 */
export function runCli(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number; command?: string[] } = {},
): Promise<CliRun> {
  const [file, ...prefix] = options.command ?? [process.execPath, FERRY_BIN];
  return new Promise((resolve, reject) => {
    const child = spawn(file as string, [...prefix, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: {
        NODE_ENV: process.env.NODE_ENV,
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/root',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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
  const [file, ...prefix] = options.command ?? [process.execPath, FERRY_BIN];
  const child = spawn(file as string, [...prefix, ...args], {
    cwd: REPO_ROOT,
    env: {
      NODE_ENV: process.env.NODE_ENV,
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/root',
      ...options.env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
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
