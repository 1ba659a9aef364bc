import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestSshd, type TestSshd } from '../testing/sshd';
import { createLocalExecutor } from './local-executor';
import { createSshMux, type SshMux } from './ssh-mux';
import { isProcessAlive, waitFor } from './test-support';

const execFileAsync = promisify(execFile);

// MaxSessions 1: the shared connection holds one session at a time, so the refusal of a second one can be seen.
let sshd: TestSshd;
let dir: string;
let knownHosts: string;
beforeAll(async () => {
  sshd = await startTestSshd({ maxSessions: 1 });
  dir = await mkdtemp(path.join(tmpdir(), 'ferry-mux-test-'));
  knownHosts = path.join(dir, 'known_hosts');
  await writeFile(knownHosts, `${sshd.knownHostsLine}\n`);
}, 30_000);
afterAll(async () => {
  // stop() fails if any command started over ssh outlived its connection.
  await sshd?.stop();
  await rm(dir, { recursive: true, force: true });
});

const muxes: SshMux[] = [];
afterEach(() => {
  for (const mux of muxes.splice(0)) mux.close();
});

// The test sshd's host key is in a known_hosts file of the test's own, not in root's.
const sshOptions = () => ['-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null'];
const uri = () => `qemu+ssh://${sshd.username}@127.0.0.1:${sshd.port}/system?keyfile=${sshd.clientKeyPath}`;

function open(options: { restartAfterMs?: number } = {}): SshMux {
  const mux = createSshMux(uri(), { sshOptions: sshOptions(), ...options });
  if (mux === null) throw new Error('expected a mux for a qemu+ssh URI');
  muxes.push(mux);
  return mux;
}

/** The program virsh is told to run as ssh (`command=` of the URI it gets). */
function wrapperOf(mux: SshMux): string {
  const command = new URLSearchParams(mux.connectUri().split('?')[1]).get('command');
  if (command === null) throw new Error(`no command= in ${mux.connectUri()}`);
  return command;
}

/** Runs a remote command the way libvirt runs its ssh: through the wrapper, with libvirt's options. */
async function runRemote(mux: SshMux, command: string): Promise<string> {
  const argv = ['-p', String(sshd.port), '-l', sshd.username, '-i', sshd.clientKeyPath, '-T', '-e', 'none'];
  const { stdout } = await execFileAsync(wrapperOf(mux), [...argv, '--', '127.0.0.1', command], { timeout: 20_000 });
  return stdout.trim();
}

