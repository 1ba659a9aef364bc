import { Prisma } from '@prisma/client';
import type { Db } from '../db';
import { recordAudit, type AuditContext } from '../audit/record';
import { UserError } from '../errors';
import type { EventBus } from '../events/bus';
import type { ExecutorSource } from '../hypervisor/executor';
import { migrationOptionsSchema } from '../libvirt/migration/options';
import { appendMigrationEvent } from '../migrations/events';
import { kickScheduler } from '../migrations/scheduler';
import { cancelMigration, createQueuedJob } from '../migrations/service';
import { ACTIVE_STATES, isFinalState } from '../migrations/types';
import { plural } from '../plural';
import { forgetPlanFacts, planBringBack, planEvacuation, type Plan, type PlanItem } from './plan';
import type { PlacementOverride } from './placement';
import { parseChecklist, retryDecision } from './retry';

/**
 * An evacuation in motion. Everything is a row: the Evacuation, one EvacuationItem per VM, one Migration per
 * attempt (linked by evacuationId). `advanceEvacuation` reads them and does the next step — settle the items
 * whose job ended, retry once elsewhere after a destination failure, submit more jobs while the evacuation
 * runs, close it when nothing is left — so it can run from anywhere, any number of times: when a job ends, on
 * the background sweep, after a restart. Jobs go through the same queue as single migrations (the scheduler
 * and its per-host limits start them); the evacuation only decides how many it has submitted at once.
 */

export type EvacuationDeps = { db: Db; bus: EventBus; executors: ExecutorSource };

export const EVACUATION_STATES = ['running', 'paused', 'cancelling', 'finished', 'cancelled'] as const;
export type EvacuationState = (typeof EVACUATION_STATES)[number];
export const OPEN_STATES: readonly EvacuationState[] = ['running', 'paused', 'cancelling'];

/** Item states that will not change any more. */
const SETTLED_ITEM_STATES = ['succeeded', 'failed', 'unmovable', 'excluded', 'dropped', 'cancelled'];

/** One retry (next-best host after a destination failure, or the same after a restart interrupted it): two attempts. */
const MAX_ATTEMPTS = 2;

/**
 * How many jobs of one evacuation sit in the queue or run at once: twice what its busiest end may run, so the
 * queue always holds the next ones (two run, two wait, with limits of 2) while a pause still holds most back.
 */
function submitWindow(limit: number): number {
  return Math.max(2, limit * 2);
}

/**
 * Every job of an evacuation: live, persistent, undefined on the source once verified, and its copied disks
 * deleted on the source after that verification. A stale copy left on the drained host would be "someone
 * else's file" to the bring-back's placement and preflight; shared disks are never deleted.
 */
function evacuationOptions(storage: string) {
  const shared = storage === 'shared';
  return migrationOptionsSchema.parse({ storage: shared ? 'shared' : 'copy-all', deleteSourceVolumes: !shared });
}

/** The admin's edits to a plan: a destination per VM, or `null` to leave it where it is. */
export type PlanOverrides = readonly PlacementOverride[];

function summarizeOverrides(plan: Plan, overrides: PlanOverrides) {
  return overrides.map((entry) => {
    const item = plan.items.find((candidate) => candidate.vmUuid === entry.vmUuid);
    const destination = plan.candidates.find((candidate) => candidate.id === entry.destinationHostId);
    return { vm: item?.vmName ?? entry.vmUuid, to: entry.destinationHostId === null ? 'excluded' : destination?.alias };
  });
}

function itemState(item: PlanItem): string {
  return item.kind === 'move' ? 'pending' : item.kind;
}

