import type { Db } from '../db';
import { withDeadline } from '../hypervisor/deadline';
import { describeHostError } from '../hosts/host-errors';
import type { ExecutorSource } from '../hypervisor/executor';
import { PUBLIC_HOST_SELECT, type PublicHost } from '../hosts/service';
import { observeHostRead } from '../observability/metrics';
import {
  collectHostInventory,
  collectVms,
  createVmDetailCache,
  type VmCard,
  type VmDetailCache,
} from '../inventory/collect';

export type HostSnapshot = {
  host: PublicHost;
  status: 'ok' | 'error';
  /** One sentence for the host's section; the raw virsh text is in errorDetail. */
  error: string | null;
  errorDetail: string | null;
  vms: VmCard[];
  refreshedAt: Date;
  durationMs: number;
};

/**
 * Per-host memory of VM details that the host's bulk call does not carry (see collect.ts), keyed by host id
 * and dropped with the host's executor. It is a cache of what the hosts say, not state: losing it costs one
 * slower refresh.
 */
const detailCaches = new Map<string, VmDetailCache>();

export function forgetHostDetails(hostId: string) {
  detailCaches.delete(hostId);
}

export function detailCacheFor(hostId: string): VmDetailCache {
  let cache = detailCaches.get(hostId);
  if (!cache) {
    cache = createVmDetailCache();
    detailCaches.set(hostId, cache);
  }
  return cache;
}

export async function snapshotHost(options: {
  db: Db;
  host: PublicHost & { uri: string };
  executors: ExecutorSource;
  timeoutMs: number;
}): Promise<HostSnapshot> {
  const { host, executors, timeoutMs } = options;
  const { uri: _uri, ...publicHost } = host;
  const started = performance.now();
  try {
    const executor = executors.get(host);
    const cache = detailCacheFor(host.id);
    // Learn the libvirt host UUID once (it is how same-host migrations are refused), asked with the first read.
    const { vms, host: info } = await withDeadline(timeoutMs, async (signal) =>
      host.hostUuid
        ? { vms: await collectVms({ executor, signal, cache }), host: null }
        : await collectHostInventory({ executor, signal, cache }),
    );
    if (info !== null) {
      if (info.hostUuid) {
        // One plain statement: Prisma's update compiles a plan and reads the row back. Measured here, 10 of them
        // took 13–30 ms of CPU against 3–5 ms for 10 of these, on the thread that parses the other hosts' answers.
        await options.db.$executeRaw`UPDATE "Host" SET "hostUuid" = ${info.hostUuid} WHERE "id" = ${host.id}`;
        publicHost.hostUuid = info.hostUuid;
      }
    }
    const durationMs = performance.now() - started;
    observeHostRead({ hostAlias: host.alias, ok: true, durationMs });
    return { host: publicHost, status: 'ok', error: null, errorDetail: null, vms, refreshedAt: new Date(), durationMs };
  } catch (error) {
    const durationMs = performance.now() - started;
    observeHostRead({ hostAlias: host.alias, ok: false, durationMs });
    return {
      host: publicHost,
      status: 'error',
      ...describeHostError(error, host.uri),
      vms: [],
      refreshedAt: new Date(),
      durationMs,
    };
  }
}

/** Maps with at most `limit` promises in flight; order of results follows `items`. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  });
  await Promise.all(workers);
  return results;
}

/** Hosts read at once. Each is mostly waiting on its own virsh or ssh peer, so this exceeds the core count. */
export const FLEET_CONCURRENCY = 8;

export async function refreshFleet(options: {
  db: Db;
  executors: ExecutorSource;
  timeoutMs: number;
  concurrency?: number;
}): Promise<HostSnapshot[]> {
  const hosts = await options.db.host.findMany({
    select: { ...PUBLIC_HOST_SELECT, uri: true },
    orderBy: { alias: 'asc' },
  });
  return mapLimit(hosts, options.concurrency ?? FLEET_CONCURRENCY, (host) => snapshotHost({ ...options, host }));
}
