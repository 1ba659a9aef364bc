import type { Db } from '../db';
import type { Executor } from '../hypervisor/executor';
import { VirshError } from '../hypervisor/executor';
import { PUBLIC_HOST_SELECT, type PublicHost } from '../hosts/service';
import { RefusedUriError } from '../hosts/uri-policy';
import { describeUnexpected } from '../api/error-shape';
import { redactErrorText } from '../redact';
import {
  collectHostInfo,
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

export type ExecutorSource = {
  get(host: { id: string; uri: string; executorKind: string; pinnedFingerprint: string | null }): Executor;
};

/**
 * Runs `work` with a hard deadline: the signal aborts the host's commands, and the race stops waiting even if they
 * ignore it.
 */
export async function withDeadline<T>(timeoutMs: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new HostTimeoutError(timeoutMs));
    }, timeoutMs);
  });
  try {
    return await Promise.race([work(controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export class HostTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`The host did not answer within ${(timeoutMs / 1000).toFixed(1)} s.`);
    this.name = 'HostTimeoutError';
  }
}

/**
 * A host's failure as the browser sees it: one line plus the detail, both redacted (no key paths, no file contents
 * quoted by libvirt's parse errors). Anything that is not a host failure is logged and shown only by reference.
 */
export function describeHostError(error: unknown): { error: string; errorDetail: string | null } {
  if (error instanceof HostTimeoutError) return { error: error.message, errorDetail: null };
  if (error instanceof RefusedUriError) return { error: error.message, errorDetail: null };
  if (error instanceof VirshError) {
    const detail = redactErrorText(error.stderr.trim() || error.message);
    const firstLine = detail.split('\n').find((line) => line.trim() !== '') ?? detail;
    return { error: firstLine.replace(/^error:\s*/, ''), errorDetail: detail };
  }
  return { error: describeUnexpected(error), errorDetail: null };
}

/**
 * Per-host memory of VM details that the host's bulk call does not carry (see collect.ts), keyed by host id
 * and dropped with the host's executor. It is a cache of what the hosts say, not state: losing it costs one
 * slower refresh.
 */
const detailCaches = new Map<string, VmDetailCache>();

export function forgetHostDetails(hostId: string) {
  detailCaches.delete(hostId);
}

function detailCacheFor(hostId: string): VmDetailCache {
  let cache = detailCaches.get(hostId);
  if (!cache) {
    cache = createVmDetailCache();
    detailCaches.set(hostId, cache);
  }
  return cache;
}

async function snapshotHost(options: {
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
    const vms = await withDeadline(timeoutMs, (signal) =>
      collectVms({ executor, signal, cache: detailCacheFor(host.id) }),
    );
    if (!host.hostUuid) {
      // Learn the libvirt host UUID once; it is how same-host migrations are refused.
      const info = await withDeadline(timeoutMs, (signal) => collectHostInfo({ executor, signal }));
      if (info.hostUuid) {
        await options.db.host.update({ where: { id: host.id }, data: { hostUuid: info.hostUuid } });
        publicHost.hostUuid = info.hostUuid;
      }
    }
    return {
      host: publicHost,
      status: 'ok',
      error: null,
      errorDetail: null,
      vms,
      refreshedAt: new Date(),
      durationMs: performance.now() - started,
    };
  } catch (error) {
    return {
      host: publicHost,
      status: 'error',
      ...describeHostError(error),
      vms: [],
      refreshedAt: new Date(),
      durationMs: performance.now() - started,
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
