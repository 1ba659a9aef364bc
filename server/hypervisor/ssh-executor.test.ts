import { execFile, spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestSshd, type TestSshd } from '../testing/sshd';
import { createSshExecutor, probeHostKey, type SshExecutor, type SshExecutorOptions } from './ssh-executor';
import { HOSTILE_NAMES_URI, HOSTILE_VM_NAMES, expectVirshError, isProcessAlive, waitFor } from './test-support';

let sshd: TestSshd;
beforeAll(async () => {
  sshd = await startTestSshd();
});
afterAll(async () => {
  await sshd?.stop();
});

const executors: SshExecutor[] = [];
function open(overrides: Partial<SshExecutorOptions> = {}): SshExecutor {
  const executor = createSshExecutor({
    ...sshd.login,
    remoteUri: 'test:///default',
    ...overrides,
  });
  executors.push(executor);
  return executor;
}
afterEach(async () => {
  for (const executor of executors.splice(0)) await executor.close();
  // Every test, passing or not, must leave no remote process behind (found by sshd's session marker, so one
  // re-parented to init counts too).
  await sshd.expectNoSessionProcesses();
});

/**
 * PIDs of processes on this machine (the "remote" host is this machine) whose argv contains `token`: the
 * remote virsh, and the REMOTE_WRAPPER shell and its watcher, which carry virsh's argv as "$@".
 */
async function processesWithArgument(token: string, { program }: { program?: string } = {}): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (argv.includes(token) && (program === undefined || argv[0] === program)) found.push(Number(entry));
  }
  return found;
}

