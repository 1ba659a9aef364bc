import { describeHostError } from '../hosts/host-errors';
import type { Executor } from '../hypervisor/executor';
import { matchDomain, toDomainUuid } from '../libvirt/domain-ref';
import { recordFinalState, type Ending } from './final-state';
import { getDomainState, listDomains } from './host-queries';
import { PROCESS_OWNER_ID } from './owner';
import type { RunnerDeps } from './runner';
import { ACTIVE_STATES } from './types';
import { settleFinishedJobVolumes } from '../volumes/service';

/** A job whose owner has not written a heartbeat for this long is treated as orphaned. */
export const STALE_HEARTBEAT_MS = 30_000;

/**
 * Ferry keeps migration state in the database, so after a restart it can tell which jobs no process owns any
 * more. Resuming a half-done `virsh migrate` is not possible (the process that drove it is gone), so each
 * orphan is closed honestly: Ferry asks both hosts where the VM is and records that, never a guess. The row is
 * closed by recordFinalState, the same writer the runner uses, so a job another replica closed meanwhile is
 * left alone.
 */
export async function reconcileOrphanedMigrations(deps: RunnerDeps, options: { now?: Date } = {}): Promise<string[]> {
  const now = options.now ?? new Date();
  const stale = new Date(now.getTime() - STALE_HEARTBEAT_MS);
  const orphans = await deps.db.migration.findMany({
    where: {
      state: { in: [...ACTIVE_STATES] },
      OR: [{ ownerId: null }, { ownerId: { not: PROCESS_OWNER_ID } }],
      AND: [{ OR: [{ heartbeatAt: null }, { heartbeatAt: { lt: stale } }] }],
      createdAt: { lt: stale },
    },
    include: { sourceHost: true, destinationHost: true },
  });
  const closed: string[] = [];
  for (const migration of orphans) {
    const vm = { name: migration.vmName, uuid: migration.vmUuid };
    const where: string[] = [];
    let arrived = false;
    try {
      const [onSource, onDestination] = await Promise.all([
        migration.sourceHost ? stateOf(deps.executors.get(migration.sourceHost), vm) : 'unknown (host removed)',
        migration.destinationHost
          ? stateOf(deps.executors.get(migration.destinationHost), vm)
          : 'unknown (host removed)',
      ]);
      where.push(
        `${migration.sourceAlias}: ${onSource ?? 'no such domain'}`,
        `${migration.destinationAlias}: ${onDestination ?? 'no such domain'}`,
      );
      arrived = onDestination === 'running' && onSource === null;
    } catch (error) {
      where.push(`could not ask the hosts: ${describeHostError(error).error}`);
    }
    const ending = interruptedEnding({ ...migration, arrived, where });
    const done = await recordFinalState(deps, {
      migrationId: migration.id,
      ending,
      actor: 'system',
      auditDetails: { reason: 'reconciled after restart' },
      now,
    });
    if (done) closed.push(migration.id);
  }
  // The volumes of jobs that ended unwatched (these, or a runner that crashed) are cleaned up or named now.
  await settleFinishedJobVolumes(deps).catch((error: unknown) => console.error('volume ledger sweep failed', error));
  return closed;
}

/**
 * The VM's state on one host, by UUID. A row from before UUIDs were recorded is matched by exact name in the
 * host's list (never passed to virsh as a bare name).
 */
async function stateOf(executor: Executor, vm: { name: string; uuid: string | null }): Promise<string | null> {
  const call = { executor };
  if (vm.uuid) return getDomainState(call, toDomainUuid(vm.uuid));
  const match = matchDomain(await listDomains(call), vm, '');
  return match.ok ? getDomainState(call, match.domain.uuid) : null;
}

function interruptedEnding(options: {
  vmName: string;
  sourceAlias: string;
  destinationAlias: string;
  arrived: boolean;
  where: string[];
}): Ending {
  const { vmName, sourceAlias, destinationAlias, where } = options;
  if (options.arrived)
    return {
      summary: {
        state: 'succeeded',
        errorCode: null,
        errorTitle: null,
        message: `Ferry restarted while this migration ran; afterwards ${vmName} runs on ${destinationAlias} and is gone from ${sourceAlias}.`,
        nextStep: null,
        verification: where,
      },
    };
  return {
    summary: {
      state: 'failed',
      errorCode: 'interrupted',
      errorTitle: 'Interrupted by a Ferry restart',
      message: `Ferry restarted while this migration ran, so it was not watched to the end. Now: ${where.join(', ')}.`,
      nextStep: 'Check the hosts listed above; start the migration again if the VM is still on the source.',
      verification: where,
    },
  };
}
