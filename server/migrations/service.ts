import { Prisma } from '@prisma/client';
import type { Db } from '../db';
import { recordAudit, type AuditContext } from '../audit/record';
import { UserError } from '../errors';
import type { EventBus } from '../events/bus';
import { describeHostError } from '../hosts/host-errors';
import { VirshError, type ExecutorSource } from '../hypervisor/executor';
import { matchDomain, toDomainUuid, type DomainRef } from '../libvirt/domain-ref';
import { buildPostcopySwitchArgv } from '../libvirt/migration/argv';
import { classifyVirshError } from '../libvirt/migration/errors';
import { migrationOptionsSchema } from '../libvirt/migration/options';
import { hasControlCharacter } from '../libvirt/text-checks';
import { appendMigrationEvent } from './events';
import { listDomains } from './host-queries';
import { runPreflight, type PreflightHost, type PreflightReport } from './preflight';
import type { MigrationRequest } from './request';
import { recordFinalState } from './final-state';
import { describeQueue, kickScheduler, readQueueState, wouldWait } from './scheduler';
import { ACTIVE_STATES, isFinalState, migrationControlChannel } from './types';

export type MigrationDeps = { db: Db; bus: EventBus; executors: ExecutorSource };

type Request = MigrationRequest;
type RegisteredHost = NonNullable<Awaited<ReturnType<Db['host']['findUnique']>>>;

async function loadHosts(db: Db, request: Request) {
  if (!request.vmName || hasControlCharacter(request.vmName) || request.vmName.length > 255) {
    throw new UserError({
      field: 'vmName',
      message: 'The VM name is empty, too long, or contains control characters.',
    });
  }
  const [source, destination] = await Promise.all([
    db.host.findUnique({ where: { id: request.sourceHostId } }),
    db.host.findUnique({ where: { id: request.destinationHostId } }),
  ]);
  if (!source)
    throw new UserError({
      code: 'NOT_FOUND',
      field: 'sourceHostId',
      message: 'The source host is not registered (any more).',
    });
  if (!destination)
    throw new UserError({
      code: 'NOT_FOUND',
      field: 'destinationHostId',
      message: 'The destination host is not registered (any more).',
    });
  if (source.id === destination.id)
    throw new UserError({ field: 'destinationHostId', message: 'Pick a destination other than the source host.' });
  return { source, destination };
}

function preflightHost(deps: MigrationDeps, host: RegisteredHost): PreflightHost {
  return {
    id: host.id,
    alias: host.alias,
    uri: host.displayUri,
    hostUuid: host.hostUuid,
    tlsCapable: host.tlsCapable,
    executor: deps.executors.get(host),
  };
}

/**
 * The VM the request means, as the source's inventory lists it: its UUID is what the job will act on. Refuses
 * when the name and the UUID the page sent no longer belong together (renamed, or replaced by another VM).
 */
async function identifyVm(deps: MigrationDeps, source: RegisteredHost, request: Request): Promise<DomainRef> {
  let listed;
  try {
    listed = await listDomains({ executor: deps.executors.get(source) });
  } catch (error) {
    throw new UserError({
      code: 'PRECONDITION_FAILED',
      field: 'sourceHostId',
      message: `Ferry could not ask ${source.alias} which VM "${request.vmName}" is: ${describeHostError(error).error}`,
    });
  }
  const match = matchDomain(listed, { name: request.vmName, uuid: request.vmUuid }, source.alias);
  if (match.ok) return match.domain;
  throw new UserError({
    code: match.reason === 'missing' ? 'NOT_FOUND' : 'CONFLICT',
    field: 'vmName',
    message: match.message,
  });
}

type JobHost = { id: string; alias: string; displayUri: string };

/**
 * Inside the caller's transaction: a queued job row for the VM, or null when the VM already has an active job (the
 * partial unique index on a VM's active job catches the race this read cannot: the caller handles P2002).
 */
export async function createQueuedJob(
  tx: Prisma.TransactionClient,
  job: {
    vmName: string;
    vmUuid: string;
    source: JobHost;
    destination: JobHost;
    options: unknown;
    actor: string;
    evacuationId?: string;
  },
): Promise<{ id: string } | null> {
  const active = await tx.migration.findFirst({
    where: { vmUuid: job.vmUuid, state: { in: [...ACTIVE_STATES] } },
    select: { id: true },
  });
  if (active) return null;
  return tx.migration.create({
    data: {
      vmName: job.vmName,
      vmUuid: job.vmUuid,
      sourceHostId: job.source.id,
      destinationHostId: job.destination.id,
      sourceAlias: job.source.alias,
      sourceUri: job.source.displayUri,
      destinationAlias: job.destination.alias,
      destinationUri: job.destination.displayUri,
      options: JSON.stringify(job.options),
      actor: job.actor,
      state: 'queued',
      evacuationId: job.evacuationId,
    },
    select: { id: true },
  });
}

