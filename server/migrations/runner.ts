import 'server-only';
import type { Db } from '../db';
import { env } from '../env';
import type { EventBus } from '../events/bus';
import type { ExecutorSource } from '../hypervisor/executor';
import type { Ending } from './final-state';
import { openJobContext, type JobContext } from './job-context';
import { loadJob } from './job/load';
import { DEFAULT_POLL_INTERVAL_MS, isPeerToPeer, runMigrate, type MigrateRun } from './job/migrate';
import { askHosts, endingOf, settle, watchSourceJob } from './job/reattach';
import { preflightPhase } from './job/preflight-phase';
import { prepareVolumes, settleVolumes, settleVolumesAfter } from './job/volumes';
import { classifyRun, locateAfterFailure, notSucceeded, succeeded, verifyArrival } from './job/verify';
import type { MigrationState } from './types';
import type { DomainRef } from '../libvirt/domain-ref';
import { decideReattach } from '../libvirt/migration/reattach';
import type { LoadedJob } from './job/load';

export type RunnerDeps = {
  db: Db;
  bus: EventBus;
  executors: ExecutorSource;
  /** How often `virsh domjobinfo` is polled on the source while virsh migrate runs. */
  pollIntervalMs?: number;
  /** After domjobabort, how long virsh may take to end before Ferry kills it (FERRY_CANCEL_GRACE_MS). */
  cancelGraceMs?: number;
  /** Called once the job's slots are free (its copy ended with success; it still verifies): the scheduler's kick. */
  onSlotFreed?: () => void;
};

/**
 * Runs one migration from queued to a verified final state, phase by phase: load → preflight → pre-create
 * volumes → run → verify → clean up. Every state change is written to SQLite before it is published; the outcome
 * is decided by asking both hosts, never by trusting virsh's exit code alone; the ending is written by
 * recordFinalState (final-state.ts), whatever it is.
 */
export async function runMigration(deps: RunnerDeps, migrationId: string): Promise<MigrationState> {
  const row = await deps.db.migration.findUniqueOrThrow({
    where: { id: migrationId },
    select: { actor: true, state: true, evacuationId: true },
  });
  const ctx = openJobContext({
    db: deps.db,
    bus: deps.bus,
    migrationId,
    actor: row.actor,
    cancelled: row.state === 'cancelling',
    evacuationId: row.evacuationId,
  });
  try {
    return await ctx.finish(await runPhases(ctx, deps));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    ctx.transcript.push(`ferry: ${message}\n`);
    return await ctx.finish({
      summary: {
        state: 'failed',
        errorCode: 'internal',
        errorTitle: 'Ferry could not run the migration',
        message,
        nextStep: 'See the log below; the hosts were not changed by Ferry after this error.',
        verification: [],
      },
    });
  } finally {
    await ctx.close();
  }
}

async function runPhases(ctx: JobContext, deps: RunnerDeps): Promise<Ending> {
  const loaded = await loadJob(deps, ctx.migrationId);
  if (!loaded.ok) return loaded.ending;
  const { job } = loaded;

  const checked = await preflightPhase(ctx, job);
  if (!checked.ok) return checked.ending;
  const { vm, facts } = checked;

  await prepareVolumes(ctx, job, facts.disks);
  await ctx.setState('running', { startedAt: new Date() });
  const run = await runMigrate(ctx, job, vm, {
    pollIntervalMs: deps.pollIntervalMs,
    cancelGraceMs: deps.cancelGraceMs ?? env.FERRY_CANCEL_GRACE_MS,
  });

  if (run.exitCode === 0) {
    // The data has moved: the hosts' slots go to the next queued job while this one verifies.
    // `update`, not updateMany: Prisma runs updateMany in a transaction, which would wait for any other one.
    await ctx.db.migration.update({ where: { id: ctx.migrationId }, data: { transferEndedAt: new Date() } });
    deps.onSlotFreed?.();
    const arrival = await verifyArrival(job, vm);
    if (!arrival.ok) return arrival.ending;
    const deleted = await settleVolumes(ctx, job, 'succeeded');
    return succeeded({
      job,
      vm,
      run,
      completed: arrival.completed,
      verification: [...arrival.verification, ...deleted],
    });
  }

  // virsh was killed, or lost its connection: its exit code says nothing, and a p2p job may still run.
  if (run.killedAfterGrace || (run.transportError !== null && isPeerToPeer(job)))
    return await askAfterLostClient(ctx, deps, { job, vm, run });

  // Failed or cancelled: find out where the VM is, and undo what this migration left on the destination.
  const classified = classifyRun(run, ctx.cancel.requested);
  const { sourceState, destinationState } = await locateAfterFailure(job, vm);
  const verification = [
    `${job.source.alias}: ${sourceState ?? 'no such domain'}`,
    `${job.destination.alias}: ${destinationState ?? 'no such domain'}`,
  ];
  verification.push(...(await settleVolumes(ctx, job, 'not-succeeded')));
  return notSucceeded({ job, vm, classified, cancelled: ctx.cancel.requested, sourceState, verification });
}

/**
 * virsh ended without telling how the migration did (killed after the cancel grace, or its connection dropped):
 * the hosts say. A p2p job that still runs on the source is watched to its end, as after a restart; the ending is
 * the decision table's (reattach.ts), never virsh's exit code.
 */
async function askAfterLostClient(
  ctx: JobContext,
  deps: RunnerDeps,
  { job, vm, run }: { job: LoadedJob; vm: DomainRef; run: MigrateRun },
): Promise<Ending> {
  const names = {
    vmName: vm.name,
    sourceAlias: job.source.alias,
    destinationAlias: job.destination.alias,
    why: run.killedAfterGrace ? ('cancel' as const) : ('restart' as const),
  };
  const decide = async () =>
    decideReattach({
      ...(await askHosts({ src: job.src, dst: job.dst, uuid: vm.uuid })),
      options: job.options,
      cancelRequested: ctx.cancel.requested,
    });
  let decision = await decide();
  if (decision.action === 'resume' && !run.killedAfterGrace) {
    await ctx.emit({
      type: 'log',
      stream: 'ferry',
      text: `virsh lost its connection, but ${job.source.alias} still runs the migration: watching it.\n`,
    });
    await watchSourceJob(ctx, {
      src: job.src,
      vm,
      first: decision.job,
      pollIntervalMs: deps.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
      cancelGraceMs: deps.cancelGraceMs ?? env.FERRY_CANCEL_GRACE_MS,
    });
    decision = await decide();
  }
  const ending = endingOf(settle(decision), names);
  ending.summary.verification.push(...(await settleVolumesAfter(ctx, job, ending.summary.state)));
  return ending;
}
