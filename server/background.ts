import { db } from './db';
import { bus } from './events/bus';
import { executors } from './fleet/executors';
import { reconcileOrphanedMigrations, STALE_HEARTBEAT_MS } from './migrations/reconcile';
import { plural } from './plural';

let started = false;

/** Work that belongs to the server process, not to a request: closing migrations whose runner died. */
export function startBackgroundWork() {
  if (started) return;
  started = true;
  const sweep = () =>
    reconcileOrphanedMigrations({ db, bus, executors: executors() })
      .then((closed) => {
        if (closed.length > 0)
          console.log(`reconciled ${plural(closed.length, 'interrupted migration')}: ${closed.join(', ')}`);
      })
      .catch((error: unknown) => console.error('migration reconcile failed', error));
  void sweep();
  setInterval(sweep, STALE_HEARTBEAT_MS).unref();
}
