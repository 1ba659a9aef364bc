import 'server-only';
import { db as defaultDb, type Db } from '../../db';
import { env } from '../../env';
import { bus } from '../../events/bus';
import { executors } from '../../fleet/executors';
import { setEventStreamSource } from '../../observability/event-streams';
import { eventStreamStatuses, LiveFleet } from './live-fleet';

type Running = { fleet: LiveFleet; started: Promise<void> };

/**
 * The process-wide live inventory, one per database (the app has one; a test brings its own). Kept on globalThis:
 * Next.js bundles server code more than once (instrumentation, each route), and all of them must share one cache
 * and one set of streams.
 */
const globalForLive = globalThis as unknown as { ferryLiveFleets?: Map<Db, Running> };
const running = (globalForLive.ferryLiveFleets ??= new Map());

/** Starts the live inventory of `db` once (background work, or the first subscriber) and returns it. */
export function startLiveFleet(db: Db = defaultDb): Running {
  let entry = running.get(db);
  if (entry === undefined) {
    const fleet = new LiveFleet({
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
    entry = { fleet, started: fleet.start() };
    entry.started.catch((error: unknown) => console.error('live inventory failed to start', error));
    running.set(db, entry);
    // /metrics and /api/health report the app's own inventory's streams (a test's extra databases do not).
    if (db === defaultDb) setEventStreamSource(() => eventStreamStatuses(fleet.snapshot().hosts));
  }
  return entry;
}

/** The live inventory of `db` if it runs in this process, else null. */
export function runningLiveFleet(db: Db = defaultDb): LiveFleet | null {
  return running.get(db)?.fleet ?? null;
}

/** Stops every live inventory's streams (their virsh processes are killed); for shutdown and tests. */
export async function stopLiveFleet(): Promise<void> {
  const all = [...running.values()];
  running.clear();
  setEventStreamSource(null);
  await Promise.all(all.map((entry) => entry.fleet.stop()));
}
