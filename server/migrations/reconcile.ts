import { recordAudit } from '../audit/record';
import { describeHostError } from '../fleet/service';
import { appendMigrationEvent } from './events';
import { getDomainState } from './host-queries';
import { PROCESS_OWNER_ID, type RunnerDeps } from './runner';
import { ACTIVE_STATES } from './types';

/** A job whose owner has not written a heartbeat for this long is treated as orphaned. */
export const STALE_HEARTBEAT_MS = 30_000;

/**
 * Ferry keeps migration state in the database, so after a restart it can tell which jobs no process owns any
 * more. Resuming a half-done `virsh migrate` is not possible (the process that drove it is gone), so each
 * orphan is closed honestly: Ferry asks both hosts where the VM is and records that, never a guess.
 */
export async function reconcileOrphanedMigrations(deps: RunnerDeps, options: { now?: Date } = {}): Promise<string[]> {
  const now = options.now ?? new Date();
  const orphans = await deps.db.migration.findMany({
    where: {
      state: { in: [...ACTIVE_STATES] },
      OR: [{ ownerId: null }, { ownerId: { not: PROCESS_OWNER_ID } }],
      AND: [{ OR: [{ heartbeatAt: null }, { heartbeatAt: { lt: new Date(now.getTime() - STALE_HEARTBEAT_MS) } }] }],
      createdAt: { lt: new Date(now.getTime() - STALE_HEARTBEAT_MS) },
    },
    include: { sourceHost: true, destinationHost: true },
  });
  const closed: string[] = [];
  for (const migration of orphans) {
    const where: string[] = [];
    let state: 'succeeded' | 'failed' = 'failed';
    try {
      const [onSource, onDestination] = await Promise.all([
        migration.sourceHost
          ? getDomainState({ executor: deps.executors.get(migration.sourceHost) }, migration.vmName)
          : Promise.resolve('unknown (host removed)'),
        migration.destinationHost
          ? getDomainState({ executor: deps.executors.get(migration.destinationHost) }, migration.vmName)
          : Promise.resolve('unknown (host removed)'),
      ]);
      where.push(
        `${migration.sourceAlias}: ${onSource ?? 'no such domain'}`,
        `${migration.destinationAlias}: ${onDestination ?? 'no such domain'}`,
      );
      if (onDestination === 'running' && onSource === null) state = 'succeeded';
    } catch (error) {
      where.push(`could not ask the hosts: ${describeHostError(error).error}`);
    }
    const message =
      state === 'succeeded'
        ? `Ferry restarted while this migration ran; afterwards ${migration.vmName} runs on ${migration.destinationAlias} and is gone from ${migration.sourceAlias}.`
        : `Ferry restarted while this migration ran, so it was not watched to the end. Now: ${where.join(', ')}.`;
    const updated = await deps.db.$transaction(async (tx) => {
      // Another replica (or a second reconcile) may have closed it meanwhile: only close what is still open.
      const result = await tx.migration.updateMany({
        where: { id: migration.id, state: { in: [...ACTIVE_STATES] } },
        data: { state, endedAt: now, errorCode: state === 'succeeded' ? null : 'interrupted', errorMessage: message },
      });
      if (result.count === 0) return false;
      await recordAudit(tx, {
        actor: 'system',
        action: `migration.${state}`,
        result: state === 'succeeded' ? 'ok' : 'failed',
        hostAlias: migration.sourceAlias,
        vmName: migration.vmName,
        migrationId: migration.id,
        details: { reason: 'reconciled after restart', verification: where },
      });
      return true;
    });
    if (!updated) continue;
    await appendMigrationEvent({
      db: deps.db,
      bus: deps.bus,
      migrationId: migration.id,
      payload: {
        type: 'result',
        state,
        errorCode: state === 'succeeded' ? null : 'interrupted',
        errorTitle: state === 'succeeded' ? null : 'Interrupted by a Ferry restart',
        message,
        nextStep:
          state === 'succeeded'
            ? null
            : 'Check the hosts listed above; start the migration again if the VM is still on the source.',
        verification: where,
      },
    });
    await appendMigrationEvent({
      db: deps.db,
      bus: deps.bus,
      migrationId: migration.id,
      payload: { type: 'state', state },
    });
    closed.push(migration.id);
  }
  return closed;
}