describe('createSshMux', () => {
  it('applies only to the ssh transport with a host and no command of its own', () => {
    for (const other of [
      'test:///default',
      'qemu:///system',
      'qemu+tls://hv1/system',
      'qemu+libssh://root@hv1/system',
      'qemu+ssh://root@hv1/system?command=/usr/bin/ssh',
    ]) {
      expect(createSshMux(other), other).toBeNull();
    }
    expect(createSshMux(uri(), { enabled: false })).toBeNull();
    const mux = open();
    expect(mux.connectUri()).toMatch(
      /^qemu\+ssh:\/\/ferry-test@127\.0\.0\.1:\d+\/system\?keyfile=.+&command=\/.+\/ssh$/,
    );
  });

  it('logs in once, and every ssh virsh starts then opens a session on that connection', async () => {
    const before = sshd.acceptedLogins();
    const mux = open();
    expect(await mux.ready()).toBe(true);
    await waitFor(() => sshd.acceptedLogins() === before + 1, { what: "the master's login to be logged" });
    for (let run = 0; run < 3; run++) expect(await runRemote(mux, `echo ${run}`)).toBe(String(run));
    expect(sshd.acceptedLogins()).toBe(before + 1);
  });

  it('falls back to a login of its own while the master is down, and starts the master again when due', async () => {
    const late = open({ restartAfterMs: 600_000 });
    expect(await late.ready()).toBe(true);
    const pid = late.masterPid as number;
    // As if it died with no chance to remove its socket.
    process.kill(pid, 'SIGKILL');
    await waitFor(() => late.masterPid === null, { what: 'the master to be seen gone' });
    const before = sshd.acceptedLogins();
    expect(await runRemote(late, 'echo alone')).toBe('alone');
    expect(sshd.acceptedLogins()).toBe(before + 1);
    // Not due yet: no new master.
    late.connectUri();
    expect(late.masterPid).toBeNull();

    const due = open({ restartAfterMs: 0 });
    expect(await due.ready()).toBe(true);
    const first = due.masterPid as number;
    process.kill(first, 'SIGKILL');
    await waitFor(() => due.masterPid === null, { what: 'the master to be seen gone' });
    due.connectUri();
    expect(due.masterPid).not.toBeNull();
    expect(due.masterPid).not.toBe(first);
    expect(await due.ready()).toBe(true);
  });

  it('falls back to a login of its own when sshd refuses another session on the shared connection', async () => {
    const mux = open();
    expect(await mux.ready()).toBe(true);
    // Holds the one session MaxSessions allows, until its stdin closes.
    const argv = ['-p', String(sshd.port), '-l', sshd.username, '-i', sshd.clientKeyPath, '-T'];
    const holder = spawn(wrapperOf(mux), [...argv, '--', '127.0.0.1', 'echo held; cat'], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('held') && resolve());
        holder.once('exit', () => reject(new Error('the holding session ended early')));
      });
      const before = sshd.acceptedLogins();
      expect(await runRemote(mux, 'echo second')).toBe('second');
      expect(sshd.acceptedLogins()).toBe(before + 1);
    } finally {
      holder.stdin.end();
      await new Promise((resolve) => holder.once('close', resolve));
    }
  });

  it('close stops the master and removes the wrapper and the socket', async () => {
    const mux = createSshMux(uri(), { sshOptions: sshOptions() }) as SshMux;
    expect(await mux.ready()).toBe(true);
    const pid = mux.masterPid as number;
    const wrapper = wrapperOf(mux);
    expect(existsSync(wrapper)).toBe(true);
    mux.close();
    await waitFor(() => !isProcessAlive(pid), { what: 'the master to exit' });
    expect(existsSync(path.dirname(wrapper))).toBe(false);
    expect(mux.masterPid).toBeNull();
  });
});

describe('createLocalExecutor with the shared ssh connection', () => {
  it("gives virsh the wrapper, so virsh's connections add no login", async () => {
    const before = sshd.acceptedLogins();
    const executor = createLocalExecutor({
      uri: uri(),
      sshMux: { sshOptions: sshOptions() },
      defaultTimeoutMs: 20_000,
    });
    try {
      await waitFor(() => sshd.acceptedLogins() === before + 1, { what: "the master's login to be logged" });
      // The socket appears just after the login is logged.
      await new Promise((resolve) => setTimeout(resolve, 300));
      for (let run = 0; run < 2; run++) {
        // No libvirtd answers for the test account here: virsh fails on the far side of the session, not at login.
        const outcome = await executor.run(['list']).then(
          () => 'listed',
          (error: { stderr?: string }) => error.stderr ?? '',
        );
        // The far side answered: virt-ssh-helper ran on the host (or a libvirtd there refused the account).
        expect(outcome).toMatch(/virt-ssh-helper|authentication|listed/);
        expect(outcome).not.toContain('Host key verification failed');
      }
      expect(sshd.acceptedLogins()).toBe(before + 1);
    } finally {
      await executor.close();
    }
  });
});

describe('no ssh master outlives the Ferry process', () => {
  it('the master dies when Ferry gets SIGKILL', async () => {
    const holder = fileURLToPath(new URL('./testdata/hold-ssh-mux.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=react-server', holder, uri(), knownHosts], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const masterPid = await new Promise<number>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /master (\d+)/.exec(out);
          if (match) resolve(Number(match[1]));
          else if (out.includes('no master')) reject(new Error('the master did not come up'));
        });
        child.once('exit', () => reject(new Error(`the holder exited: ${out}`)));
      });
      expect(isProcessAlive(masterPid)).toBe(true);
      child.kill('SIGKILL');
      await waitFor(() => !isProcessAlive(masterPid), { what: 'the master to die with its Ferry' });
    } finally {
      child.kill('SIGKILL');
    }
  }, 30_000);
});
