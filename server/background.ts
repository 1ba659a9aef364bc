import { db } from './db';
import { bus } from './events/bus';
import { executors } from './fleet/executors';
import { reconcileOrphanedMigrations, STALE_HEARTBEAT_MS } from './migrations/reconcile';
import { kickScheduler } from './migrations/scheduler';
import { plural } from './plural';

let started = false;

/**
 * Work that belongs to the server process, not to a request: closing migrations whose runner died, then
 * starting queued ones (queued jobs are rows, so they survive a restart; a slot a dead runner held frees here).
 */
export function startBackgroundWork() {
  if (started) return;
  started = true;
  const sweep = () =>
    reconcileOrphanedMigrations({ db, bus, executors: executors() })
      .then((closed) => {
        if (closed.length > 0)
          console.log(`reconciled ${plural(closed.length, 'interrupted migration')}: ${closed.join(', ')}`);
      })
      .catch((error: unknown) => console.error('migration reconcile failed', error))
      .then(() => kickScheduler({ db, bus, executors: executors() }));
  void sweep();
  setInterval(sweep, STALE_HEARTBEAT_MS).unref();
}
