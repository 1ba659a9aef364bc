import 'server-only';
import { createHash } from 'node:crypto';
import { readBoundedKeyfile } from './keyfile';
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import type { RunOptions, RunResult } from './executor';
import { findUnsendableArgument, plainFailure } from './failure';
import { DEFAULT_TIMEOUT_MS, KILL_GRACE_MS } from './local-executor';
import { raceWithSignal } from './deadline';
import { createOutputCollector, settleRun, watchStop, type StopReason } from './run-output';
import { quoteForPosixShell } from './shell-quote';
import type { BatchingExecutor } from './prefetch';
import { canRunInSession } from './session-executor';
import { runMissingAlone, runOneShotBatch } from './virsh-batch';
import type { BatchItemResult, SessionRunOptions } from './virsh-session';

export const DEFAULT_REMOTE_URI = 'qemu:///system';
/** Below OpenSSH's default MaxSessions (10), so sshd never refuses a channel we open. */
export const DEFAULT_MAX_CHANNELS = 8;
export const DEFAULT_READY_TIMEOUT_MS = 10_000;
/** A silent peer is declared dead after interval × count (45 s); the next command then reconnects. */
export const DEFAULT_KEEPALIVE_INTERVAL_MS = 15_000;
export const DEFAULT_KEEPALIVE_COUNT_MAX = 3;
/**
 * sshd frees a finished session only on its next loop pass after our CLOSE, so a channel opened right
 * after another closed can be refused as over MaxSessions (seen with 20 concurrent commands at a cap of 8).
 * Such a refusal is retried after a short pause.
 */
const CHANNEL_OPEN_RETRIES = 5;
const CHANNEL_OPEN_RETRY_PAUSE_MS = 20;

/**
 * The remote side of every command, run as `sh -c <this> ferry-virsh virsh -c <uri> <args…>`. A watcher starts
 * first and waits for EOF on the channel's stdin; then virsh runs in the background with our argv ("$@", never
 * parsed again). On EOF the watcher kills its whole process group: sshd starts every session in a new session
 * and process group (setsid), so that group is exactly this command's processes: this shell, virsh, and anything
 * virsh started (the ssh of a `virsh migrate` to a qemu+ssh destination). EOF is how Ferry stops a remote
 * command (timeout, abort), and it is also what the command sees when the connection drops, so nothing outlives
 * its channel. The watcher exists before virsh does, so no moment leaves a virsh without one.
 * An SSH "signal" request cannot do this: OpenSSH refuses it for root sessions (sshd 9.2 logs "session
 * signalling requires privilege separation"), and without a pty, closing the channel leaves the command running.
 * The locale is pinned here rather than by an SSH env request, which sshd drops unless AcceptEnv lists it.
 * Where util-linux `setpriv` exists, virsh is also tied to this shell (`--pdeathsig KILL`), and the shell to
 * sshd's session process (REMOTE_TIE): a virsh once outlived an aborted command, re-parented to init and
 * ignoring SIGTERM; now if the watcher or the shell is gone, the kernel kills what they leave.
 */
export const REMOTE_WRAPPER = [
  'LC_ALL=C.UTF-8; export LC_ALL',
  'exec 3<&0',
  '{ read -r _ <&3; kill -KILL 0; } >/dev/null 2>&1 &',
  'watcher=$!',
  'tie=',
  'command -v setpriv >/dev/null 2>&1 && tie="setpriv --pdeathsig KILL --"',
  '$tie "$@" </dev/null 3<&- &',
  'pid=$!',
  'exec 3<&-',
  'wait "$pid"; status=$?',
  'kill "$watcher" 2>/dev/null',
  'exit "$status"',
].join('\n');

/**
 * Runs first, as `sh -c <this> ferry-tie sh -c <REMOTE_WRAPPER> …`: re-execs into the wrapper through setpriv, so
 * the wrapper shell dies with sshd's session process (the connection), even when nothing reads its stdin.
 */
export const REMOTE_TIE =
  'if command -v setpriv >/dev/null 2>&1; then exec setpriv --pdeathsig KILL -- "$@"; fi; exec "$@"';