async function persist(deps: EvacuationDeps, who: AuditContext, plan: Plan, overrides: PlanOverrides): Promise<string> {
  const movable = plan.items.filter((item) => item.kind === 'move');
  if (movable.length === 0)
    throw new UserError({
      code: 'PRECONDITION_FAILED',
      message: `Nothing to move: ${plural(plan.items.length, 'VM')} on the plan, none can go anywhere. See each VM's reason.`,
    });
  const id = await deps.db.$transaction(async (tx) => {
    const open = await tx.evacuation.findFirst({
      where: { hostId: plan.host.id, state: { in: [...OPEN_STATES] } },
      select: { id: true, kind: true },
    });
    if (open)
      throw new UserError({
        code: 'CONFLICT',
        message: `${plan.host.alias} already has an unfinished ${open.kind === 'evacuate' ? 'evacuation' : 'bring-back'} (${open.id}); open it instead.`,
      });
    const evacuation = await tx.evacuation.create({
      data: {
        kind: plan.kind,
        hostId: plan.host.id,
        hostAlias: plan.host.alias,
        actor: who.actor,
        options: JSON.stringify(evacuationOptions('copy-all')),
        fromEvacuationId: plan.fromEvacuationId,
        items: {
          create: plan.items.map((item, position) => ({
            position,
            vmName: item.vmName,
            vmUuid: item.vmUuid,
            sourceHostId: item.sourceHostId,
            sourceAlias: item.sourceAlias,
            destinationHostId: item.destination?.id ?? null,
            destinationAlias: item.destination?.alias ?? null,
            storage: item.storage,
            state: itemState(item),
            reasons: JSON.stringify(item.reasons),
            alternatives: JSON.stringify(item.alternatives.map((host) => host.id)),
            error: item.kind === 'move' ? null : (item.reasons[0] ?? null),
          })),
        },
      },
    });
    if (plan.kind === 'evacuate' && !plan.host.inMaintenance) {
      await tx.host.update({
        where: { id: plan.host.id },
        data: { inMaintenance: true, maintenanceSince: new Date() },
      });
      await recordAudit(tx, {
        ...who,
        action: 'host.maintenance-on',
        hostAlias: plan.host.alias,
        details: { evacuationId: evacuation.id },
      });
    }
    await recordAudit(tx, {
      ...who,
      action: plan.kind === 'evacuate' ? 'evacuation.start' : 'evacuation.bring-back',
      hostAlias: plan.host.alias,
      details: {
        evacuationId: evacuation.id,
        moves: movable.map((item) => ({ vm: item.vmName, from: item.sourceAlias, to: item.destination?.alias })),
        skipped: plan.items
          .filter((item) => item.kind !== 'move')
          .map((item) => ({ vm: item.vmName, kind: item.kind, reason: item.reasons[0] ?? null })),
      },
    });
    if (overrides.length > 0)
      await recordAudit(tx, {
        ...who,
        action: 'evacuation.change',
        hostAlias: plan.host.alias,
        details: { evacuationId: evacuation.id, changes: summarizeOverrides(plan, overrides) },
      });
    return evacuation.id;
  });
  await advanceEvacuation(deps, id);
  return id;
}

/**
 * "Start" on the plan page: the plan again with the admin's changes, over the facts the page's plan was made from if
 * they are young (plan.ts, PLAN_FACTS_REUSE_MS), then run.
 */
export async function startEvacuation(
  deps: EvacuationDeps,
  who: AuditContext,
  options: { hostId: string; overrides: PlanOverrides },
): Promise<{ id: string }> {
  const plan = await planEvacuation(deps, { ...options, reuseRecentFacts: true });
  forgetPlanFacts(options.hostId);
  return { id: await persist(deps, who, plan, options.overrides) };
}

export async function startBringBack(
  deps: EvacuationDeps,
  who: AuditContext,
  options: { hostId: string; excluded: readonly string[] },
): Promise<{ id: string }> {
  const plan = await planBringBack(deps, options);
  const overrides = options.excluded.map((vmUuid) => ({ vmUuid, destinationHostId: null }));
  return { id: await persist(deps, who, plan, overrides) };
}

