import 'server-only';
import { userInfo } from 'node:os';
import { isSshTransport, parseLibvirtUri, type LibvirtUri } from '../libvirt/uri';
import { VirshError, type Executor, type ExecutorKind } from './executor';
import { createLocalExecutor, DEFAULT_TIMEOUT_MS } from './local-executor';
import { createSessionExecutor } from './session-executor';
import { createSshExecutor } from './ssh-executor';

/**
 * How the pool runs a host's commands: the host's ExecutorKind, or `session` for a `local` host served by
 * - `local`: one `virsh -c <uri>` process per command (virsh's own ssh for `qemu+ssh://`).
 * - `session`: one long-lived interactive virsh per host (virsh-session.ts), one-shot for streaming commands.
 * - `ssh`: Ferry's own pooled ssh2 connection; virsh runs on the host against the URI's driver and path.
 */
export type PoolExecutorKind = ExecutorKind | 'session';

export type PoolHost = {
  id: string;
  uri: string;
  executorKind: PoolExecutorKind;
  pinnedFingerprint: string | null;
  /** Time limit for this host's commands; the pool's default when absent. */
  timeoutMs?: number;
};

export type ExecutorPoolOptions = {
  defaultTimeoutMs?: number;
  /** virsh on the Ferry box, for `local` and `session` hosts. */
  virshPath?: string;
  /** virsh on the hypervisor, for `ssh` hosts. */
  remoteVirshPath?: string;
  /** SSH user when the URI names none; libvirt's ssh transport uses the local user, and so does Ferry. */
  defaultSshUser?: string;
  maxChannelsPerHost?: number;
  /** One shared ssh connection per `qemu+ssh://` host for `local` and `session` hosts (ssh-mux.ts); on unless false. */
  sshMultiplex?: boolean;
};

export type ExecutorPool = {
  /** The cached executor for this host, created on first use and re-created when uri, kind, pin or limit change. */
  get(host: PoolHost): Executor;
  /** Closes and forgets one host's executor (host removed or edited). */
  evict(id: string): Promise<void>;
  closeAll(): Promise<void>;
  readonly size: number;
};

type Entry = { key: string; executor: Executor };

/**
 * What virsh on the hypervisor itself should connect to for a `driver+ssh://host/path` URI: the same driver
 * and path over the local socket (`qemu+ssh://root@hv1/system` → `qemu:///system`). The URI's parameters
 * (keyfile, no_verify, …) describe the ssh hop, which Ferry makes itself.
 */
export function remoteUriFor(uri: LibvirtUri): string {
  return `${uri.driver}://${uri.path}`;
}

/** Connection details for Ferry's ssh executor, from a `driver+ssh://[user@]host[:port]/path?keyfile=…` URI. */
export function sshTargetFromUri(
  input: string,
  defaultUser: string,
): {
  username: string;
  hostname: string;
  port: number;
  keyfile: string | undefined;
  remoteUri: string;
} {
  const parsed = parseLibvirtUri(input);
  if (!parsed.ok) throw new Error(`invalid libvirt URI: ${parsed.error}`);
  const { uri } = parsed;
  if (!isSshTransport(uri.transport) || uri.hostname === undefined) {
    throw new Error(
      `the ssh executor needs a driver+ssh://host/… URI; this one uses transport "${uri.transport}"${uri.hostname ? '' : ' and names no host'}`,
    );
  }
  return {
    username: uri.username ?? defaultUser,
    hostname: uri.hostname,
    port: uri.port ?? 22,
    keyfile: uri.params.keyfile,
    remoteUri: remoteUriFor(uri),
  };
}

export function createExecutorPool(options: ExecutorPoolOptions = {}): ExecutorPool {
  const entries = new Map<string, Entry>();
  const defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const sshMux = options.sshMultiplex === false ? false : undefined;

  const closeQuietly = (executor: Executor) => executor.close().catch(() => {});

  function create(host: PoolHost, timeoutMs: number): Executor {
    switch (host.executorKind) {
      case 'local':
        return createLocalExecutor({
          uri: host.uri,
          virshPath: options.virshPath,
          defaultTimeoutMs: timeoutMs,
          sshMux,
        });
      case 'session':
        return createSessionExecutor({
          uri: host.uri,
          virshPath: options.virshPath,
          defaultTimeoutMs: timeoutMs,
          sshMux,
        });
      case 'ssh': {
        const target = sshTargetFromUri(host.uri, options.defaultSshUser ?? userInfo().username);
        return createSshExecutor({
          host: target.hostname,
          port: target.port,
          username: target.username,
          keyfile: target.keyfile,
          remoteUri: target.remoteUri,
          remoteVirshPath: options.remoteVirshPath,
          pinnedFingerprint: host.pinnedFingerprint,
          defaultTimeoutMs: timeoutMs,
          maxChannels: options.maxChannelsPerHost,
        });
      }
      default: {
        const unknownKind: never = host.executorKind;
        throw new Error(`unknown executor kind ${String(unknownKind)}`);
      }
    }
  }

  return {
    get size() {
      return entries.size;
    },
    get(host) {
      const timeoutMs = host.timeoutMs ?? defaultTimeoutMs;
      const key = JSON.stringify([host.executorKind, host.uri, host.pinnedFingerprint, timeoutMs]);
      const existing = entries.get(host.id);
      if (existing?.key === key) return existing.executor;
      // A changed URI, kind or pinned key must never keep using the old connection.
      if (existing) {
        entries.delete(host.id);
        void closeQuietly(existing.executor);
      }
      let executor: Executor;
      try {
        executor = create(host, timeoutMs);
      } catch (error) {
        throw new VirshError({
          kind: 'connection',
          message: `host ${host.id}: ${(error as Error).message}`,
          argv: [],
          cause: error,
        });
      }
      entries.set(host.id, { key, executor });
      return executor;
    },
    async evict(id) {
      const existing = entries.get(id);
      entries.delete(id);
      if (existing) await closeQuietly(existing.executor);
    },
    async closeAll() {
      const all = [...entries.values()];
      entries.clear();
      await Promise.all(all.map((entry) => closeQuietly(entry.executor)));
    },
  };
}
