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
