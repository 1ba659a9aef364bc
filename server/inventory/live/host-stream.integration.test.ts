import { chmod, copyFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Executor } from '../../hypervisor/executor';
import { createSessionExecutor } from '../../hypervisor/session-executor';
import { createSshExecutor } from '../../hypervisor/ssh-executor';
import { isProcessAlive, waitFor } from '../../hypervisor/test-support';
import { startTestSshd, type TestSshd } from '../../testing/sshd';
import { startHostStream, type StreamState } from './host-stream';

/**
 * The stream over real virsh (test driver) and real executors: it connects (real `version --daemon`), its
 * `virsh event --all --loop --timestamp` runs, and stop() leaves no process behind, locally or on the "host" (this
 * machine, over the test sshd). The test driver keeps its state per process, so no event can reach this loop: the
 * events themselves are checked on the lab (e2e/live-fleet.spec.ts).
 */

let dir: string;
let uri: string;
let sshd: TestSshd;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-stream-'));
  // A host file of our own, so the processes found below are this test's and no one else's.
  const file = join(dir, 'stream-host.xml');
  await copyFile(fileURLToPath(new URL('../../hypervisor/testdata/hostile-names.xml', import.meta.url)), file);
  // Readable by the test sshd's user, who runs the "remote" virsh.
  await chmod(dir, 0o755);
  await chmod(file, 0o644);
  uri = `test://${file}`;
  sshd = await startTestSshd();
});
afterAll(async () => {
  await sshd?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** PIDs of `virsh … event --all --loop --timestamp` processes whose argv names this test's host file. */
async function eventLoops(): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0');
    // argv[0]: the remote wrapper shells carry virsh's argv too, as "$@".
    const isVirsh = argv[0] === 'virsh' || (argv[0] ?? '').endsWith('/virsh');
    if (isVirsh && argv.includes(uri) && argv.includes('--loop') && isProcessAlive(Number(entry)))
      found.push(Number(entry));
  }
  return found;
}

async function runStream(executor: Executor) {
  const states: StreamState[] = [];
  const versions: string[] = [];
  const stream = startHostStream({
    executor: () => executor,
    onEvent: () => {},
    onConnected: ({ libvirtVersion }) => versions.push(libvirtVersion),
    onState: (state) => states.push(state),
    describeError: (error) => String(error),
    minBackoffMs: 50,
    maxBackoffMs: 200,
  });
  await waitFor(() => versions.length === 1, { what: 'the stream to go live' });
  expect(states.map((state) => state.kind)).toEqual(['connecting', 'live']);
  expect(versions[0]).toMatch(/^\d+\.\d+\.\d+$/);
  await waitFor(async () => (await eventLoops()).length === 1, { what: 'the event loop process' });
  const [pid] = await eventLoops();

  // restart(): the running loop is killed and a new one started (what an edited host gets).
  stream.restart();
  await waitFor(() => versions.length === 2, { what: 'the stream to reconnect' });
  await waitFor(async () => !isProcessAlive(pid as number), { what: 'the first loop to die' });
  expect(states.map((state) => state.kind)).toContain('reconnecting');
  expect(states.at(-1)?.kind).toBe('live');

  await stream.stop();
  await waitFor(async () => (await eventLoops()).length === 0, { what: 'no event loop left' });
  expect(states.at(-1)?.kind).toBe('stopped');
}

describe('host stream over real virsh', () => {
  it('runs virsh event through the local executor (tied spawn) and leaves nothing after stop', async () => {
    const executor = createSessionExecutor({ uri });
    try {
      await runStream(executor);
    } finally {
      await executor.close();
    }
  });

  it('runs virsh event on the host over the pooled ssh connection and leaves nothing there after stop', async () => {
    const executor = createSshExecutor({
      ...sshd.login,
      remoteUri: uri,
    });
    try {
      await runStream(executor);
    } finally {
      await executor.close();
    }
    await sshd.expectNoSessionProcesses();
  });

  it('reconnects and re-lists when the virsh on the host dies (as when libvirtd goes away)', async () => {
    const executor = createSshExecutor({
      ...sshd.login,
      remoteUri: uri,
    });
    const states: StreamState[] = [];
    let connects = 0;
    const stream = startHostStream({
      executor: () => executor,
      onEvent: () => {},
      onConnected: () => connects++,
      onState: (state) => states.push(state),
      describeError: (error) => String(error),
      minBackoffMs: 50,
      maxBackoffMs: 200,
    });
    try {
      await waitFor(() => connects === 1, { what: 'live' });
      await waitFor(async () => (await eventLoops()).length === 1, { what: 'the event loop process' });
      const [pid] = await eventLoops();
      process.kill(pid as number, 'SIGKILL');
      await waitFor(() => connects === 2, { what: 'a reconnect' });
      expect(states.map((state) => state.kind)).toEqual(['connecting', 'live', 'reconnecting', 'live']);
      expect(states[2]).toMatchObject({ kind: 'reconnecting', attempt: 1 });
    } finally {
      await stream.stop();
      await executor.close();
    }
    await waitFor(async () => (await eventLoops()).length === 0, { what: 'no event loop left' });
    await sshd.expectNoSessionProcesses();
  });
});
