import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestSshd } from '../testing/sshd';
import { createLocalExecutor } from './local-executor';
import {
  HOSTILE_NAMES_URI,
  HOSTILE_VM_NAMES,
  expectVirshError,
  isProcessAlive,
  makeHangingVirsh,
  waitFor,
} from './test-support';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe('createLocalExecutor against the libvirt test driver', () => {
  const executor = createLocalExecutor({ uri: 'test:///default' });

  it('lists the default domain', async () => {
    const result = await executor.run(['list', '--all']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^ 1 +test +running$/m);
    expect(result.stderr).toBe('');
  });

  it('runs dominfo', async () => {
    const { stdout } = await executor.run(['dominfo', 'test']);
    expect(stdout).toMatch(/^Name: +test$/m);
    expect(stdout).toMatch(/^State: +running$/m);
  });

  it('rejects a failing command with argv, exit code and stderr', async () => {
    const error = await expectVirshError(executor.run(['dominfo', 'no-such-vm']));
    expect(error.kind).toBe('exit');
    expect(error.exitCode).toBe(1);
    expect(error.argv).toEqual(['virsh', '-c', 'test:///default', 'dominfo', 'no-such-vm']);
    expect(error.stderr).toContain("error: failed to get domain 'no-such-vm'");
    expect(error.message).toContain("failed to get domain 'no-such-vm'");
  });

  it('streams stdout chunks that add up to the collected stdout', async () => {
    const chunks: string[] = [];
    const result = await executor.run(['dumpxml', 'test'], { onStdout: (chunk) => chunks.push(chunk) });
    expect(chunks.length).toBeGreaterThan(0);
    expect(chunks.join('')).toBe(result.stdout);
    expect(result.stdout).toContain("<domain type='test'");
  });

  it('passes hostile VM names as single argv entries on a test:///abs/path.xml host', async () => {
    const hostile = createLocalExecutor({ uri: HOSTILE_NAMES_URI });
    for (const name of HOSTILE_VM_NAMES) {
      const { stdout } = await hostile.run(['dominfo', '--domain', name]);
      const nameLine = stdout.split('\n').find((line) => line.startsWith('Name:'));
      expect(nameLine?.replace(/^Name:\s+/, '')).toBe(name);
    }
    const viaSeparator = await hostile.run(['domstate', '--', '--help']);
    expect(viaSeparator.stdout.trim()).toBe('running');
  });

  it('refuses an argument with a NUL byte without starting a process', async () => {
    const error = await expectVirshError(executor.run(['dominfo', 'a\0b']));
    expect(error.kind).toBe('spawn');
    expect(error.message).toContain('NUL');
  });

  it('reports a missing virsh binary as a spawn error', async () => {
    const missing = createLocalExecutor({ uri: 'test:///default', virshPath: '/nonexistent/virsh' });
    const error = await expectVirshError(missing.run(['list']));
    expect(error.kind).toBe('spawn');
  });
});

describe("createLocalExecutor with virsh's own ssh transport", () => {
  it('fails at once on an unknown host key instead of waiting for a yes/no answer', async () => {
    // stdin is /dev/null and there is no controlling terminal, so ssh cannot ask; it refuses. Nothing is
    // written to ~/.ssh/known_hosts. (Success needs a libvirtd behind the sshd: the e2e lab covers that.)
    const sshd = await startTestSshd();
    cleanups.push(sshd.stop);
    const uri = `qemu+ssh://root@127.0.0.1:${sshd.port}/system?keyfile=${sshd.clientKeyPath}`;
    const error = await expectVirshError(createLocalExecutor({ uri, defaultTimeoutMs: 20_000 }).run(['list']));
    expect(error.kind).toBe('exit');
    expect(error.stderr).toContain('Host key verification failed');
    expect(sshd.acceptedLogins()).toBe(0);
  });
});

describe('createLocalExecutor stopping commands', () => {
  it('kills the whole process group on timeout', async () => {
    const hanging = await makeHangingVirsh();
    cleanups.push(hanging.cleanup);
    const executor = createLocalExecutor({ uri: 'test:///default', virshPath: hanging.path, defaultTimeoutMs: 500 });
    const stdoutChunks: string[] = [];
    const error = await expectVirshError(executor.run(['list'], { onStdout: (chunk) => stdoutChunks.push(chunk) }));
    expect(error.kind).toBe('timeout');
    expect(error.message).toContain('timed out after 500 ms');
    expect(error.stdout).toBe('started\n');
    expect(stdoutChunks.join('')).toBe('started\n');
    const [scriptPid, sleepPid] = await hanging.readPids();
    expect(isProcessAlive(scriptPid!)).toBe(false);
    await waitFor(() => !isProcessAlive(sleepPid!), { what: 'the sleep child to die' });
  });

  it('kills the command when its AbortSignal fires', async () => {
    const hanging = await makeHangingVirsh();
    cleanups.push(hanging.cleanup);
    const executor = createLocalExecutor({ uri: 'test:///default', virshPath: hanging.path });
    const controller = new AbortController();
    const running = executor.run(['list'], {
      signal: controller.signal,
      onStdout: () => controller.abort(new Error('user pressed cancel')),
    });
    const error = await expectVirshError(running);
    expect(error.kind).toBe('aborted');
    const [scriptPid, sleepPid] = await hanging.readPids();
    expect(isProcessAlive(scriptPid!)).toBe(false);
    await waitFor(() => !isProcessAlive(sleepPid!), { what: 'the sleep child to die' });
  });

  it('does not start a command whose signal is already aborted', async () => {
    const hanging = await makeHangingVirsh();
    cleanups.push(hanging.cleanup);
    const executor = createLocalExecutor({ uri: 'test:///default', virshPath: hanging.path });
    const error = await expectVirshError(executor.run(['list'], { signal: AbortSignal.abort() }));
    expect(error.kind).toBe('aborted');
    await expect(hanging.readPids()).rejects.toThrow(/ENOENT/);
  });
});

/** PIDs of the processes whose parent is `parent` and whose program is `virsh`. */
function virshChildrenOf(parent: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const argv0 = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')[0] ?? '';
      if (ppid === parent && argv0.endsWith('virsh')) found.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

describe('no virsh outlives the Ferry process', () => {
  const holder = fileURLToPath(new URL('./testdata/hold-virsh.ts', import.meta.url));
  for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
    it(`a one-shot virsh and a virsh session die when Ferry gets ${signal}`, async () => {
      const token = String(100_000 + Math.floor(Math.random() * 800_000));
      const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=react-server', holder, token], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      cleanups.push(async () => {
        child.kill('SIGKILL');
      });
      const pid = child.pid as number;
      await waitFor(() => virshChildrenOf(pid).length === 2, {
        what: 'both virsh processes to start',
        timeoutMs: 20_000,
      });
      const virshes = virshChildrenOf(pid);
      process.kill(pid, signal);
      await waitFor(() => !virshes.some(isProcessAlive), { what: `every virsh to die after ${signal} of Ferry` });
      expect(virshes.filter(isProcessAlive)).toEqual([]);
    }, 30_000);
  }
});