/** OpenSSH's fingerprint format (`ssh-keygen -l -E sha256`): `SHA256:` + base64 of SHA-256, no padding. */
export function fingerprintOfHostKey(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * The key type named at the start of an SSH public key blob (RFC 4253 §6.6): `ssh-ed25519`,
 * `ecdsa-sha2-nistp256`, …
 */
export function keyTypeOfHostKey(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const length = keyBlob.readUInt32BE(0);
  return length > 0 && 4 + length <= keyBlob.length ? keyBlob.subarray(4, 4 + length).toString('latin1') : 'unknown';
}

function normalizeFingerprint(fingerprint: string): string {
  return fingerprint.trim().replace(/=+$/, '');
}

export type HostKeyProbe = { fingerprint: string; keyType: string };

/**
 * Connects, reads the host key the server presents, and disconnects before authenticating. Used when an
 * admin adds a host, so Ferry can show the fingerprint to compare with `ssh-keygen -lf` on the host.
 */
export function probeHostKey(options: { host: string; port?: number; timeoutMs?: number }): Promise<HostKeyProbe> {
  const port = options.port ?? 22;
  return new Promise((resolve, reject) => {
    const client = new Client();
    let probe: HostKeyProbe | null = null;
    let failure: Error | null = null;
    client.on('error', (error) => {
      failure ??= error;
    });
    client.on('close', () => {
      if (probe !== null) resolve(probe);
      else
        reject(
          new Error(
            `could not read the SSH host key of ${options.host}:${port}: ${failure?.message ?? 'connection closed'}`,
            { cause: failure },
          ),
        );
    });
    client.connect({
      host: options.host,
      port,
      username: 'ferry-host-key-probe',
      readyTimeout: options.timeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
      hostVerifier: (key: Buffer) => {
        probe = { fingerprint: fingerprintOfHostKey(key), keyType: keyTypeOfHostKey(key) };
        // Refusing ends the handshake here: nothing is sent that could authenticate.
        return false;
      },
    });
  });
}

export type SshExecutorOptions = {
  host: string;
  port?: number;
  username: string;
  /** Path of the private key on the Ferry box (the `keyfile` URI parameter). */
  keyfile?: string;
  /** The private key itself, instead of a keyfile. */
  privateKey?: string | Buffer;
  /** `SHA256:…` of the host key the admin confirmed. A different key is refused. */
  pinnedFingerprint: string | null;
  /** Connect to a host with no pinned key. Off unless asked for explicitly; never for production hosts. */
  acceptUnpinned?: boolean;
  /** URI virsh uses on the host itself: `qemu:///system` (default), or `test:///default` in tests. */
  remoteUri?: string;
  remoteVirshPath?: string;
  defaultTimeoutMs?: number;
  /** After asking the remote virsh to stop, how long to wait for its channel to close before giving up on it. */
  killGraceMs?: number;
  maxChannels?: number;
  readyTimeoutMs?: number;
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
};

export type SshExecutor = BatchingExecutor & {
  /** TCP connections opened so far; stays at 1 while the pooled connection lives. */
  readonly connectionsOpened: number;
  /** Fingerprint of the host key seen on the last connection attempt, if any. */
  readonly presentedFingerprint: string | null;
  /** Whether a pooled connection is open (or opening) right now. */
  readonly isConnected: boolean;
};

type Connection = { client: Client; ready: Promise<Client>; isAlive: boolean };

/**
 * Runs `virsh -c <remoteUri> <args…>` on the hypervisor itself over ONE pooled SSH connection per host:
 * concurrent commands are channels on that connection (at most `maxChannels` at a time), and a dropped
 * connection is replaced by the next command. An SSH `exec` carries one string for the remote login shell,
 * so the argv is quoted once, by quoteForPosixShell, around REMOTE_WRAPPER.
 * Long because it is the executor object: its methods close over the one connection and its queue.
 */
export function createSshExecutor(options: SshExecutorOptions): SshExecutor {
  const port = options.port ?? 22;
  const remoteUri = options.remoteUri ?? DEFAULT_REMOTE_URI;
  const remoteVirshPath = options.remoteVirshPath ?? 'virsh';
  const defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const killGraceMs = options.killGraceMs ?? KILL_GRACE_MS;
  const maxChannels = options.maxChannels ?? DEFAULT_MAX_CHANNELS;
  const pinned = options.pinnedFingerprint === null ? null : normalizeFingerprint(options.pinnedFingerprint);
  const target = `${options.username}@${options.host}:${port}`;

  let connection: Connection | null = null;
  let connectionsOpened = 0;
  let presentedFingerprint: string | null = null;
  let isClosed = false;
  let openChannels = 0;
  const channelWaiters: Array<() => void> = [];

  function verifyHostKey(keyBlob: Buffer): string | null {
    const presented = fingerprintOfHostKey(keyBlob);
    presentedFingerprint = presented;
    if (pinned === null) {
      if (options.acceptUnpinned === true) return null;
      return `refusing ${target}: no host key is pinned for it (presented ${keyTypeOfHostKey(keyBlob)} ${presented}); confirm the fingerprint first`;
    }
    if (presented !== pinned) {
      return `host key of ${target} does not match: expected ${pinned}, presented ${presented}; the host was reinstalled or the connection is intercepted, so it is refused`;
    }
    return null;
  }

  function connect(argv: readonly string[]): Promise<Client> {
    if (connection?.isAlive) return connection.ready;
    const client = new Client();
    let hostKeyProblem: string | null = null;
    const current: Connection = { client, isAlive: true, ready: Promise.resolve(client) };
    connection = current;
    connectionsOpened++;
    const markDead = () => {
      current.isAlive = false;
      if (connection === current) connection = null;
    };

    current.ready = new Promise<Client>((resolve, reject) => {
      let isReady = false;
      client.on('ready', () => {
        isReady = true;
        resolve(client);
      });
      client.on('error', (error) => {
        markDead();
        if (isReady) return;
        reject(
          hostKeyProblem !== null
            ? plainFailure({ kind: 'host-key', argv, message: hostKeyProblem, cause: error })
            : plainFailure({
                kind: 'connection',
                argv,
                message: `SSH connection to ${target} failed: ${error.message}`,
                cause: error,
              }),
        );
      });
      client.on('end', markDead);
      client.on('close', () => {
        markDead();
        if (!isReady)
          reject(
            plainFailure({ kind: 'connection', argv, message: `SSH connection to ${target} closed during setup` }),
          );
      });
      // Each command is several small packets (open, exec, eof, close); with Nagle and delayed ACKs that
      // added ~40 ms per command here.
      client.once('connect', () => client.setNoDelay(true));

      const privateKey =
        options.privateKey ?? (options.keyfile === undefined ? undefined : readBoundedKeyfile(options.keyfile));
      Promise.resolve(privateKey)
        .then((key) => {
          const config: ConnectConfig = {
            host: options.host,
            port,
            username: options.username,
            privateKey: key,
            readyTimeout: options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
            keepaliveInterval: options.keepaliveIntervalMs ?? DEFAULT_KEEPALIVE_INTERVAL_MS,
            keepaliveCountMax: options.keepaliveCountMax ?? DEFAULT_KEEPALIVE_COUNT_MAX,
            hostVerifier: (keyBlob: Buffer) => {
              hostKeyProblem = verifyHostKey(keyBlob);
              return hostKeyProblem === null;
            },
          };
          client.connect(config);
        })
        .catch((error: unknown) => {
          markDead();
          reject(
            plainFailure({
              kind: 'connection',
              argv,
              message: `cannot read the SSH key file: ${(error as Error).message.replace(/'[^']*'/g, '…')}`,
              cause: error,
            }),
          );
        });
    });
    return current.ready;
  }

  async function acquireChannelSlot(signal: AbortSignal): Promise<void> {
    if (openChannels < maxChannels) {
      openChannels++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        const at = channelWaiters.indexOf(grant);
        if (at >= 0) channelWaiters.splice(at, 1);
        reject(signal.reason);
      };
      channelWaiters.push(grant);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  function releaseChannelSlot() {
    const next = channelWaiters.shift();
    if (next !== undefined) next();
    else openChannels--;
  }

  async function run(args: readonly string[], runOptions: RunOptions = {}): Promise<RunResult> {
    const virshArgv = [remoteVirshPath, '-c', remoteUri, ...args];
    const argv = ['ssh', target, ...virshArgv];
    if (isClosed) throw plainFailure({ kind: 'connection', argv, message: 'executor is closed' });
    const unsendable = findUnsendableArgument(virshArgv);
    if (unsendable !== null) throw plainFailure({ kind: 'spawn', argv, message: `refused to run: ${unsendable}` });
    const command = quoteForPosixShell([
      'sh',
      '-c',
      REMOTE_TIE,
      'ferry-tie',
      'sh',
      '-c',
      REMOTE_WRAPPER,
      'ferry-virsh',
      ...virshArgv,
    ]);
    const timeoutMs = runOptions.timeoutMs ?? defaultTimeoutMs;
    const { signal } = runOptions;
    const abortedError = () => plainFailure({ kind: 'aborted', argv, message: 'aborted', cause: signal?.reason });
    const timeoutError = () => plainFailure({ kind: 'timeout', argv, message: `timed out after ${timeoutMs} ms` });
    if (signal?.aborted) throw abortedError();

    // The time limit also covers waiting for a channel slot and connecting.
    const startedAt = Date.now();
    const deadline = new AbortController();
    const deadlineTimer = Number.isFinite(timeoutMs) ? setTimeout(() => deadline.abort(), timeoutMs) : undefined;
    const waitSignal = signal === undefined ? deadline.signal : AbortSignal.any([signal, deadline.signal]);
    const waitError = () => (deadline.signal.aborted ? timeoutError() : abortedError());
    try {
      await acquireChannelSlot(waitSignal);
    } catch {
      clearTimeout(deadlineTimer);
      throw waitError();
    }
    try {
      const client = await raceWithSignal(connect(argv), waitSignal, waitError);
      clearTimeout(deadlineTimer);
      return await execOnChannel({
        client,
        command,
        argv,
        runOptions,
        timeoutMs,
        remainingMs: timeoutMs - (Date.now() - startedAt),
        killGraceMs,
      });
    } finally {
      clearTimeout(deadlineTimer);
      releaseChannelSlot();
    }
  }

  /**
   * Many commands as ONE remote virsh (virsh-batch.ts: `virsh -c <uri> 'cmd ; echo N ; cmd …'`) on one channel:
   * on the host each virsh process costs ~40 ms of CPU to start and connect to libvirtd (lab, 2 cores), the
   * commands themselves ~1 ms each. Commands that cannot share a virsh line (migrations, event loops, `connect`;
   * canRunInSession) run alone afterwards. Never rejects; results are in the order of `commands`.
   */
  async function runBatch(
    commands: ReadonlyArray<readonly string[]>,
    runOptions: SessionRunOptions = {},
  ): Promise<BatchItemResult[]> {
    const lined = commands.flatMap((args, index) => (canRunInSession(args) ? [index] : []));
    const results: BatchItemResult[] = new Array(commands.length);
    const lineResults =
      lined.length >= 2
        ? await runOneShotBatch({
            oneShot: { description: `ssh ${target} virsh -c ${remoteUri}`, run, close: async () => {} },
            uri: remoteUri,
            commands: lined.map((index) => commands[index]!),
            runOptions,
            bothMarkersAlways: true,
          })
        : [];
    lined.forEach((commandIndex, resultIndex) => {
      if (lineResults[resultIndex] !== undefined) results[commandIndex] = lineResults[resultIndex];
    });
    return runMissingAlone({
      commands,
      results,
      run: (args) => run(args, runOptions),
      argvOf: (args) => ['ssh', target, remoteVirshPath, '-c', remoteUri, ...args],
    });
  }

  return {
    description: `ssh ${target} virsh -c ${remoteUri}`,
    runBatch,
    get connectionsOpened() {
      return connectionsOpened;
    },
    get presentedFingerprint() {
      return presentedFingerprint;
    },
    get isConnected() {
      return connection?.isAlive ?? false;
    },
    run,
    close: async () => {
      if (isClosed) return;
      isClosed = true;
      const current = connection;
      connection = null;
      if (current === null || !current.isAlive) return;
      await new Promise<void>((resolve) => {
        // A client still reading its key or mid-handshake may never emit 'close'; do not hang on it.
        const giveUp = setTimeout(() => {
          current.client.destroy();
          resolve();
        }, killGraceMs);
        current.client.once('close', () => {
          clearTimeout(giveUp);
          resolve();
        });
        current.client.end();
      });
    },
  };
}

/**
 * Opens a channel, runs the command on it and settles once the channel has closed. A stop (time limit, abort,
 * a throwing output callback) can arrive at any point, also while the channel open or the exec request is still
 * on its way: then the channel is ended the moment it exists, so the remote command is never left running
 * unattended. A channel that only arrives after the run gave up on it is ended and closed on arrival.
 * Kept whole on purpose: every stop path and the late channel must see the same state, in one place.
 */
function execOnChannel(options: {
  client: Client;
  command: string;
  argv: readonly string[];
  runOptions: RunOptions;
  timeoutMs: number;
  remainingMs: number;
  killGraceMs: number;
}): Promise<RunResult> {
  const { argv, runOptions } = options;
  const startedAt = Date.now();
  return new Promise<RunResult>((resolve, reject) => {
    let channel: ClientChannel | null = null;
    let stopReason: StopReason | null = null;
    let giveUpTimer: NodeJS.Timeout | undefined;
    let isSettled = false;
    // Until a channel exists, settling means rejecting with the stop reason; onChannel replaces this.
    let settle = () => {
      if (isSettled) return;
      isSettled = true;
      cleanUp();
      if (stopReason !== null) reject(plainFailure({ ...stopReason, argv }));
    };

    const stop = (reason: StopReason) => {
      if (stopReason !== null || isSettled) return;
      stopReason = reason;
      // EOF on stdin makes REMOTE_WRAPPER kill virsh; the channel then closes. Without a channel yet, onChannel
      // sends the EOF as soon as it has one.
      channel?.end();
      giveUpTimer = setTimeout(() => {
        channel?.close();
        settle();
      }, options.killGraceMs);
    };
    const disarm = watchStop({
      timeoutMs: options.timeoutMs,
      delayMs: Math.max(0, options.remainingMs),
      signal: runOptions.signal,
      stop,
    });
    function cleanUp() {
      disarm();
      clearTimeout(giveUpTimer);
    }
    if (runOptions.signal?.aborted) {
      // An abort that came before this function ran (while connecting) is not replayed by addEventListener.
      stopReason = { kind: 'aborted', message: 'aborted', cause: runOptions.signal.reason };
      settle();
      return;
    }

    const open = (attempt: number) => {
      if (stopReason !== null) {
        settle();
        return;
      }
      options.client.exec(options.command, (error, opened: ClientChannel) => {
        if (isSettled) {
          if (!error) endAndClose(opened);
          return;
        }
        if (error) {
          if (stopReason !== null) {
            settle();
            return;
          }
          const canRetry =
            attempt < CHANNEL_OPEN_RETRIES &&
            /Channel open failure/.test(error.message) &&
            Date.now() - startedAt + CHANNEL_OPEN_RETRY_PAUSE_MS * attempt < options.remainingMs;
          if (canRetry) setTimeout(() => open(attempt + 1), CHANNEL_OPEN_RETRY_PAUSE_MS * attempt);
          else {
            isSettled = true;
            cleanUp();
            reject(
              plainFailure({
                kind: 'connection',
                argv,
                message: `could not open an SSH channel: ${error.message}`,
                cause: error,
              }),
            );
          }
          return;
        }
        onChannel(opened);
      });
    };
    open(1);

    function onChannel(opened: ClientChannel) {
      channel = opened;
      let exit: { code: number | null; signal: string | null } | null = null;
      const output = createOutputCollector(runOptions, stop);
      opened.on('data', (data: Buffer) => output.write('stdout', data));
      opened.stderr.on('data', (data: Buffer) => output.write('stderr', data));
      opened.on('exit', (code: number | null, signalName?: string) => {
        exit = { code: typeof code === 'number' ? code : null, signal: signalName ?? null };
      });

      settle = function finish() {
        if (isSettled) return;
        isSettled = true;
        cleanUp();
        settleRun({ argv, stopReason, exit, output: output.end() }, resolve, reject);
      };
      opened.on('close', () => settle());
      // Stopped while the channel was being opened: end it now, the close above then settles the run.
      if (stopReason !== null) opened.end();
    }
  });
}

function endAndClose(channel: ClientChannel): void {
  channel.end();
  channel.close();
}
