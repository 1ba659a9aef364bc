import 'server-only';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseLibvirtUri } from '../libvirt/uri';
import { logger } from '../observability/logger';
import { quoteForPosixShell } from './shell-quote';
import { resolveExecutable, tiedToThisProcess } from './tied-spawn';

/**
 * One shared ssh connection per host for virsh's own ssh transport (`qemu+ssh://`). Without it every one-shot
 * virsh (each migration, each streaming command) starts its own ssh and pays a full login: key exchange and
 * public-key authentication, ~0.2 s on the lab, a tenth of a small migration (`npm run bench -- evacuation`).
 *
 * The mux is OpenSSH's own connection sharing: a master (`ssh -M -N`, started here, tied to Ferry's life) logs in
 * once with exactly the options libvirt would use, and virsh is handed the host's URI plus `command=` naming a
 * wrapper that runs the same ssh with `ControlMaster=no` and the master's socket. A virsh connection then opens a
 * session on the master's connection. When the master is down (not yet logged in, the host unreachable, killed),
 * ssh finds no socket, or a dead one, and logs in by itself as before; a master that exits is started again
 * after RESTART_AFTER_MS. OpenSSH falls back the same way when the server refuses another session on the shared
 * connection (sshd's MaxSessions).
 *
 * Only for the `ssh` transport with a host, and only when the URI names no `command=` of its own. The wrapper and
 * the socket live in a directory of this process's own (mode 0700, removed on exit): the socket lets whoever can
 * open it run commands on the host as the logged-in user, as the key file does. The URI with `command=` is only
 * ever given to virsh; what people and logs see is the host's own URI.
 */
export type SshMux = {
  /** The URI for virsh: the host's with `command=` naming the wrapper. Starts the master again if it is due. */
  connectUri(): string;
  /** The master's pid while it runs. */
  readonly masterPid: number | null;
  /** Resolves true once the master has logged in (its socket exists), false if it exits or `timeoutMs` passes. */
  ready(timeoutMs?: number): Promise<boolean>;
  /** Stops the master and removes the wrapper and socket; later virsh calls log in by themselves. */
  close(): void;
};

export type SshMuxOptions = {
  /** ssh options for the master and the wrapper (tests: a known_hosts file of their own). */
  sshOptions?: readonly string[];
  /** Off: virsh logs in by itself (tests). */
  enabled?: boolean;
  /** RESTART_AFTER_MS unless given (tests). */
  restartAfterMs?: number;
};

/** A master that exited is started again on the next call after this long (a host that is down costs one try). */
export const RESTART_AFTER_MS = 30_000;
/** Characters a directory of ours may have: ssh expands `%` in ControlPath, and the wrapper is a shell script. */
const PLAIN_PATH = /^\/[A-Za-z0-9._/-]+$/;
/** sun_path holds 108 bytes; the master binds a temporary name 17 bytes longer than ControlPath first. */
const MAX_SOCKET_PATH = 80;
const READY_POLL_MS = 20;
const STDERR_KEPT = 2_000;

let baseDir: string | null | undefined;

/** This process's directory for wrappers and sockets, made on first use, removed when the process exits. */
function processDir(): string | null {
  if (baseDir !== undefined) return baseDir;
  try {
    const dir = mkdtempSync(path.join(tmpdir(), 'ferry-ssh-'));
    baseDir = PLAIN_PATH.test(dir) ? dir : null;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    if (baseDir === null) rmSync(dir, { recursive: true, force: true });
  } catch {
    baseDir = null;
  }
  return baseDir;
}

let counter = 0;

/** The mux for this URI, or null when it does not apply (not the ssh transport, own `command=`, no ssh found). */
export function createSshMux(uri: string, options: SshMuxOptions = {}): SshMux | null {
  if (options.enabled === false) return null;
  const parsed = parseLibvirtUri(uri);
  if (!parsed.ok) return null;
  const { transport, hostname, port, username, params } = parsed.uri;
  if (transport !== 'ssh' || hostname === undefined || params.command !== undefined) return null;
  const ssh = resolveExecutable('ssh');
  const base = processDir();
  if (ssh === null || base === null) return null;
  const dir = path.join(base, `m${++counter}`);
  const socket = path.join(dir, 'c');
  const wrapper = path.join(dir, 'ssh');
  if (socket.length > MAX_SOCKET_PATH || !PLAIN_PATH.test(ssh)) return null;
  const sshOptions = options.sshOptions ?? [];
  const restartAfterMs = options.restartAfterMs ?? RESTART_AFTER_MS;
  try {
    mkdirSync(dir, { mode: 0o700 });
    const line = quoteForPosixShell([ssh, '-o', 'ControlMaster=no', '-o', `ControlPath=${socket}`, ...sshOptions]);
    writeFileSync(wrapper, `#!/bin/sh\nexec ${line} "$@"\n`, { mode: 0o700 });
  } catch {
    return null;
  }
  const connectUri = `${uri}${uri.includes('?') ? '&' : '?'}command=${wrapper}`;
  // What libvirt's ssh transport passes (src/rpc/virnetsocket.c, virNetSocketNewConnectSSH), so the master logs in
  // as virsh would have; BatchMode always: nothing could answer a prompt.
  const masterArgv = [
    '-M',
    '-N',
    '-T',
    '-e',
    'none',
    '-o',
    `ControlPath=${socket}`,
    '-o',
    'ControlPersist=no',
    '-o',
    'BatchMode=yes',
    '-o',
    'ServerAliveInterval=15',
    '-o',
    'ServerAliveCountMax=3',
    ...(params.no_verify === '1' ? ['-o', 'StrictHostKeyChecking=no'] : []),
    ...sshOptions,
    ...(port !== undefined ? ['-p', String(port)] : []),
    ...(username !== undefined ? ['-l', username] : []),
    ...(params.keyfile !== undefined ? ['-i', params.keyfile] : []),
    '--',
    hostname,
  ];

  let master: ChildProcess | null = null;
  let startedAt = 0;
  let isClosed = false;

  const start = () => {
    startedAt = Date.now();
    const tied = tiedToThisProcess(ssh, masterArgv);
    // Its own process group, as every virsh: a Ctrl-C meant for Ferry does not end it first; Ferry's end does.
    const child = spawn(tied.file, tied.argv, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    // Ferry's event loop does not wait for it: it goes when Ferry goes (pdeathsig) or when closed.
    child.unref();
    (child.stderr as { unref?: () => void } | null)?.unref?.();
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      if (stderr.length < STDERR_KEPT) stderr += chunk.slice(0, STDERR_KEPT - stderr.length);
    });
    child.on('error', () => {});
    child.on('exit', (code, signal) => {
      if (master === child) master = null;
      if (isClosed) return;
      logger().warn(
        { event: 'ssh-mux.master-exit', host: hostname, code, signal, stderr: stderr.trim() },
        `ssh: the shared connection to ${hostname} ended; virsh logs in by itself until it is back`,
      );
    });
    master = child;
  };
  start();

  return {
    connectUri() {
      if (!isClosed && master === null && Date.now() - startedAt >= restartAfterMs) start();
      return connectUri;
    },
    get masterPid() {
      return master?.pid ?? null;
    },
    async ready(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (master === null) return false;
        if (existsSync(socket)) return true;
        if (Date.now() >= deadline) return false;
        await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
      }
    },
    close() {
      if (isClosed) return;
      isClosed = true;
      master?.kill('SIGTERM');
      master = null;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
