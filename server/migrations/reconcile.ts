import { env } from '../env';
import { describeHostError } from '../hosts/host-errors';
import type { Executor } from '../hypervisor/executor';
import { matchDomain, toDomainUuid, type DomainRef, type DomainUuid } from '../libvirt/domain-ref';
import type { DomJobInfo } from '../libvirt/migration/jobinfo';
import { migrationOptionsSchema } from '../libvirt/migration/options';
import { decideReattach, type ReattachDecision } from '../libvirt/migration/reattach';
import { recordFinalState, type Ending, type RunTotals } from './final-state';
import { listDomains } from './host-queries';
import { openJobContext } from './job-context';
import { settleVolumesAfter } from './job/volumes';
import { loadJob } from './job/load';
import { DEFAULT_POLL_INTERVAL_MS } from './job/migrate';
import { askHosts, completedOnDestination, endingOf, settle, watchSourceJob } from './job/reattach';
import { PROCESS_OWNER_ID } from './owner';
import type { RunnerDeps } from './runner';
import { SLOT_STATES } from './types';
import { settleFinishedJobVolumes } from '../volumes/service';
import { logJobError } from '../observability/logger';

/** A job whose owner has not written a heartbeat for this long is treated as orphaned (FERRY_STALE_HEARTBEAT_MS). */
export const STALE_HEARTBEAT_MS = env.FERRY_STALE_HEARTBEAT_MS;

export type ReconcileResult = { closed: string[]; resumed: string[] };

type Orphan = Awaited<ReturnType<typeof findOrphans>>[number];

async function findOrphans(deps: RunnerDeps, stale: Date) {
  return deps.db.migration.findMany({
    where: {
      // Queued jobs have no owner by design: they wait for the scheduler, not for recovery.
      state: { in: [...SLOT_STATES] },
      OR: [{ ownerId: null }, { ownerId: { not: PROCESS_OWNER_ID } }],
      AND: [{ OR: [{ heartbeatAt: null }, { heartbeatAt: { lt: stale } }] }],
      createdAt: { lt: stale },
    },
    include: { sourceHost: true, destinationHost: true },
  });
}

/**
 * Ferry keeps migration state in the database, so after a restart (or when another replica died) it can tell
 * which jobs no process watches any more. Each orphan is first claimed (one process wins, by a conditional update
 * on the owner and heartbeat it was found with), then both hosts are asked (reattach.ts decides): a migration the
 * source's libvirtd still runs (p2p) is watched again under the same id, so its page's live bar goes on; anything
 * else is closed with what the hosts say through recordFinalState, the runner's own writer, or `unknown` when
 * their answers do not establish it. Never a guess.
 */
export async function reconcileOrphanedMigrations(
  deps: RunnerDeps,
  options: { now?: Date; staleHeartbeatMs?: number } = {},
): Promise<ReconcileResult> {
  const now = options.now ?? new Date();
  const stale = new Date(now.getTime() - (options.staleHeartbeatMs ?? STALE_HEARTBEAT_MS));
  const result: ReconcileResult = { closed: [], resumed: [] };
  const orphans = await findOrphans(deps, stale);
  await Promise.all(
    orphans.map(async (migration) => {
      if (!(await claim(deps, migration, now))) return;
      try {
        const outcome = await reconcileOne(deps, migration, now);
        if (outcome !== null) result[outcome].push(migration.id);
      } catch (error) {
        // Released, so the next tick (of this or another process) tries again.
        logJobError({ migrationId: migration.id, what: 're-attaching failed', error });
        await deps.db.migration
          .updateMany({ where: { id: migration.id, ownerId: PROCESS_OWNER_ID }, data: { ownerId: null } })
          .catch(() => undefined);
      }
    }),
  );
  // The volumes of jobs that ended unwatched (these, or a runner that crashed) are cleaned up or named now.
  await settleFinishedJobVolumes(deps).catch((error: unknown) =>
    logJobError({ what: 'volume ledger sweep failed', error }),
  );
  return result;
}

async function claim(deps: RunnerDeps, migration: Orphan, now: Date): Promise<boolean> {
  const claimed = await deps.db.migration.updateMany({
    where: {
      id: migration.id,
      state: { in: [...SLOT_STATES] },
      ownerId: migration.ownerId,
      heartbeatAt: migration.heartbeatAt,
    },
    data: { ownerId: PROCESS_OWNER_ID, heartbeatAt: now },
  });
  return claimed.count === 1;
}

async function reconcileOne(deps: RunnerDeps, migration: Orphan, now: Date): Promise<'closed' | 'resumed' | null> {
  const src = migration.sourceHost ? deps.executors.get(migration.sourceHost) : null;
  const dst = migration.destinationHost ? deps.executors.get(migration.destinationHost) : null;
  const names = {
    vmName: migration.vmName,
    sourceAlias: migration.sourceAlias,
    destinationAlias: migration.destinationAlias,
    why: 'restart' as const,
  };
  const parsed = migrationOptionsSchema.safeParse(JSON.parse(migration.options));
  const options = parsed.success ? parsed.data : { mode: 'live' as const, undefineSource: true };
  const cancelRequested = migration.state === 'cancelling';

  const uuid = await vmUuidOf({ src, dst, vm: { name: migration.vmName, uuid: migration.vmUuid } });
  let decision: ReattachDecision;
  if (typeof uuid === 'string') {
    decision = decideReattach({ ...(await askHosts({ src, dst, uuid })), options, cancelRequested });
  } else {
    decision = { action: 'end', state: uuid.state, reason: uuid.reason, said: uuid.said };
  }

  if (decision.action === 'resume' && typeof uuid === 'string') {
    void resumeMigration(deps, {
      migrationId: migration.id,
      vm: { name: migration.vmName, uuid },
      first: decision.job,
    }).catch((error: unknown) => logJobError({ migrationId: migration.id, what: 're-attached job failed', error }));
    return 'resumed';
  }
  const settled = settle(decision);
  const ending = endingOf(settled, names);
  // The hosts establish a success (on the destination, gone from the source): the job's own volume options hold,
  // as when Ferry watched it end ("delete source volumes" of an evacuation). Any other ending is left to the sweep.
  if (settled.state === 'succeeded')
    ending.summary.verification.push(...(await settleSucceededJobVolumes(deps, migration.id)));
  const closed = await recordFinalState(deps, {
    migrationId: migration.id,
    ending,
    actor: 'system',
    auditDetails: { reason: 'reconciled after restart' },
    now,
  });
  return closed ? 'closed' : null;
}