/** The dialog's checklist: read-only, recorded in the audit log as `migration.preflight`. */
export async function preflightMigration(
  deps: MigrationDeps,
  who: AuditContext,
  request: Request,
): Promise<PreflightReport> {
  const { source, destination } = await loadHosts(deps.db, request);
  const report = await runPreflight({
    db: deps.db,
    vm: { name: request.vmName, uuid: request.vmUuid ?? null },
    migration: request.options,
    source: preflightHost(deps, source),
    destination: preflightHost(deps, destination),
  });
  await deps.db.$transaction((tx) =>
    recordAudit(tx, {
      ...who,
      action: 'migration.preflight',
      result: report.ok ? 'ok' : 'refused',
      hostAlias: source.alias,
      vmName: request.vmName,
      details: {
        destination: destination.alias,
        failed: report.checks.filter((c) => c.status === 'fail').map((c) => c.reason),
      },
    }),
  );
  return report;
}

export type StartResult = {
  id: string;
  /** true when this request found the VM's migration already under way and returns that one. */
  existing: boolean;
  /** 1 for the next to start; null when the job is not waiting in the queue. */
  queuePosition: number | null;
};

/**
 * Records the migration (queued) and its audit row, then lets the scheduler start it when its hosts have a
 * free slot, outside the request. Returns at once with the id.
 *
 * One unfinished job per VM: a second start of the same VM (a double click, a second user) gets the job that
 * runs already when it goes the same way, and a refusal naming it otherwise. The check inside the transaction
 * gives the sentence; the partial unique index Migration_one_active_per_vm is what holds when two requests
 * (or two Ferry processes) check at the same instant: the second insert fails and is answered like the check.
 */
export async function startMigration(deps: MigrationDeps, who: AuditContext, request: Request): Promise<StartResult> {
  const { source, destination } = await loadHosts(deps.db, request);
  const { options } = request;
  const vm = await identifyVm(deps, source, request);
  const running = await findActiveJob(deps.db, vm.uuid);
  if (running) return answerExisting(running, { source, destination, vmName: request.vmName });

  // A job that would wait is checked now: an impossible migration is refused at once, not after its turn.
  // (One that starts at once is checked by the runner a moment later; checking twice would only cost time.)
  const queue = await readQueueState(deps.db);
  if (wouldWait(queue, { sourceHostId: source.id, destinationHostId: destination.id })) {
    const report = await runPreflight({
      db: deps.db,
      vm: { name: request.vmName, uuid: vm.uuid },
      migration: options,
      source: preflightHost(deps, source),
      destination: preflightHost(deps, destination),
    });
    if (!report.ok)
      throw new UserError({
        code: 'PRECONDITION_FAILED',
        message: `Not queued, preflight failed: ${report.checks
          .filter((c) => c.status === 'fail')
          .map((c) => `${c.label}: ${c.reason}`)
          .join(' ')}`,
      });
  }

  let migration;
  try {
    migration = await deps.db.$transaction(async (tx) => {
      const created = await createQueuedJob(tx, {
        vmName: request.vmName,
        vmUuid: vm.uuid,
        source,
        destination,
        options,
        actor: who.actor,
      });
      if (!created) return null;
      await recordAudit(tx, {
        ...who,
        action: 'migration.start',
        hostAlias: source.alias,
        vmName: request.vmName,
        migrationId: created.id,
        details: { destination: destination.alias, vmUuid: vm.uuid, options },
      });
      return created;
    });
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    migration = null;
  }
  if (!migration) {
    const winner = await findActiveJob(deps.db, vm.uuid);
    if (winner) return answerExisting(winner, { source, destination, vmName: request.vmName });
    throw new UserError({
      code: 'CONFLICT',
      message: `"${request.vmName}" was being migrated a moment ago; look at the migrations list and start again.`,
    });
  }
  await appendMigrationEvent({
    db: deps.db,
    bus: deps.bus,
    migrationId: migration.id,
    payload: { type: 'state', state: 'queued' },
  });
  await kickScheduler(deps);
  const position = (await describeQueue(deps.db)).get(migration.id)?.position;
  return { id: migration.id, existing: false, queuePosition: position ? position : null };
}

type ActiveJob = { id: string; state: string; sourceHostId: string | null; destinationHostId: string | null };

function findActiveJob(db: Db, vmUuid: string): Promise<ActiveJob | null> {
  return db.migration.findFirst({
    where: { vmUuid, state: { in: [...ACTIVE_STATES] } },
    select: { id: true, state: true, sourceHostId: true, destinationHostId: true },
  });
}

