import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { VirshError, type Executor } from './executor';

/** test:///… URI of a made-up host whose VM names break naive quoting (see testdata/hostile-names.xml). */
export const HOSTILE_NAMES_URI = `test://${fileURLToPath(new URL('./testdata/hostile-names.xml', import.meta.url))}`;

export const HOSTILE_VM_NAMES = [`a b'c"d;$(x)`, '--help', '#hash `id` héllo 日本 \\ back\\slash'] as const;

/** Awaits a promise that must reject with a VirshError and returns that error for further checks. */
export async function expectVirshError(promise: Promise<unknown>): Promise<VirshError> {
  const error: unknown = await promise.then(
    () => new Error('expected a VirshError, but the command succeeded'),
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(VirshError);
  return error as VirshError;
}

/**
 * A fake `virsh` that hangs: it starts a `sleep` child, writes both PIDs to a file and waits, so a test can
 * check that a timeout killed the whole process group and not only the script.
 */
export async function makeHangingVirsh(): Promise<{
  path: string;
  readPids: () => Promise<number[]>;
  cleanup: () => Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-hang-'));
  const path = join(dir, 'virsh');
  const pidFile = join(dir, 'pids');
  await writeFile(path, `#!/bin/sh\nsleep 300 &\necho "$$ $!" > '${pidFile}'\necho started\nwait\n`);
  await chmod(path, 0o755);
  return {
    path,
    readPids: async () => (await readFile(pidFile, 'utf8')).trim().split(' ').map(Number),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A zombie counts as dead: orphans are reparented to PID 1, which in some sandboxes never reaps them. */
export function isProcessAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state letter follows the parenthesised command name, which may itself contain spaces or ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Polls until `check` passes or the deadline expires; the deadline is a safety net, not an assertion on speed. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  { timeoutMs = 10_000, what = 'condition' } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * A real executor that keeps each command it is given, joined with spaces: how many runs a caller made and what
 * they carried (a batch's one virsh line, a read that should have been shared).
 */
export function recordingExecutor(inner: Executor): { executor: Executor; ran: string[] } {
  const ran: string[] = [];
  return {
    ran,
    executor: {
      description: inner.description,
      run: (args, options) => {
        ran.push(args.join(' '));
        return inner.run(args, options);
      },
      close: () => inner.close(),
    },
  };
}
