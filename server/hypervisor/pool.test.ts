import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestSshd, type TestSshd } from '../testing/sshd';
import { createExecutorPool, sshTargetFromUri, type ExecutorPool } from './pool';
import type { SessionExecutor } from './session-executor';
import type { SshExecutor } from './ssh-executor';
import { HOSTILE_NAMES_URI, expectVirshError, isProcessAlive, waitFor } from './test-support';

let sshd: TestSshd;
beforeAll(async () => {
  sshd = await startTestSshd();
});
afterAll(async () => {
  await sshd?.stop();
});

let pool: ExecutorPool;
afterEach(async () => {
  await pool?.closeAll();
  await sshd.expectNoSessionProcesses();
});

const sshUri = () => `test+ssh://${sshd.username}@127.0.0.1:${sshd.port}/default?keyfile=${sshd.clientKeyPath}`;

describe('sshTargetFromUri', () => {
  it('takes user, host, port and keyfile from the URI and points virsh at the local driver', () => {
    expect(
      sshTargetFromUri('qemu+ssh://admin@hv1:2222/system?keyfile=/etc/ferry/id_ed25519&no_tty=1', 'ferry'),
    ).toEqual({
      username: 'admin',
      hostname: 'hv1',
      port: 2222,
      keyfile: '/etc/ferry/id_ed25519',
      remoteUri: 'qemu:///system',
    });
    expect(sshTargetFromUri('qemu+ssh://hv1/system', 'ferry')).toMatchObject({
      username: 'ferry',
      port: 22,
      keyfile: undefined,
    });
  });

  it('refuses URIs the ssh executor cannot use', () => {
    expect(() => sshTargetFromUri('qemu+tls://hv1/system', 'ferry')).toThrow(/transport "tls"/);
    expect(() => sshTargetFromUri('qemu:///system', 'ferry')).toThrow(/names no host/);
    expect(() => sshTargetFromUri('qemu+ssh://hv1/system; rm -rf /', 'ferry')).toThrow(/invalid libvirt URI/);
  });
});

describe('createExecutorPool', () => {
  it('caches one executor per host and replaces it when the URI changes', async () => {
    pool = createExecutorPool();
    const host = { id: 'h1', uri: 'test:///default', executorKind: 'session' as const, pinnedFingerprint: null };
    const first = pool.get(host) as SessionExecutor;
    expect(pool.get({ ...host })).toBe(first);
    expect((await first.run(['domstate', 'test'])).stdout).toBe('running\n\n');
    const firstPid = first.session.pid!;

    const moved = pool.get({ ...host, uri: HOSTILE_NAMES_URI });
    expect(moved).not.toBe(first);
    expect((await moved.run(['domstate', 'plain'])).stdout).toBe('running\n\n');
    await waitFor(() => !isProcessAlive(firstPid), { what: 'the replaced session to close' });

    const changedKind = pool.get({ ...host, uri: HOSTILE_NAMES_URI, executorKind: 'local' });
    expect(changedKind).not.toBe(moved);
    expect(changedKind.description).toBe(`local virsh -c ${HOSTILE_NAMES_URI}`);
    expect(pool.size).toBe(1);
  });

  it('applies the per-host time limit', async () => {
    pool = createExecutorPool({ defaultTimeoutMs: 60_000 });
    const executor = pool.get({
      id: 'slow',
      uri: 'test:///default',
      executorKind: 'session',
      pinnedFingerprint: null,
      timeoutMs: 300,
    });
    const error = await expectVirshError(executor.run(['event', '--all', '--loop']));
    expect(error.kind).toBe('timeout');
    expect(error.message).toContain('300 ms');
  });

  it('runs ssh hosts over one pooled connection with the pinned key, and re-creates on a new pin', async () => {
    pool = createExecutorPool();
    const host = { id: 'hv1', uri: sshUri(), executorKind: 'ssh' as const, pinnedFingerprint: sshd.hostKeyFingerprint };
    const executor = pool.get(host) as SshExecutor;
    expect(executor.description).toBe(`ssh ${sshd.username}@127.0.0.1:${sshd.port} virsh -c test:///default`);
    for (let index = 0; index < 5; index++)
      expect((await pool.get(host).run(['domstate', 'test'])).stdout).toBe('running\n\n');
    expect(executor.connectionsOpened).toBe(1);

    const repinned = pool.get({ ...host, pinnedFingerprint: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
    expect(repinned).not.toBe(executor);
    expect((await expectVirshError(repinned.run(['list']))).kind).toBe('host-key');
    await waitFor(() => !executor.isConnected, { what: 'the old connection to close' });
  });

  it('evicts and closes a host', async () => {
    pool = createExecutorPool();
    const host = { id: 'hv1', uri: sshUri(), executorKind: 'ssh' as const, pinnedFingerprint: sshd.hostKeyFingerprint };
    const executor = pool.get(host) as SshExecutor;
    await executor.run(['domstate', 'test']);
    expect(executor.isConnected).toBe(true);
    await pool.evict('hv1');
    expect(executor.isConnected).toBe(false);
    expect(pool.size).toBe(0);
    expect(pool.get(host)).not.toBe(executor);
  });

  it('reports an unusable ssh URI as a VirshError', () => {
    pool = createExecutorPool();
    expect(() =>
      pool.get({ id: 'bad', uri: 'qemu+tls://hv1/system', executorKind: 'ssh', pinnedFingerprint: null }),
    ).toThrow(/host bad: the ssh executor needs/);
  });
});