/** Settles the volumes of a job that succeeded while Ferry was not watching, with the job's own options. */
async function settleSucceededJobVolumes(deps: RunnerDeps, migrationId: string): Promise<string[]> {
  const loaded = await loadJob(deps, migrationId);
  if (!loaded.ok) return [];
  const ctx = openJobContext({
    db: deps.db,
    bus: deps.bus,
    migrationId,
    actor: loaded.job.actor,
    cancelled: false,
  });
  try {
    return await settleVolumesAfter(ctx, loaded.job, 'succeeded');
  } finally {
    await ctx.close();
  }
}

/**
 * The VM's UUID for a row from before UUIDs were recorded: its exact name in either host's list (never passed to
 * virsh as a bare name). When neither host lists it, or neither answers, that is the whole decision.
 */
async function vmUuidOf(options: {
  src: Executor | null;
  dst: Executor | null;
  vm: { name: string; uuid: string | null };
}): Promise<DomainUuid | Extract<ReattachDecision, { action: 'end' }>> {
  if (options.vm.uuid) return toDomainUuid(options.vm.uuid);
  const said: string[] = [];
  for (const executor of [options.src, options.dst]) {
    if (executor === null) {
      said.push('host removed from Ferry');
      continue;
    }
    try {
      const match = matchDomain(await listDomains({ executor }), options.vm, '');
      if (match.ok) return match.domain.uuid;
      said.push('no such domain');
    } catch (error) {
      said.push(`no answer (${describeHostError(error).error})`);
    }
  }
  const nowhere = said.every((line) => line === 'no such domain');
  return {
    action: 'end',
    state: 'unknown',
    reason: nowhere ? 'Neither host has the VM.' : 'A host did not answer, so the VM could not be found.',
    said: { source: said[0] ?? 'not asked', destination: said[1] ?? 'not asked' },
  };
}

/**
 * Watches a migration the source still runs after Ferry lost it, under its own id (same events, same page), then
 * asks both hosts how it ended and records that.
 */
async function resumeMigration(
  deps: RunnerDeps,
  options: { migrationId: string; vm: DomainRef; first: DomJobInfo },
): Promise<void> {
  const loaded = await loadJob(deps, options.migrationId);
  if (!loaded.ok) {
    await recordFinalState(deps, { migrationId: options.migrationId, ending: loaded.ending, actor: 'system' });
    return;
  }
  const { job } = loaded;
  const row = await deps.db.migration.findUniqueOrThrow({
    where: { id: options.migrationId },
    select: { state: true, evacuationId: true },
  });
  const ctx = openJobContext({
    db: deps.db,
    bus: deps.bus,
    migrationId: job.id,
    actor: job.actor,
    cancelled: row.state === 'cancelling',
    evacuationId: row.evacuationId,
  });
  try {
    await ctx.emit({
      type: 'log',
      stream: 'ferry',
      text: `Ferry restarted; ${job.source.alias}'s libvirtd still runs this migration: watching it again.\n`,
    });
    if (row.state !== 'running' && row.state !== 'cancelling') await ctx.setState('running');
    const watched = await watchSourceJob(ctx, {
      src: job.src,
      vm: options.vm,
      first: options.first,
      pollIntervalMs: deps.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
      cancelGraceMs: deps.cancelGraceMs ?? env.FERRY_CANCEL_GRACE_MS,
    });
    const [answers, completed] = await Promise.all([
      askHosts({ src: job.src, dst: job.dst, uuid: options.vm.uuid }),
      completedOnDestination(job.dst, options.vm.uuid),
    ]);
    const decision = settle(
      decideReattach({ ...answers, options: job.options, cancelRequested: ctx.cancel.requested }),
    );
    const ending: Ending = endingOf(decision, {
      vmName: job.vm.name,
      sourceAlias: job.source.alias,
      destinationAlias: job.destination.alias,
      why: 'restart',
    });
    // Ferry watched this job to its end: its volumes are settled with its own options ("delete source volumes").
    ending.summary.verification.push(...(await settleVolumesAfter(ctx, job, decision.state)));
    const last = watched.samples[watched.samples.length - 1];
    const totals: RunTotals = {
      memoryBytes: completed?.memory?.processedBytes ?? last?.memory?.processedBytes ?? null,
      diskBytes: completed?.disk?.processedBytes ?? last?.disk?.totalBytes ?? null,
      downtimeMs: completed?.totalDowntimeMs ?? null,
      peakBandwidthBps: watched.peakBandwidthBps,
    };
    await ctx.finish(decision.state === 'succeeded' ? { ...ending, totals } : ending);
  } finally {
    await ctx.close();
  }
}