async function answerExisting(
  job: ActiveJob,
  request: { source: RegisteredHost; destination: RegisteredHost; vmName: string },
): Promise<StartResult> {
  if (job.sourceHostId === request.source.id && job.destinationHostId === request.destination.id)
    return { id: job.id, existing: true, queuePosition: null };
  throw new UserError({
    code: 'CONFLICT',
    message: `"${request.vmName}" is already being migrated (migration ${job.id}, ${job.state}); one migration per VM at a time.`,
  });
}

/** Prisma's P2002 (unique constraint), from the one-active-job-per-VM index. */
function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}

const CANCELLED_WHILE_QUEUED = (actor: string) => ({
  summary: {
    state: 'cancelled' as const,
    errorCode: 'cancelled',
    errorTitle: 'Cancelled',
    message: `Cancelled by ${actor} while queued; Ferry had not touched either host.`,
    nextStep: null,
    verification: [],
  },
});

export async function cancelMigration(
  deps: MigrationDeps,
  who: AuditContext,
  id: string,
): Promise<{ id: string; state: string }> {
  const queued = await deps.db.migration.findUnique({ where: { id }, select: { state: true } });
  if (queued?.state === 'queued') {
    // Closed only if still queued: a scheduler that claimed it a moment ago wins, and the cancel below applies.
    const closed = await recordFinalState(deps, {
      migrationId: id,
      ending: CANCELLED_WHILE_QUEUED(who.actor),
      actor: who.actor,
      fromStates: ['queued'],
      auditDetails: { whileQueued: true, clientAddress: who.clientAddress },
    });
    if (closed) {
      void kickScheduler(deps);
      return { id, state: 'cancelled' };
    }
  }
  const migration = await deps.db.$transaction(async (tx) => {
    const current = await tx.migration.findUnique({ where: { id } });
    if (!current) throw new UserError({ code: 'NOT_FOUND', message: 'No such migration.' });
    if (isFinalState(current.state))
      throw new UserError({
        code: 'PRECONDITION_FAILED',
        message: `The migration already ${current.state === 'succeeded' ? 'succeeded' : `ended (${current.state})`}; nothing to cancel.`,
      });
    if (current.state === 'cancelling') return current;
    const updated = await tx.migration.update({ where: { id }, data: { state: 'cancelling' } });
    await recordAudit(tx, {
      ...who,
      action: 'migration.cancel',
      hostAlias: current.sourceAlias,
      vmName: current.vmName,
      migrationId: id,
      details: { previousState: current.state },
    });
    return updated;
  });
  await appendMigrationEvent({
    db: deps.db,
    bus: deps.bus,
    migrationId: id,
    payload: { type: 'state', state: 'cancelling', message: `Cancel requested by ${who.actor}` },
  });
  deps.bus.publish(migrationControlChannel(id), { action: 'cancel' });
  return { id, state: migration.state };
}

/** "Switch to post-copy" while a migration started with post-copy allowed is running. */
export async function switchToPostcopy(deps: MigrationDeps, who: AuditContext, id: string): Promise<{ id: string }> {
  const migration = await deps.db.migration.findUnique({ where: { id }, include: { sourceHost: true } });
  if (!migration) throw new UserError({ code: 'NOT_FOUND', message: 'No such migration.' });
  const options = migrationOptionsSchema.safeParse(JSON.parse(migration.options));
  if (!options.success || !options.data.postcopy)
    throw new UserError({
      code: 'PRECONDITION_FAILED',
      message: 'This migration was started without post-copy; it cannot switch.',
    });
  if (migration.state !== 'running' || !migration.sourceHost || !migration.vmUuid)
    throw new UserError({ code: 'PRECONDITION_FAILED', message: `The migration is ${migration.state}, not running.` });
  try {
    await deps.executors
      .get(migration.sourceHost)
      .run(buildPostcopySwitchArgv(toDomainUuid(migration.vmUuid)), { timeoutMs: 30_000 });
  } catch (error) {
    // libvirt refuses while disks are still being copied; say so in words rather than an internal error.
    if (error instanceof VirshError && error.kind === 'exit') {
      const classified = classifyVirshError(error.stderr);
      throw new UserError({
        code: 'PRECONDITION_FAILED',
        message: `${classified.title}: ${classified.cause} ${classified.nextStep}`,
      });
    }
    throw error;
  }
  await deps.db.$transaction((tx) =>
    recordAudit(tx, {
      ...who,
      action: 'migration.postcopy',
      hostAlias: migration.sourceAlias,
      vmName: migration.vmName,
      migrationId: id,
      details: {},
    }),
  );
  await appendMigrationEvent({
    db: deps.db,
    bus: deps.bus,
    migrationId: id,
    payload: { type: 'log', stream: 'ferry', text: `Switched to post-copy by ${who.actor}.\n` },
  });
  return { id };
}
