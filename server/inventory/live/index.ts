import 'server-only';
import { db } from '../../db';
import { env } from '../../env';
import { bus } from '../../events/bus';
import { executors } from '../../fleet/executors';
import { LiveFleet } from './live-fleet';

const globalForLive = globalThis as unknown as { ferryLiveFleet?: LiveFleet; ferryLiveFleetStart?: Promise<void> };

/**
 * The process-wide live inventory. Kept on globalThis: Next.js bundles server code more than once (instrumentation,
 * each route), and all of them must see one cache and one set of streams.
 */
export function liveFleet(): LiveFleet {
  globalForLive.ferryLiveFleet ??= new LiveFleet({
    db,
    bus,
    executors: executors(),
    timeoutMs: env.FERRY_HOST_TIMEOUT_MS,
    pollMs: env.FERRY_LIVE_POLL_MS,
    unavailablePollMs: env.FERRY_LIVE_FALLBACK_POLL_MS,
    hostSyncMs: env.FERRY_LIVE_HOST_SYNC_MS,
    eventsEnabled: env.FERRY_LIVE_EVENTS === 'on',
    streamTuning: { maxBackoffMs: env.FERRY_LIVE_MAX_BACKOFF_MS },
  });
  return globalForLive.ferryLiveFleet;
}

/** Starts it once (background work, or the first request needing it); resolves after every host was read once. */
export function startLiveFleet(): Promise<void> {
  globalForLive.ferryLiveFleetStart ??= liveFleet().start();
  return globalForLive.ferryLiveFleetStart;
}

/** The live inventory if it was started in this process (background work), else null. */
export function runningLiveFleet(): LiveFleet | null {
  return globalForLive.ferryLiveFleetStart === undefined ? null : (globalForLive.ferryLiveFleet ?? null);
}

/** Stops every stream (their virsh processes are killed); for shutdown. */
export async function stopLiveFleet(): Promise<void> {
  const fleet = globalForLive.ferryLiveFleet;
  globalForLive.ferryLiveFleet = undefined;
  globalForLive.ferryLiveFleetStart = undefined;
  await fleet?.stop();
}