type ItemRow = Awaited<ReturnType<Db['evacuationItem']['findMany']>>[number];

/** Per-process chain per evacuation: two advances of one evacuation in this process never interleave. */
const chains = new Map<string, Promise<void>>();

export function advanceEvacuation(deps: EvacuationDeps, id: string): Promise<void> {
  const previous = chains.get(id) ?? Promise.resolve();
  const next = previous
    .then(() => advanceOnce(deps, id))
    .catch((error: unknown) => console.error(`evacuation ${id}: advance failed`, error));
  chains.set(id, next);
  void next.finally(() => {
    if (chains.get(id) === next) chains.delete(id);
  });
  return next;
}

/** Every open evacuation, once: the background sweep's step (and what carries one on after a restart). */
export async function advanceOpenEvacuations(deps: EvacuationDeps): Promise<void> {
  const open = await deps.db.evacuation.findMany({ where: { state: { in: [...OPEN_STATES] } }, select: { id: true } });
  for (const { id } of open) await advanceEvacuation(deps, id);
}

/** A job that ended: advance the evacuation it belongs to, if any. */
export async function onMigrationEnded(deps: EvacuationDeps, migrationId: string): Promise<void> {
  const row = await deps.db.migration.findUnique({
    where: { id: migrationId },
    select: { evacuationId: true, state: true },
  });
  if (row?.evacuationId && isFinalState(row.state)) await advanceEvacuation(deps, row.evacuationId);
}

async function advanceOnce(deps: EvacuationDeps, id: string): Promise<void> {
  const evacuation = await deps.db.evacuation.findUnique({ where: { id } });
  if (!evacuation || !(OPEN_STATES as readonly string[]).includes(evacuation.state)) return;
  const items = await deps.db.evacuationItem.findMany({ where: { evacuationId: id }, orderBy: { position: 'asc' } });
  let submitted = 0;
  for (const item of items.filter((entry) => entry.state === 'submitted')) {
    if (await settleItem(deps, evacuation, item)) continue;
    submitted += 1;
  }

  if (evacuation.state === 'running') {
    const host = await deps.db.host.findUnique({
      where: { id: evacuation.hostId },
      select: { maxOutgoingMigrations: true, maxIncomingMigrations: true },
    });
    const limit =
      evacuation.kind === 'evacuate' ? (host?.maxOutgoingMigrations ?? 2) : (host?.maxIncomingMigrations ?? 2);
    const room = submitWindow(limit) - submitted;
    if (room > 0)
      submitted += await submitPending(
        deps,
        evacuation,
        items.filter((entry) => entry.state === 'pending'),
        room,
      );
  }

  const after = await deps.db.evacuationItem.findMany({ where: { evacuationId: id }, select: { state: true } });
  const unsettled = after.filter((item) => !SETTLED_ITEM_STATES.includes(item.state));
  if (unsettled.length > 0) return;
  const ending: EvacuationState = evacuation.state === 'cancelling' ? 'cancelled' : 'finished';
  await deps.db.$transaction(async (tx) => {
    const closed = await tx.evacuation.updateMany({
      where: { id, state: { in: [...OPEN_STATES] } },
      data: { state: ending, endedAt: new Date() },
    });
    if (closed.count === 0) return;
    const count = (state: string) => after.filter((item) => item.state === state).length;
    await recordAudit(tx, {
      actor: evacuation.actor,
      action: `evacuation.${ending}`,
      result: count('failed') > 0 ? 'failed' : 'ok',
      hostAlias: evacuation.hostAlias,
      details: {
        evacuationId: id,
        succeeded: count('succeeded'),
        failed: count('failed'),
        skipped: count('unmovable') + count('excluded'),
        dropped: count('dropped') + count('cancelled'),
      },
    });
  });
}

/**
 * A submitted item whose job ended becomes succeeded, failed or cancelled, or is retried once: on its next-best
 * host when the failure was the destination's, on the same host when a Ferry restart interrupted it before the VM
 * moved. Returns true when the item no longer has a job in the queue.
 */
