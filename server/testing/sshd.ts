import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const SSHD_PATH = '/usr/sbin/sshd';
const START_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 2_000;
const PORT_ATTEMPTS = 5;

export type TestSshd = {
  host: '127.0.0.1';
  port: number;
  /** OpenSSH-style `SHA256:<base64 without padding>`, as `ssh-keygen -l -E sha256` prints it. */
  hostKeyFingerprint: string;
  hostKeyType: string;
  /** An unencrypted ed25519 key authorized for root on this sshd only. */
  clientKeyPath: string;
  /** Everything sshd logged so far (it runs with -e, logging to stderr). */
  log(): string;
  /** Successful logins so far; each is one TCP connection. */
  acceptedLogins(): number;
  /** Kills the per-connection sshd processes (as if the network dropped), keeping the listener. */
  dropConnections(): Promise<void>;
  stop(): Promise<void>;
};

/**
 * Starts Debian's real sshd on 127.0.0.1 with a random free port, a fresh host key and a fresh client key.
 * Everything lives in a temporary directory (config, keys, AuthorizedKeysFile, PidFile), so /root/.ssh and
 * /etc/ssh are never touched. Needs root, because sshd must switch to the logged-in user.
 */
export async function startTestSshd(): Promise<TestSshd> {
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  await assertRootCanUseKeys();
  const dir = await mkdtemp(join(tmpdir(), 'ferry-sshd-'));
  try {
    const hostKeyPath = join(dir, 'host_ed25519');
    const clientKeyPath = join(dir, 'client_ed25519');
    await generateKey(hostKeyPath, 'ferry-test-host');
    await generateKey(clientKeyPath, 'ferry-test-client');
    await writeFile(join(dir, 'authorized_keys'), await readFile(`${clientKeyPath}.pub`), { mode: 0o600 });
    const { fingerprint, keyType } = await readFingerprint(`${hostKeyPath}.pub`);

    let lastError: unknown = null;
    for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
      const port = await findFreePort();
      try {
        const running = await launch({ dir, port, hostKeyPath });
        return {
          host: '127.0.0.1',
          port,
          hostKeyFingerprint: fingerprint,
          hostKeyType: keyType,
          clientKeyPath,
          log: running.log,
          dropConnections: running.dropConnections,
          acceptedLogins: () => running.log().match(/^Accepted publickey for /gm)?.length ?? 0,
          stop: async () => {
            await running.stop();
            await rm(dir, { recursive: true, force: true });
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
 * With UsePAM off, sshd refuses even key logins to an account whose password field starts with `!`
 * (locked). `*` (no password, not locked) is what key-only root needs.
 */
async function assertRootCanUseKeys(): Promise<void> {
  const shadow = await readFile('/etc/shadow', 'utf8');
  const root = shadow.split('\n').find((line) => line.startsWith('root:'));
  const passwordField = root?.split(':')[1] ?? '';
  if (passwordField.startsWith('!')) {
    throw new Error(
      'root is locked in /etc/shadow ("!"), so sshd refuses key logins with UsePAM off. ' +
        "Run `usermod -p '*' root` once (no password, key login allowed) and retry.",
    );
  }
}

async function generateKey(path: string, comment: string): Promise<void> {
  await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
}

/** Parses `256 SHA256:abc… comment (ED25519)`. */
async function readFingerprint(publicKeyPath: string): Promise<{ fingerprint: string; keyType: string }> {
  const { stdout } = await execFileAsync('ssh-keygen', ['-l', '-E', 'sha256', '-f', publicKeyPath]);
  const match = /^\d+ (SHA256:[A-Za-z0-9+/]+) .*\(([A-Z0-9-]+)\)\s*$/.exec(stdout.trim());
  if (match === null) throw new Error(`unexpected ssh-keygen -l output: ${stdout}`);
  const publicKey = await readFile(publicKeyPath, 'utf8');
  return { fingerprint: match[1]!, keyType: publicKey.split(' ')[0]! };
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
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PrintMotd no',
      'LogLevel INFO',
      'MaxSessions 10',
      // sshd's SetEnv overrides the default environment: with HOME in the temp dir, the remote bash does not
      // source /root/.bashrc (Debian's bash reads it for ssh commands), so tests do not depend on that file.
      `SetEnv HOME=${join(options.dir, 'home')}`,
      '',
    ].join('\n'),
  );

  const child = spawn(SSHD_PATH, ['-D', '-e', '-f', configPath], {
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
      for (const target of await findDescendants(pid)) signal(target, 'SIGKILL');
    },
    stop: async () => {
      // Per-connection sshd processes call setsid(), so they are not in our process group: find them as
      // descendants of the listener we started and stop them by PID.
      const descendants = await findDescendants(pid);
      for (const target of [pid, ...descendants]) signal(target, 'SIGTERM');
      const killTimer = setTimeout(() => {
        for (const target of [pid, ...descendants]) signal(target, 'SIGKILL');
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

async function findDescendants(rootPid: number): Promise<number[]> {
  const parentOf = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // Fields after the parenthesised command name: state, ppid, …
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parentOf.set(Number(entry), Number(fields[1]));
    } catch {
      // The process ended while we looked.
    }
  }
  const found: number[] = [];
  const frontier = [rootPid];
  while (frontier.length > 0) {
    const parent = frontier.pop()!;
    for (const [pid, ppid] of parentOf) {
      if (ppid === parent) {
        found.push(pid);
        frontier.push(pid);
      }
    }
  }
  return found;
}
