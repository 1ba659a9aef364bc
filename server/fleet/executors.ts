import type { Executor } from '../hypervisor/executor';
import { createSessionExecutor } from '../hypervisor/session-executor';
import { createSshExecutor } from '../hypervisor/ssh-executor';
import { parseLibvirtUri } from '../libvirt/uri';
import { env } from '../env';
import { forgetHostDetails, type ExecutorSource } from './service';

type PooledHost = { id: string; uri: string; executorKind: string; pinnedFingerprint: string | null };
type Entry = { key: string; executor: Executor };

/**
 * One executor per registered host, kept between requests: a long-lived virsh session for `local` hosts,
 * one pooled SSH connection for `ssh` hosts. Re-created when the host's URI, kind or pinned key changes.
 */
export class HostExecutors implements ExecutorSource {
  private readonly entries = new Map<string, Entry>();

  get(host: PooledHost): Executor {
    const key = `${host.executorKind}\n${host.uri}\n${host.pinnedFingerprint ?? ''}`;
    const existing = this.entries.get(host.id);
    if (existing && existing.key === key) return existing.executor;
    if (existing) void existing.executor.close();
    const executor = createExecutor(host);
    this.entries.set(host.id, { key, executor });
    return executor;
  }

  evict(hostId: string) {
    const existing = this.entries.get(hostId);
    this.entries.delete(hostId);
    forgetHostDetails(hostId);
    if (existing) void existing.executor.close();
  }

  async closeAll() {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((entry) => entry.executor.close()));
  }
}

function createExecutor(host: PooledHost): Executor {
  if (host.executorKind !== 'ssh') {
    return createSessionExecutor({ uri: host.uri, virshPath: env.FERRY_VIRSH, defaultTimeoutMs: env.FERRY_HOST_TIMEOUT_MS });
  }
  const parsed = parseLibvirtUri(host.uri);
  if (!parsed.ok || !parsed.uri.hostname) throw new Error(`Host URI cannot be used with the ssh executor: ${parsed.ok ? 'no host name' : parsed.error}`);
  const { uri } = parsed;
  return createSshExecutor({
    host: uri.hostname as string,
    port: uri.port,
    username: uri.username ?? 'root',
    keyfile: uri.params.keyfile,
    pinnedFingerprint: host.pinnedFingerprint,
    remoteUri: `${uri.driver}://${uri.path}`,
    remoteVirshPath: env.FERRY_VIRSH,
    defaultTimeoutMs: env.FERRY_HOST_TIMEOUT_MS,
  });
}

const globalForExecutors = globalThis as unknown as { ferryExecutors?: HostExecutors };

/** The process-wide executors (one per host). */
export function executors(): HostExecutors {
  globalForExecutors.ferryExecutors ??= new HostExecutors();
  return globalForExecutors.ferryExecutors;
}
