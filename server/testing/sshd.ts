import { execFile, spawn } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const SSHD_PATH = '/usr/sbin/sshd';
/** What sshd's own processes are called: OpenSSH 9.8 split the per-connection part into sshd-session. */
const SSHD_COMMS = ['sshd', 'sshd-session'] as const;
const START_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 2_000;
const PORT_ATTEMPTS = 5;
/** How long a remote command may take to die after its connection is gone before it counts as left behind. */
const SESSION_EXIT_GRACE_MS = 3_000;

/**
 * The unprivileged account the tests log in as. Created once, explicitly, by
 * `bash scripts/install-system-deps.sh --test-user` (see README, "Test it"), so no test touches root's account.
 */
export const TEST_SSH_USER = 'ferry-test';
const CREATE_USER_HINT = 'create it once with `bash scripts/install-system-deps.sh --test-user` (README, "Test it")';

export type SessionProcess = { pid: number; argv: string[] };

export type TestSshd = {
  host: '127.0.0.1';
  port: number;
  /** The account to log in as (TEST_SSH_USER); only the client key below is authorized for it, only here. */
  username: string;
  /** OpenSSH-style `SHA256:<base64 without padding>`, as `ssh-keygen -l -E sha256` prints it. */
  hostKeyFingerprint: string;
  hostKeyType: string;
  /** The host key as a known_hosts line for this address and port (`[127.0.0.1]:port ssh-ed25519 AAAA…`). */
  knownHostsLine: string;
  /** An unencrypted ed25519 key authorized for `username` on this sshd only. */
  clientKeyPath: string;
  /** What createSshExecutor needs to log in here: address, account, client key, and the host key pinned. */
  login: { host: '127.0.0.1'; port: number; username: string; keyfile: string; pinnedFingerprint: string };
  /** Everything sshd logged so far (it runs with -e, logging to stderr). */
  log(): string;
  /** Successful logins so far; each is one TCP connection. */
  acceptedLogins(): number;
  /**
   * Kills the per-connection sshd processes (as if the network dropped), keeping the listener. The commands of
   * those sessions are not touched: they must end on their own when their channel's stdin reaches EOF.
   */
  dropConnections(): Promise<void>;
  /**
   * Every live process started through this sshd, found by the marker variable sshd puts in each session's
   * environment, so a process that lost its parent (re-parented to init) is still found.
   */
  sessionProcesses(): Promise<SessionProcess[]>;
  /** Waits briefly for every session process to end, then fails naming the ones that did not. */
  expectNoSessionProcesses(): Promise<void>;
  /**
   * Stops sshd and its connections. A command that outlives its connection is killed, and stop() then fails
   * naming it: a remote process that survives its channel is a bug in the executor, not something to hide.
   */
  stop(): Promise<void>;
};

/**
 * Starts Debian's real sshd on 127.0.0.1 with a random free port, a fresh host key and a fresh client key,
 * accepting only that key and only for TEST_SSH_USER. Everything lives in a temporary directory (config, keys,
 * AuthorizedKeysFile, PidFile, the session HOME), so no account, /root/.ssh or /etc/ssh is touched. Needs root,
 * because sshd must switch to the logged-in user.
 */