async function settleItem(
  deps: EvacuationDeps,
  evacuation: { id: string; state: string; actor: string },
  item: ItemRow,
): Promise<boolean> {
  if (!item.migrationId) return false;
  const job = await deps.db.migration.findUnique({
    where: { id: item.migrationId },
    select: { state: true, errorCode: true, errorMessage: true, checklist: true, destinationAlias: true },
  });
  if (!job) {
    await settle(deps.db, item, 'failed', 'Its migration record is gone.');
    return true;
  }
  if (!isFinalState(job.state)) return false;
  if (job.state === 'succeeded') {
    await settle(deps.db, item, 'succeeded', null);
    return true;
  }
  const cause = job.errorMessage ?? `The migration ended ${job.state}.`;
  if (job.state === 'cancelled') {
    await settle(deps.db, item, 'cancelled', cause);
    return true;
  }
  const alternatives = parseIds(item.alternatives);
  const retry =
    evacuation.state === 'running' && item.attempts < MAX_ATTEMPTS
      ? retryDecision({
          errorCode: job.errorCode,
          errorMessage: job.errorMessage,
          checklist: parseChecklist(job.checklist),
          hasAlternative: alternatives.length > 0,
        })
      : null;
  if (retry === 'next-host') {
    const [next, ...rest] = alternatives as [string, ...string[]];
    const resubmitted = await submitItem(deps, evacuation, item, {
      destinationHostId: next,
      attempt: item.attempts + 1,
      remaining: rest,
      note: `To ${job.destinationAlias} failed (${cause}); retried on the next-best host.`,
    });
    if (resubmitted) return false;
  }
  if (retry === 'same-host') {
    const resubmitted = await submitItem(deps, evacuation, item, {
      destinationHostId: item.destinationHostId,
      attempt: item.attempts + 1,
      note: `A Ferry restart interrupted the move to ${job.destinationAlias} before ${item.vmName} left ${item.sourceAlias}; started again.`,
    });
    if (resubmitted) return false;
  }
  await settle(deps.db, item, 'failed', `To ${job.destinationAlias}: ${cause}`);
  return true;
}

async function settle(db: Db, item: ItemRow, state: string, error: string | null) {
  await db.evacuationItem.updateMany({
    where: { id: item.id, state: 'submitted', migrationId: item.migrationId },
    data: { state, error: error ?? item.error },
  });
}

function parseIds(text: string): string[] {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.filter((entry): entry is string => typeof entry === 'string') : [];
  } catch {
    return [];
  }
}

type HostRow = NonNullable<Awaited<ReturnType<Db['host']['findUnique']>>>;
type Attempt = { destinationHostId: string | null; attempt: number; remaining?: string[]; note?: string };

type JobHosts = { source: HostRow; destination: HostRow };

/** The item's hosts, or why it cannot be queued with them (gone, or a destination being drained). */
function checkHosts(
  item: ItemRow,
  source: HostRow | null,
  destination: HostRow | null,
): { ok: true; hosts: JobHosts } | { ok: false; error: string } {
  if (!source) return { ok: false, error: `${item.sourceAlias} is no longer registered.` };
  if (!destination) return { ok: false, error: 'Its destination is no longer registered.' };
  if (destination.inMaintenance) return { ok: false, error: `${destination.alias} went into maintenance.` };
  return { ok: true, hosts: { source, destination } };
}

async function failItem(db: Db, item: ItemRow, fromState: string, error: string) {
  await db.evacuationItem.updateMany({ where: { id: item.id, state: fromState }, data: { state: 'failed', error } });
}

const ALREADY_MIGRATING = (vmName: string) => `"${vmName}" is already being migrated by another job.`;