describe('ssh executor over one pooled connection', () => {
  it('runs many commands, sequential and concurrent, over a single TCP connection', async () => {
    const loginsBefore = sshd.acceptedLogins();
    const executor = open();
    const first = await executor.run(['list', '--all']);
    expect(first.stdout).toMatch(/^ 1 +test +running$/m);
    await waitFor(() => sshd.acceptedLogins() === loginsBefore + 1, { what: 'the login to be logged' });

    for (let index = 0; index < 10; index++)
      expect((await executor.run(['domstate', 'test'])).stdout).toBe('running\n\n');
    // 20 at once, more than sshd's MaxSessions (10): the executor caps its channels and retries the open
    // that sshd refuses while it still counts a just-closed session.
    const concurrent = await Promise.all(
      Array.from({ length: 20 }, (_, index) => executor.run(['echo', `call-${index}`])),
    );
    concurrent.forEach((result, index) => expect(result.stdout).toBe(`call-${index}\n`));

    expect(executor.connectionsOpened).toBe(1);
    expect(sshd.acceptedLogins()).toBe(loginsBefore + 1);
  });

  it('never has more than maxChannels commands running on the host', async () => {
    const executor = open({ maxChannels: 3 });
    const token = String(100_000 + Math.floor(Math.random() * 800_000));
    const controller = new AbortController();
    const runs = Array.from({ length: 7 }, () =>
      executor
        .run(['event', '--all', '--loop', '--timeout', token], { signal: controller.signal })
        .catch((error: unknown) => error),
    );
    const remoteVirsh = async () => (await processesWithArgument(token, { program: 'virsh' })).length;
    await waitFor(async () => (await remoteVirsh()) === 3, { what: 'three remote commands' });
    for (let check = 0; check < 10; check++) expect(await remoteVirsh()).toBeLessThanOrEqual(3);
    controller.abort();
    for (const outcome of await Promise.all(runs)) expect(outcome).toMatchObject({ kind: 'aborted' });
    expect(executor.connectionsOpened).toBe(1);
  });

  it('rejects a failing command with exit code and stderr', async () => {
    const error = await expectVirshError(open().run(['dominfo', 'no-such-vm']));
    expect(error.kind).toBe('exit');
    expect(error.exitCode).toBe(1);
    expect(error.stderr).toContain("error: failed to get domain 'no-such-vm'");
    expect(error.argv).toEqual([
      'ssh',
      `${sshd.username}@127.0.0.1:${sshd.port}`,
      'virsh',
      '-c',
      'test:///default',
      'dominfo',
      'no-such-vm',
    ]);
  });

  it('delivers hostile VM names through the remote shell intact, tab and newline included', async () => {
    const executor = open({ remoteUri: HOSTILE_NAMES_URI });
    for (const name of [...HOSTILE_VM_NAMES, 'tab\tname', 'new\nline']) {
      const { stdout } = await executor.run(['dominfo', '--domain', name]);
      // dominfo prints the raw name between `Name:` and the UUID line, newline and all.
      expect(/\nName: +([^]*?)\nUUID:/.exec(stdout)?.[1]).toBe(name);
    }
    // `$(…)` and `;` reach virsh as text: the remote shell ran nothing.
    const error = await expectVirshError(executor.run(['domstate', '$(touch /tmp/ferry-pwned); destroy plain']));
    expect(error.stderr).toContain("failed to get domain '$(touch /tmp/ferry-pwned); destroy plain'");
    await expect(readFile('/tmp/ferry-pwned')).rejects.toThrow(/ENOENT/);
  });

  it('runs a batch as one remote virsh, each answer and error its own; a line-unsafe command runs alone', async () => {
    // A remote "virsh" that counts its starts, then is the real one.
    const dir = await mkdtemp(join(tmpdir(), 'ferry-batch-'));
    try {
      const counter = join(dir, 'starts');
      const wrapper = join(dir, 'virsh');
      // The test sshd's user is not root: it must reach the wrapper and append to the counter.
      await chmod(dir, 0o755);
      await writeFile(counter, '', { mode: 0o666 });
      await chmod(counter, 0o666);
      await writeFile(wrapper, `#!/bin/sh\necho started >> '${counter}'\nexec virsh "$@"\n`, { mode: 0o755 });
      const executor = open({ remoteUri: HOSTILE_NAMES_URI, remoteVirshPath: wrapper });
      const [hostile] = HOSTILE_VM_NAMES;
      const results = await executor.runBatch([
        ['dominfo', '--domain', hostile],
        ['domstate', '--domain', 'no-such-vm'],
        ['domstate', '--domain', '$(touch /tmp/ferry-pwned); destroy plain'],
        ['dominfo', '--domain', 'new\nline'],
      ]);
      const starts = async () => (await readFile(counter, 'utf8')).split('\n').filter(Boolean).length;
      // The three line-safe commands in one virsh, the name with a newline in a second.
      expect(await starts()).toBe(2);
      const [info, missing, injected, newline] = results;
      expect(info?.ok && /\nName: +([^]*?)\nUUID:/.exec(info.result.stdout)?.[1]).toBe(hostile);
      expect(missing?.ok).toBe(false);
      expect(!missing?.ok && missing?.error.stderr).toContain("failed to get domain 'no-such-vm'");
      expect(!missing?.ok && missing?.error.argv).toEqual([
        'virsh',
        '-c',
        HOSTILE_NAMES_URI,
        'domstate',
        '--domain',
        'no-such-vm',
      ]);
      expect(!injected?.ok && injected?.error.stderr).toContain(
        "failed to get domain '$(touch /tmp/ferry-pwned); destroy plain'",
      );
      await expect(readFile('/tmp/ferry-pwned')).rejects.toThrow(/ENOENT/);
      expect(newline?.ok && /\nName: +([^]*?)\nUUID:/.exec(newline.result.stdout)?.[1]).toBe('new\nline');
      // Each answer is what the command alone answers (but for what this driver makes up per process).
      const steady = (text: string) => text.replace(/^(UUID|CPU time):.*$/gm, '$1:');
      const alone = await executor.run(['dominfo', '--domain', hostile]);
      expect(info?.ok && steady(info.result.stdout)).toBe(steady(alone.stdout));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('streams stdout and stderr chunks as they arrive', async () => {
    const executor = open();
    const stdoutChunks: string[] = [];
    const result = await executor.run(['dumpxml', 'test'], { onStdout: (chunk) => stdoutChunks.push(chunk) });
    expect(stdoutChunks.length).toBeGreaterThan(0);
    expect(stdoutChunks.join('')).toBe(result.stdout);
    expect(result.stdout).toContain('<name>test</name>');

    const stderrChunks: string[] = [];
    const error = await expectVirshError(
      executor.run(['dominfo', 'nope'], { onStderr: (chunk) => stderrChunks.push(chunk) }),
    );
    expect(stderrChunks.join('')).toBe(error.stderr);
  });

  it('refuses a NUL byte before opening anything', async () => {
    const executor = open();
    const error = await expectVirshError(executor.run(['dominfo', 'a\0b']));
    expect(error.kind).toBe('spawn');
    expect(executor.connectionsOpened).toBe(0);
  });
});

describe('ssh executor host keys', () => {
  it('probes the host key without logging in', async () => {
    const loginsBefore = sshd.acceptedLogins();
    const probe = await probeHostKey({ host: sshd.host, port: sshd.port });
    expect(probe).toEqual({ fingerprint: sshd.hostKeyFingerprint, keyType: 'ssh-ed25519' });
    expect(sshd.acceptedLogins()).toBe(loginsBefore);
  });

  it('refuses a host whose key differs from the pinned one, naming both fingerprints', async () => {
    const wrong = 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    const loginsBefore = sshd.acceptedLogins();
    const executor = open({ pinnedFingerprint: wrong });
    const error = await expectVirshError(executor.run(['list']));
    expect(error.kind).toBe('host-key');
    expect(error.message).toContain(`expected ${wrong}`);
    expect(error.message).toContain(`presented ${sshd.hostKeyFingerprint}`);
    expect(executor.presentedFingerprint).toBe(sshd.hostKeyFingerprint);
    // Still refused on the next try: nothing was learned or cached.
    expect((await expectVirshError(executor.run(['list']))).kind).toBe('host-key');
    expect(sshd.acceptedLogins()).toBe(loginsBefore);
  });

  it('refuses an unpinned host unless acceptUnpinned is set explicitly', async () => {
    const refused = await expectVirshError(open({ pinnedFingerprint: null }).run(['list']));
    expect(refused.kind).toBe('host-key');
    expect(refused.message).toContain('no host key is pinned');
    const accepted = await open({ pinnedFingerprint: null, acceptUnpinned: true }).run(['domstate', 'test']);
    expect(accepted.stdout).toBe('running\n\n');
  });

  it('reports a key the server does not accept as a connection error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-key-'));
    try {
      await promisify(execFile)('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'other')]);
      const error = await expectVirshError(open({ keyfile: join(dir, 'other') }).run(['list']));
      expect(error.kind).toBe('connection');
      expect(error.message).toContain('authentication methods failed');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports a closed port as a connection error', async () => {
    const error = await expectVirshError(open({ port: 1 }).run(['list']));
    expect(error.kind).toBe('connection');
    expect(error.message).toContain('ECONNREFUSED');
  });
});

describe('ssh executor stopping and reconnecting', () => {
  it('kills the remote virsh on timeout and keeps the connection for the next command', async () => {
    const executor = open();
    const token = String(100_000 + Math.floor(Math.random() * 800_000));
    const error = await expectVirshError(
      executor.run(['event', '--all', '--loop', '--timeout', token], { timeoutMs: 500 }),
    );
    expect(error.kind).toBe('timeout');
    await waitFor(async () => (await processesWithArgument(token)).length === 0, {
      what: 'the remote virsh to be killed',
    });
    expect((await executor.run(['domstate', 'test'])).stdout).toBe('running\n\n');
    expect(executor.connectionsOpened).toBe(1);
  });

  it('aborts a running command', async () => {
    const executor = open();
    const controller = new AbortController();
    const token = String(100_000 + Math.floor(Math.random() * 800_000));
    const running = executor.run(['event', '--all', '--loop', '--timeout', token], { signal: controller.signal });
    await waitFor(async () => (await processesWithArgument(token)).length > 0, { what: 'the remote virsh to start' });
    controller.abort();
    expect((await expectVirshError(running)).kind).toBe('aborted');
    await waitFor(async () => (await processesWithArgument(token)).length === 0, {
      what: 'the remote virsh to be killed',
    });
  });

  it('fails in-flight commands when the connection drops, then reconnects lazily', async () => {
    const executor = open();
    await executor.run(['domstate', 'test']);
    const token = String(100_000 + Math.floor(Math.random() * 800_000));
    const inFlight = executor.run(['event', '--all', '--loop', '--timeout', token]);
    await waitFor(async () => (await processesWithArgument(token, { program: 'virsh' })).length > 0, {
      what: 'the remote virsh to start',
    });
    // Only sshd is killed: the remote virsh must end by itself, because its channel's stdin is gone.
    await sshd.dropConnections();
    expect((await expectVirshError(inFlight)).kind).toBe('connection');
    await waitFor(async () => (await processesWithArgument(token)).length === 0, {
      what: 'the remote virsh to die with its connection',
    });
    await waitFor(() => !executor.isConnected, { what: 'the executor to notice the drop' });
    expect((await executor.run(['domstate', 'test'])).stdout).toBe('running\n\n');
    expect(executor.connectionsOpened).toBe(2);
  });

  it('stops a command aborted at any moment, also while its channel is still being opened', async () => {
    const executor = open();
    await executor.run(['domstate', 'test']);
    const tokens: string[] = [];
    // 0 ms: the abort lands while the channel open and the exec request are on the wire (the reply needs two
    // round trips and a fork on the far side); the later ones land before, during and after virsh starts.
    for (const delayMs of [0, 0, 0, 1, 2, 3, 5, 8, 12, 20, 40]) {
      const token = String(100_000 + Math.floor(Math.random() * 800_000));
      tokens.push(token);
      const controller = new AbortController();
      // A missed abort would end as a timeout after 20 s instead.
      const running = executor.run(['event', '--all', '--loop', '--timeout', token], {
        signal: controller.signal,
        timeoutMs: 20_000,
      });
      if (delayMs === 0) setImmediate(() => controller.abort());
      else setTimeout(() => controller.abort(), delayMs);
      const startedAt = Date.now();
      expect((await expectVirshError(running)).kind).toBe('aborted');
      expect(Date.now() - startedAt).toBeLessThan(5_000);
    }
    await waitFor(
      async () => (await Promise.all(tokens.map((token) => processesWithArgument(token)))).flat().length === 0,
      {
        what: 'every aborted remote virsh to be gone',
      },
    );
    expect(executor.connectionsOpened).toBe(1);
  }, 60_000);

  it('kills what the remote command started, not only the command', async () => {
    // A stand-in for a virsh that starts a child (as `virsh migrate` starts ssh): remoteVirshPath `sh` makes the
    // remote argv `sh -c <remoteUri> …`, so remoteUri is the script. It prints its own PID and its child's.
    const executor = open({ remoteVirshPath: 'sh', remoteUri: 'sleep 300 & echo "$$ $!"; wait' });
    const controller = new AbortController();
    let printed = '';
    const running = executor.run([], {
      signal: controller.signal,
      onStdout: (chunk) => {
        printed += chunk;
      },
    });
    await waitFor(() => printed.includes('\n'), { what: 'the stand-in to print its PIDs' });
    const pids = printed.trim().split(' ').map(Number);
    expect(pids).toHaveLength(2);
    expect(pids.every(isProcessAlive)).toBe(true);
    controller.abort();
    expect((await expectVirshError(running)).kind).toBe('aborted');
    await waitFor(() => !pids.some(isProcessAlive), { what: 'the command and its child to be killed' });
  });

  it('a remote virsh dies with its wrapper shell, even when the watcher is gone too (setpriv --pdeathsig)', async () => {
    const executor = open();
    const token = String(100_000 + Math.floor(Math.random() * 800_000));
    const failed = expectVirshError(executor.run(['event', '--all', '--loop', '--timeout', token]));
    await waitFor(async () => (await processesWithArgument(token, { program: 'virsh' })).length > 0, {
      what: 'the remote virsh to start',
    });
    const [virsh] = await processesWithArgument(token, { program: 'virsh' });
    // The wrapper shell and its watcher subshell carry virsh's argv as "$@"; kill -9 them both, as if the session
    // had been torn down without an EOF. Nothing is left to kill virsh but the kernel.
    const shells = (await processesWithArgument(token)).filter((pid) => pid !== virsh);
    expect(shells.length).toBeGreaterThan(0);
    for (const pid of shells) process.kill(pid, 'SIGKILL');
    await waitFor(() => !isProcessAlive(virsh as number), { what: 'the orphaned remote virsh to be killed' });
    expect((await failed).exitCode).toBe(137);
  });

  for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
    it(`the remote virsh dies when the Ferry process that started it gets ${signal}`, async () => {
      const token = String(100_000 + Math.floor(Math.random() * 800_000));
      const options: SshExecutorOptions = {
        host: sshd.host,
        port: sshd.port,
        username: sshd.username,
        keyfile: sshd.clientKeyPath,
        pinnedFingerprint: sshd.hostKeyFingerprint,
        remoteUri: 'test:///default',
      };
      const holder = new URL('./testdata/hold-remote-virsh.ts', import.meta.url).pathname;
      const ferry = spawn(
        process.execPath,
        ['--import', 'tsx', '--conditions=react-server', holder, JSON.stringify(options), token],
        { stdio: 'ignore' },
      );
      try {
        await waitFor(async () => (await processesWithArgument(token, { program: 'virsh' })).length > 0, {
          what: 'the remote virsh to start',
          timeoutMs: 20_000,
        });
        ferry.kill(signal);
        // The host's process table: nothing of the session is left (sshd's marker finds re-parented ones too).
        await waitFor(async () => (await processesWithArgument(token)).length === 0, {
          what: `the remote virsh to die after ${signal} of Ferry`,
        });
        await sshd.expectNoSessionProcesses();
      } finally {
        ferry.kill('SIGKILL');
      }
    }, 30_000);
  }
});