export async function startTestSshd(options: { maxSessions?: number } = {}): Promise<TestSshd> {
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const user = await readTestUser();
  const dir = await mkdtemp(join(tmpdir(), 'ferry-sshd-'));
  try {
    // sshd reads AuthorizedKeysFile as the user logging in; the keys themselves stay readable by root only.
    await chmod(dir, 0o711);
    const hostKeyPath = join(dir, 'host_ed25519');
    const clientKeyPath = join(dir, 'client_ed25519');
    await generateKey(hostKeyPath, 'ferry-test-host');
    await generateKey(clientKeyPath, 'ferry-test-client');
    await writeFile(join(dir, 'authorized_keys'), await readFile(`${clientKeyPath}.pub`), { mode: 0o644 });
    await mkdir(join(dir, 'home'));
    await chown(join(dir, 'home'), user.uid, user.gid);
    const { fingerprint, keyType, publicKey: hostPublicKey } = await readFingerprint(`${hostKeyPath}.pub`);

    let lastError: unknown = null;
    for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
      const port = await findFreePort();
      try {
        const running = await launch({ dir, port, hostKeyPath, maxSessions: options.maxSessions ?? 10 });
        const sessionProcesses = () => findByEnvironment(sessionMarker(dir));
        const expectNoSessionProcesses = async () => {
          const left = await waitForNone(sessionProcesses, SESSION_EXIT_GRACE_MS);
          if (left.length > 0) throw new Error(`remote processes outlived their SSH channel: ${describe(left)}`);
        };
        return {
          host: '127.0.0.1',
          port,
          username: TEST_SSH_USER,
          hostKeyFingerprint: fingerprint,
          hostKeyType: keyType,
          knownHostsLine: `[127.0.0.1]:${port} ${hostPublicKey}`,
          clientKeyPath,
          login: {
            host: '127.0.0.1',
            port,
            username: TEST_SSH_USER,
            keyfile: clientKeyPath,
            pinnedFingerprint: fingerprint,
          },
          log: running.log,
          dropConnections: running.dropConnections,
          acceptedLogins: () => running.log().match(/^Accepted publickey for /gm)?.length ?? 0,
          sessionProcesses,
          expectNoSessionProcesses,
          stop: async () => {
            await running.stop();
            // With sshd gone every session's stdin is at EOF: whatever still runs was left behind.
            const left = await waitForNone(sessionProcesses, SESSION_EXIT_GRACE_MS);
            for (const process of left) signal(process.pid, 'SIGKILL');
            await rm(dir, { recursive: true, force: true });
            if (left.length > 0) throw new Error(`remote processes outlived sshd (now killed): ${describe(left)}`);
          },
        };
      } catch (error) {
        // Another process may have taken the port between our probe and sshd's bind; try another.
        lastError = error;
      }
    }
    throw lastError;
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * The test account must exist and must not be locked: with UsePAM off, sshd refuses even key logins to an
 * account whose password field starts with `!`. scripts/install-system-deps.sh --test-user creates it with `*`
 * (no password can match, key login allowed).
 */
async function readTestUser(): Promise<{ uid: number; gid: number }> {
  const passwd = await readFile('/etc/passwd', 'utf8');
  const entry = passwd.split('\n').find((line) => line.startsWith(`${TEST_SSH_USER}:`));
  if (entry === undefined)
    throw new Error(`the ssh tests log in as ${TEST_SSH_USER}, which does not exist: ${CREATE_USER_HINT}`);
  const shadow = await readFile('/etc/shadow', 'utf8');
  const passwordField =
    shadow
      .split('\n')
      .find((line) => line.startsWith(`${TEST_SSH_USER}:`))
      ?.split(':')[1] ?? '';
  if (passwordField.startsWith('!')) {
    throw new Error(
      `${TEST_SSH_USER} is locked ("!" in /etc/shadow), so sshd refuses its key logins: ${CREATE_USER_HINT}`,
    );
  }
  const [, , uid, gid] = entry.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** The variable sshd sets in every session it starts (SetEnv), unique to this sshd's temporary directory. */
function sessionMarker(dir: string): string {
  return `FERRY_TEST_SSHD=${dir}`;
}

async function generateKey(path: string, comment: string): Promise<void> {
  await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
}

/** Parses `256 SHA256:abc… comment (ED25519)`; also the public key's own line (`ssh-ed25519 AAAA… comment`). */
async function readFingerprint(
  publicKeyPath: string,
): Promise<{ fingerprint: string; keyType: string; publicKey: string }> {
  const { stdout } = await execFileAsync('ssh-keygen', ['-l', '-E', 'sha256', '-f', publicKeyPath]);
  const match = /^\d+ (SHA256:[A-Za-z0-9+/]+) .*\(([A-Z0-9-]+)\)\s*$/.exec(stdout.trim());
  if (match === null) throw new Error(`unexpected ssh-keygen -l output: ${stdout}`);
  const publicKey = (await readFile(publicKeyPath, 'utf8')).trim();
  return { fingerprint: match[1]!, keyType: publicKey.split(' ')[0]!, publicKey };
}

function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function launch(options: {
  dir: string;
  port: number;
  hostKeyPath: string;
  /** Sessions one connection may hold at once (sshd's MaxSessions). */
  maxSessions: number;
}): Promise<{ log: () => string; stop: () => Promise<void>; dropConnections: () => Promise<void> }> {
  const configPath = join(options.dir, 'sshd_config');
  await mkdir(join(options.dir, 'home'), { recursive: true });
  await writeFile(
    configPath,
    [
      `ListenAddress 127.0.0.1:${options.port}`,
      `HostKey ${options.hostKeyPath}`,
      `PidFile ${join(options.dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(options.dir, 'authorized_keys')}`,
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin no',
      `AllowUsers ${TEST_SSH_USER}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PrintMotd no',
      'LogLevel INFO',
      `MaxSessions ${options.maxSessions}`,
      // sshd's SetEnv overrides the default environment: with HOME in the temp dir, the remote bash reads no
      // ~/.bashrc (Debian's bash reads it for ssh commands), so tests do not depend on that file. The marker
      // is inherited by everything a session starts: sessionProcesses() finds them by it.
      `SetEnv HOME=${join(options.dir, 'home')} ${sessionMarker(options.dir)}`,
      '',
    ].join('\n'),
  );

  // --pdeathsig: if the test process dies without stop() (killed, crashed), the listener goes with it instead of
  // lingering re-parented to init. setpriv execs sshd, so child.pid is sshd's PID.
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', SSHD_PATH, '-D', '-e', '-f', configPath], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let log = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    log += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`sshd did not start within ${START_TIMEOUT_MS} ms:\n${log}`)),
      START_TIMEOUT_MS,
    );
    const onData = () => {
      if (!log.includes(`Server listening on 127.0.0.1 port ${options.port}.`)) return;
      clearTimeout(timer);
      child.stderr.off('data', onData);
      resolve();
    };
    child.stderr.on('data', onData);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`sshd exited with ${code} before listening:\n${log}`));
    });
  });

  const pid = child.pid!;
  return {
    log: () => log,
    dropConnections: async () => {
      for (const target of await findDescendants(pid, { comms: SSHD_COMMS })) signal(target, 'SIGKILL');
    },
    stop: async () => {
      // Per-connection sshd processes call setsid(), so they are not in our process group: find them as
      // descendants of the listener we started and stop them by PID. Only sshd itself: the commands of its
      // sessions must end on their own once their stdin is closed (stop() in startTestSshd checks that).
      const connections = await findDescendants(pid, { comms: SSHD_COMMS });
      for (const target of [pid, ...connections]) signal(target, 'SIGTERM');
      const killTimer = setTimeout(() => {
        for (const target of [pid, ...connections]) signal(target, 'SIGKILL');
      }, STOP_GRACE_MS);
      await exited;
      clearTimeout(killTimer);
    },
  };
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

/** Descendants of rootPid (only those whose name is in `comms`, if given; the walk passes through all). */
async function findDescendants(rootPid: number, { comms }: { comms?: readonly string[] } = {}): Promise<number[]> {
  const parentOf = new Map<number, { ppid: number; comm: string }>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // Fields after the parenthesised command name: state, ppid, …
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parentOf.set(Number(entry), {
        ppid: Number(fields[1]),
        comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
      });
    } catch {
      // The process ended while we looked.
    }
  }
  const found: number[] = [];
  const frontier = [rootPid];
  while (frontier.length > 0) {
    const parent = frontier.pop()!;
    for (const [pid, process] of parentOf) {
      if (process.ppid === parent) {
        if (comms === undefined || comms.includes(process.comm)) found.push(pid);
        frontier.push(pid);
      }
    }
  }
  return found;
}

/** Live processes (zombies are not) whose environment holds exactly `variable` (NAME=value). */
async function findByEnvironment(variable: string): Promise<SessionProcess[]> {
  const found: SessionProcess[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environment = (await readFile(`/proc/${entry}/environ`, 'utf8')).split('\0');
      if (!environment.includes(variable)) continue;
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') continue;
      const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0').filter((arg) => arg !== '');
      found.push({ pid: Number(entry), argv });
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

async function waitForNone(list: () => Promise<SessionProcess[]>, timeoutMs: number): Promise<SessionProcess[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = await list();
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function describe(processes: SessionProcess[]): string {
  return processes.map(({ pid, argv }) => `${pid} ${argv.join(' ').slice(0, 200)}`).join('; ');
}