/**
 * Inside the caller's transaction: the item's job row, the item's claim and the audit row. Returns the job's id, or
 * null when another job of the VM is active; throws LostClaim when another advance claimed the item first.
 */
async function createJob(
  tx: Prisma.TransactionClient,
  evacuation: { id: string; actor: string },
  item: ItemRow,
  hosts: JobHosts,
  attempt: Attempt,
): Promise<string | null> {
  const { source, destination } = hosts;
  const options = evacuationOptions(item.storage);
  const created = await createQueuedJob(tx, {
    vmName: item.vmName,
    vmUuid: item.vmUuid,
    source,
    destination,
    options,
    actor: evacuation.actor,
    evacuationId: evacuation.id,
  });
  if (!created) return null;
  const claimed = await tx.evacuationItem.updateMany({
    where: { id: item.id, state: attempt.attempt === 1 ? 'pending' : 'submitted', migrationId: item.migrationId },
    data: {
      state: 'submitted',
      migrationId: created.id,
      attempts: attempt.attempt,
      destinationHostId: destination.id,
      destinationAlias: destination.alias,
      ...(attempt.remaining ? { alternatives: JSON.stringify(attempt.remaining) } : {}),
      ...(attempt.note ? { error: attempt.note } : {}),
    },
  });
  // Another advance (another process) got here first: undo by rolling back the whole transaction.
  if (claimed.count === 0) throw new LostClaim();
  await recordAudit(tx, {
    actor: evacuation.actor,
    action: 'migration.start',
    hostAlias: source.alias,
    vmName: item.vmName,
    migrationId: created.id,
    details: {
      destination: destination.alias,
      vmUuid: item.vmUuid,
      options,
      evacuationId: evacuation.id,
      attempt: attempt.attempt,
    },
  });
  return created.id;
}

