import 'server-only';
import type { Executor, ExecutorSource } from '../hypervisor/executor';
import { createExecutorPool, type ExecutorPool } from '../hypervisor/pool';
import { env } from '../env';
import { assertStoredUriAllowed } from '../hosts/uri-policy';
import { forgetHostDetails } from './service';

type RegisteredHost = { id: string; uri: string; executorKind: string; pinnedFingerprint: string | null };

/**
 * One executor per registered host, kept between requests: a long-lived interactive virsh for `local`
 * hosts (streaming commands such as migrate still get their own process), Ferry's pooled ssh2 connection
 * for `ssh` hosts. The pool re-creates a host's executor when its URI, kind or pinned key changes.
 */
export class HostExecutors implements ExecutorSource {
  private readonly pool: ExecutorPool = createExecutorPool({
    defaultTimeoutMs: env.FERRY_HOST_TIMEOUT_MS,
    virshPath: env.FERRY_VIRSH,
    sshMultiplex: env.FERRY_SSH_MULTIPLEX === 'on',
  });

  /** Refuses (RefusedUriError) a stored URI that the server's URI policy does not allow, before making anything. */
  get(host: RegisteredHost): Executor {
    assertStoredUriAllowed(host.uri);
    return this.pool.get({
      id: host.id,
      uri: host.uri,
      executorKind: host.executorKind === 'ssh' ? 'ssh' : 'session',
      pinnedFingerprint: host.pinnedFingerprint,
    });
  }

  evict(hostId: string) {
    forgetHostDetails(hostId);
    void this.pool.evict(hostId);
  }

  closeAll() {
    return this.pool.closeAll();
  }
}

const globalForExecutors = globalThis as unknown as { ferryExecutors?: HostExecutors };

/** The process-wide executors (one per host). */
export function executors(): HostExecutors {
  globalForExecutors.ferryExecutors ??= new HostExecutors();
  return globalForExecutors.ferryExecutors;
}
