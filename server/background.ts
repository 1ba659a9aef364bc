import { db } from './db';
import { env } from './env';
import { bus } from './events/bus';
import { advanceOpenEvacuations, onMigrationEnded } from './evacuation/run';
import { executors } from './fleet/executors';
import { startLiveFleet } from './inventory/live';
import { reconcileOrphanedMigrations, STALE_HEARTBEAT_MS } from './migrations/reconcile';
import { kickScheduler } from './migrations/scheduler';
import { MIGRATIONS_CHANNEL } from './migrations/types';
import { logJobError } from './observability/logger';
import { plural } from './plural';
import { adoptPendingShutdowns } from './power/service';

let started = false;

/**
 * Work that belongs to the server process, not to a request: re-attaching migrations whose watcher died (a
 * restart, another replica gone), then starting queued ones (queued jobs are rows, so they survive a restart; a
 * slot a dead runner held frees here). At start and on every tick. Also the live inventory (inventory/live).
 */
export function startBackgroundWork() {
  if (started) return;
  started = true;
  let running = false;
  const sweep = () => {
    // A slow host must not let two sweeps overlap; the claim would stop a double re-attach, not the double work.
    if (running) return;
    running = true;
    reconcileOrphanedMigrations({ db, bus, executors: executors() })
      .then(({ closed, resumed }) => {
        if (resumed.length > 0)
          console.log(`re-attached ${plural(resumed.length, 'running migration')}: ${resumed.join(', ')}`);
        if (closed.length > 0)
          console.log(`reconciled ${plural(closed.length, 'interrupted migration')}: ${closed.join(', ')}`);
      })
      .catch((error: unknown) => logJobError({ what: 'migration reconcile failed', error }))
      .then(() => kickScheduler({ db, bus, executors: executors() }))
      .catch((error: unknown) => logJobError({ what: 'migration scheduler failed', error }))
      // Evacuations are rows: this carries each on (after a restart too) even if no job ended just now.
      .then(() => advanceOpenEvacuations({ db, bus, executors: executors() }))
      .catch((error: unknown) => logJobError({ what: 'evacuation sweep failed', error }))
      // A shutdown begun before a restart (or by another replica) still ends on time with nobody reading it.
      .then(() =>
        adoptPendingShutdowns({ db, executors: executors(), shutdownTimeoutMs: env.FERRY_SHUTDOWN_TIMEOUT_MS }),
      )
      .catch((error: unknown) => logJobError({ what: 'power sweep failed', error }))
      .finally(() => (running = false));
  };
  sweep();
  setInterval(sweep, STALE_HEARTBEAT_MS).unref();
  // A job that ended lets its evacuation submit the next one at once, rather than at the next sweep.
  bus.subscribe(MIGRATIONS_CHANNEL, (change) => {
    if (change.type !== 'state') return;
    void onMigrationEnded({ db, bus, executors: executors() }, change.migrationId).catch((error: unknown) =>
      logJobError({ what: 'evacuation advance failed', error }),
    );
  });
  // The live inventory: one event stream per host, and the cache the fleet page is served from.
  startLiveFleet();
}