/** A lost claim, or the unique index on a VM's active job (a single migration started meanwhile). */
function isRace(error: unknown): boolean {
  return (
    error instanceof LostClaim || (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002')
  );
}

/**
 * Queues one migration for an item, in one transaction with the item's claim and the audit row: a crash leaves
 * either both or neither. The row goes through the scheduler like any single migration; the runner's preflight
 * checks it again when its turn comes (a destination that went into maintenance meanwhile fails it there).
 */
async function submitItem(
  deps: EvacuationDeps,
  evacuation: { id: string; actor: string },
  item: ItemRow,
  attempt: Attempt,
): Promise<boolean> {
  const [source, destination] = await Promise.all([
    deps.db.host.findUnique({ where: { id: item.sourceHostId } }),
    attempt.destinationHostId ? deps.db.host.findUnique({ where: { id: attempt.destinationHostId } }) : null,
  ]);
  const fromState = attempt.attempt === 1 ? 'pending' : 'submitted';
  const checked = checkHosts(item, source, destination);
  if (!checked.ok) {
    await failItem(deps.db, item, fromState, checked.error);
    return false;
  }
  let migrationId: string | null = null;
  try {
    migrationId = await deps.db.$transaction((tx) => createJob(tx, evacuation, item, checked.hosts, attempt));
  } catch (error) {
    if (error instanceof LostClaim) return false;
    if (!isRace(error)) throw error;
  }
  if (!migrationId) {
    await failItem(deps.db, item, fromState, ALREADY_MIGRATING(item.vmName));
    return false;
  }
  await announceQueued(deps, evacuation.id, [migrationId]);
  return true;
}

const firstAttempt = (item: ItemRow): Attempt => ({ destinationHostId: item.destinationHostId, attempt: 1 });

/**
 * First attempts of pending items, up to `room` queued: each batch is read and queued in one transaction (its hosts
 * read once), then announced and handed to the scheduler at once, so the jobs that may start together are claimed
 * in one pass instead of one after another behind each other's writes. An item that cannot go (its hosts) fails and
 * the next one takes its place. A race with another advance or another job of the same VM (rare) rolls the batch
 * back, and its items are submitted one by one, each deciding for itself.
 */
async function submitPending(
  deps: EvacuationDeps,
  evacuation: { id: string; actor: string },
  pending: ItemRow[],
  room: number,
): Promise<number> {
  let queued = 0;
  let rest = pending;
  while (queued < room && rest.length > 0) {
    const batch = rest.slice(0, room - queued);
    rest = rest.slice(batch.length);
    const hostIds = [...new Set(batch.flatMap((item) => [item.sourceHostId, item.destinationHostId]))].filter(
      (id): id is string => id !== null,
    );
    const hosts = new Map((await deps.db.host.findMany({ where: { id: { in: hostIds } } })).map((h) => [h.id, h]));
    const ready: { item: ItemRow; hosts: JobHosts }[] = [];
    for (const item of batch) {
      const source = hosts.get(item.sourceHostId) ?? null;
      const destination = item.destinationHostId ? (hosts.get(item.destinationHostId) ?? null) : null;
      const checked = checkHosts(item, source, destination);
      if (checked.ok) ready.push({ item, hosts: checked.hosts });
      else await failItem(deps.db, item, 'pending', checked.error);
    }
    if (ready.length === 0) continue;
    let created: (string | null)[];
    try {
      created = await deps.db.$transaction(async (tx) => {
        const ids: (string | null)[] = [];
        for (const { item, hosts: jobHosts } of ready)
          ids.push(await createJob(tx, evacuation, item, jobHosts, firstAttempt(item)));
        return ids;
      });
    } catch (error) {
      if (!isRace(error)) throw error;
      for (const { item } of ready) if (await submitItem(deps, evacuation, item, firstAttempt(item))) queued += 1;
      continue;
    }
    const announced: string[] = [];
    for (const [index, id] of created.entries()) {
      const { item } = ready[index] as (typeof ready)[number];
      if (id === null) await failItem(deps.db, item, 'pending', ALREADY_MIGRATING(item.vmName));
      else announced.push(id);
    }
    await announceQueued(deps, evacuation.id, announced);
    queued += announced.length;
  }
  return queued;
}

/** Each new job's first event, then one scheduler pass for them all. */
async function announceQueued(deps: EvacuationDeps, evacuationId: string, migrationIds: string[]) {
  if (migrationIds.length === 0) return;
  for (const migrationId of migrationIds)
    await appendMigrationEvent({ ...deps, migrationId, evacuationId, payload: { type: 'state', state: 'queued' } });
  void kickScheduler(deps);
}

class LostClaim extends Error {}

async function loadOpen(db: Db, id: string) {
  const evacuation = await db.evacuation.findUnique({ where: { id } });
  if (!evacuation) throw new UserError({ code: 'NOT_FOUND', message: 'No such evacuation.' });
  return evacuation;
}

async function transition(
  deps: EvacuationDeps,
  who: AuditContext,
  id: string,
  change: { from: EvacuationState[]; to: EvacuationState; action: string; refusal: (state: string) => string },
) {
  const evacuation = await loadOpen(deps.db, id);
  await deps.db.$transaction(async (tx) => {
    const moved = await tx.evacuation.updateMany({
      where: { id, state: { in: change.from } },
      data: { state: change.to },
    });
    if (moved.count === 0)
      throw new UserError({ code: 'PRECONDITION_FAILED', message: change.refusal(evacuation.state) });
    await recordAudit(tx, {
      ...who,
      action: change.action,
      hostAlias: evacuation.hostAlias,
      details: { evacuationId: id, from: evacuation.state },
    });
  });
  return evacuation;
}

/** Stops submitting new jobs; what is queued or running carries on. */
export async function pauseEvacuation(deps: EvacuationDeps, who: AuditContext, id: string) {
  await transition(deps, who, id, {
    from: ['running'],
    to: 'paused',
    action: 'evacuation.pause',
    refusal: (state) => `The evacuation is ${state}, not running; nothing to pause.`,
  });
  return { id, state: 'paused' as const };
}

export async function resumeEvacuation(deps: EvacuationDeps, who: AuditContext, id: string) {
  await transition(deps, who, id, {
    from: ['paused'],
    to: 'running',
    action: 'evacuation.resume',
    refusal: (state) => `The evacuation is ${state}, not paused.`,
  });
  await advanceEvacuation(deps, id);
  return { id, state: 'running' as const };
}

/**
 * Drops what has not started and cancels every job of the evacuation through the single-migration cancel
 * (queued ones close at once; running ones get domjobabort and end when libvirt confirms). The host stays in
 * maintenance: whoever cancels decides whether to end it.
 */
export async function cancelEvacuation(deps: EvacuationDeps, who: AuditContext, id: string) {
  await transition(deps, who, id, {
    from: ['running', 'paused'],
    to: 'cancelling',
    action: 'evacuation.cancel',
    refusal: (state) => `The evacuation is ${state}; nothing to cancel.`,
  });
  await deps.db.evacuationItem.updateMany({
    where: { evacuationId: id, state: 'pending' },
    data: { state: 'dropped', error: `Dropped: the evacuation was cancelled by ${who.actor}.` },
  });
  const jobs = await deps.db.migration.findMany({
    where: { evacuationId: id, state: { in: [...ACTIVE_STATES] } },
    select: { id: true, state: true },
  });
  for (const job of jobs) {
    if (job.state === 'cancelling') continue;
    try {
      await cancelMigration(deps, who, job.id);
    } catch (error) {
      // It ended between the read and the cancel: advancing settles it as it ended.
      if (!(error instanceof UserError)) throw error;
    }
  }
  await advanceEvacuation(deps, id);
  return { id, state: 'cancelling' as const };
}

/**
 * Ends a host's maintenance. Refused while its evacuation still runs (cancel it first). Returns how many VMs the
 * last evacuation moved away, so the page can offer to bring them back.
 */
export async function endMaintenance(deps: EvacuationDeps, who: AuditContext, hostId: string) {
  const host = await deps.db.host.findUnique({ where: { id: hostId }, select: { alias: true, inMaintenance: true } });
  if (!host) throw new UserError({ code: 'NOT_FOUND', message: 'That host is not registered (any more).' });
  if (!host.inMaintenance)
    throw new UserError({ code: 'PRECONDITION_FAILED', message: `${host.alias} is not in maintenance.` });
  await deps.db.$transaction(async (tx) => {
    const open = await tx.evacuation.findFirst({
      where: { hostId, kind: 'evacuate', state: { in: [...OPEN_STATES] } },
      select: { id: true, state: true },
    });
    if (open)
      throw new UserError({
        code: 'PRECONDITION_FAILED',
        message: `The evacuation of ${host.alias} is ${open.state}; let it finish or cancel it before ending maintenance.`,
      });
    await tx.host.update({ where: { id: hostId }, data: { inMaintenance: false, maintenanceSince: null } });
    await recordAudit(tx, { ...who, action: 'host.maintenance-off', hostAlias: host.alias, details: {} });
  });
  return { hostId, movedAway: await countMovedAway(deps.db, hostId) };
}

/** How many VMs the host's last evacuation moved away (the bring-back offer). */
export async function countMovedAway(db: Db, hostId: string): Promise<number> {
  const last = await db.evacuation.findFirst({
    where: { hostId, kind: 'evacuate' },
    orderBy: { createdAt: 'desc' },
    select: { id: true },
  });
  if (!last) return 0;
  const back = await db.evacuation.findFirst({
    where: { fromEvacuationId: last.id, kind: 'bring-back', state: { not: 'cancelled' } },
    select: { id: true },
  });
  if (back) return 0;
  return db.evacuationItem.count({ where: { evacuationId: last.id, state: 'succeeded' } });
}
