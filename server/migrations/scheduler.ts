import { Prisma } from '@prisma/client';
import type { Db } from '../db';
import { toDomainUuid } from '../libvirt/domain-ref';
import { buildSetSpeedArgv, UNLIMITED_MIGRATION_SPEED_MIBPS } from '../libvirt/migration/argv';
import { splitBandwidth } from './bandwidth-share';
import { appendMigrationEvent } from './events';
import { HOST_LIMITS_SELECT, readFleetLimit } from './limits';
import { PROCESS_OWNER_ID } from './owner';
import { describeWaitReason, planQueue, type QueuePlan, type QueuedJob } from './queue-plan';
import { runMigration, type RunnerDeps } from './runner';
import { migrationChannel, SLOT_STATES } from './types';
import { logJobError } from '../observability/logger';

/**
 * The queue's one moving part: starts queued migrations when their hosts have free slots (queue-plan.ts
 * decides which), and shares each host's bandwidth cap among what runs. It runs when a job is started, when
 * one ends, on server start and on the reconcile tick; every pass reads the database afresh, so a pass that
 * ran for nothing costs a few queries and a lost wake-up is repaired by the next tick.
 *
 * Starting is a claim: one conditional UPDATE that moves the row from queued to preflight only if it is still
 * queued AND its hosts and the fleet still have a free slot, counted in the same statement. SQLite runs a
 * statement that writes under the database's write lock from its first read, so two schedulers (two requests,
 * or two Ferry processes on one file) can never both claim a job, nor together overfill a host.
 */

const QUEUED = 'queued';

/**
 * The jobs that hold their hosts' slots (and share their bandwidth): claimed and not yet past the copy. A job whose
 * virsh migrate has ended with success only reads both hosts to verify the result: that takes no bandwidth and
 * must not keep the next queued job waiting.
 */
const SLOT_HOLDERS = { state: { in: [...SLOT_STATES] }, transferEndedAt: null } satisfies Prisma.MigrationWhereInput;

/** What a job's bandwidth share is computed from and stored on (applyBandwidthShares). */
const SHARE_ROW_SELECT = {
  id: true,
  state: true,
  vmUuid: true,
  options: true,
  sourceHostId: true,
  destinationHostId: true,
  bandwidthShareMiBps: true,
} satisfies Prisma.MigrationSelect;

type ShareRow = Prisma.MigrationGetPayload<{ select: typeof SHARE_ROW_SELECT }>;

export type QueueState = {
  /** With their share fields: a job claimed in a pass takes a share in the same pass. */
  queued: (QueuedJob & ShareRow)[];
  /** The slot holders, with their share fields. */
  holders: ShareRow[];
  hosts: { id: string; alias: string; maxOutgoing: number; maxIncoming: number; bandwidthCapMiBps: number | null }[];
  fleetLimit: number;
};

/** The queue, the slot holders, the hosts and the fleet limit: everything one scheduling pass decides over. */
export async function readQueueState(db: Db): Promise<QueueState> {
  const [queued, holders, hosts, fleetLimit] = await Promise.all([
    db.migration.findMany({ where: { state: QUEUED }, select: { ...SHARE_ROW_SELECT, createdAt: true } }),
    db.migration.findMany({ where: SLOT_HOLDERS, select: SHARE_ROW_SELECT }),
    db.host.findMany({ select: HOST_LIMITS_SELECT }),
    readFleetLimit(db),
  ]);
  return {
    queued,
    holders,
    hosts: hosts.map((h) => ({
      id: h.id,
      alias: h.alias,
      maxOutgoing: h.maxOutgoingMigrations,
      maxIncoming: h.maxIncomingMigrations,
      bandwidthCapMiBps: h.bandwidthCapMiBps,
    })),
    fleetLimit,
  };
}

/** Queue position and reason of every queued job, for the pages (a job about to be claimed has position 0). */
export async function describeQueue(db: Db): Promise<Map<string, { position: number; waitingFor: string }>> {
  const plan = planQueue(await readQueueState(db));
  const result = new Map<string, { position: number; waitingFor: string }>();
  for (const id of plan.start) result.set(id, { position: 0, waitingFor: 'starting' });
  for (const job of plan.waiting)
    result.set(job.id, { position: job.position, waitingFor: describeWaitReason(job.reason) });
  return result;
}

/** The plan for the queue as it is now plus one more job at its end: would that job wait? */
export function wouldWait(state: QueueState, job: Omit<QueuedJob, 'id' | 'createdAt'>): boolean {
  const probe: QueuedJob = { ...job, id: '\uffff-probe', createdAt: new Date(8.64e15) };
  const plan: QueuePlan = planQueue({ ...state, queued: [...state.queued, probe] });
  return !plan.start.includes(probe.id);
}

/**
 * Moves one queued job to preflight for this process, if it is still queued and its hosts and the fleet have a
 * free slot at this instant. Returns whether this caller won it.
 *
 * On PostgreSQL (several replicas), READ COMMITTED lets two such UPDATEs on different rows count the same
 * slots; there the same statement runs after `SELECT … FROM "Host" WHERE id IN (source, destination) FOR UPDATE`
 * in one transaction (and a row lock on the fleet-limit Setting), which serialises claims per host.
 */
export async function claimQueuedJob(
  db: Db,
  job: { id: string; sourceHostId: string | null; destinationHostId: string | null },
  options: { fleetLimit: number; ownerId?: string; now?: Date },
): Promise<boolean> {
  // SLOT_HOLDERS as SQL: claimed, and still copying.
  const holding = Prisma.sql`"state" IN (${Prisma.join(SLOT_STATES.map((state) => Prisma.sql`${state}`))})
    AND "transferEndedAt" IS NULL`;
  const now = options.now ?? new Date();
  const hostFree = (
    column: 'sourceHostId' | 'destinationHostId',
    limit: 'maxOutgoingMigrations' | 'maxIncomingMigrations',
    hostId: string | null,
  ) =>
    hostId === null
      ? Prisma.sql`1 = 1`
      : Prisma.sql`(SELECT COUNT(*) FROM "Migration" WHERE ${holding} AND ${Prisma.raw(`"${column}"`)} = ${hostId})
          < (SELECT ${Prisma.raw(`"${limit}"`)} FROM "Host" WHERE "id" = ${hostId})`;
  const changed = await db.$executeRaw`
    UPDATE "Migration" SET "state" = 'preflight', "ownerId" = ${options.ownerId ?? PROCESS_OWNER_ID}, "heartbeatAt" = ${now}
    WHERE "id" = ${job.id} AND "state" = ${QUEUED}
      AND (SELECT COUNT(*) FROM "Migration" WHERE ${holding}) < ${options.fleetLimit}
      AND ${hostFree('sourceHostId', 'maxOutgoingMigrations', job.sourceHostId)}
      AND ${hostFree('destinationHostId', 'maxIncomingMigrations', job.destinationHostId)}`;
  return changed === 1;
}

type Pass = { running: Promise<void> | null; again: boolean };
const passes = new WeakMap<Db, Pass>();

/**
 * Runs a scheduling pass now, or once more after the one in progress (a wake-up during a pass is never lost).
 * Resolves when the queue has been looked at since this call.
 */
export function kickScheduler(deps: RunnerDeps): Promise<void> {
  let pass = passes.get(deps.db);
  if (!pass) {
    pass = { running: null, again: false };
    passes.set(deps.db, pass);
  }
  const state = pass;
  if (state.running) {
    state.again = true;
    return state.running;
  }
  const loop = async () => {
    try {
      do {
        state.again = false;
        await schedulePass(deps);
      } while (state.again);
    } finally {
      state.running = null;
    }
  };
  state.running = loop().catch((error: unknown) => logJobError({ what: 'scheduler pass failed', error }));
  return state.running;
}

async function schedulePass(deps: RunnerDeps): Promise<void> {
  const state = await readQueueState(deps.db);
  const plan = planQueue(state);
  const claimed: string[] = [];
  const byId = new Map(state.queued.map((job) => [job.id, job]));
  for (const id of plan.start) {
    const job = byId.get(id);
    if (job && (await claimQueuedJob(deps.db, job, { fleetLimit: state.fleetLimit }))) claimed.push(id);
  }
  // Shares first, so a job starts with its --bandwidth already known (job/load.ts applies the row's share). They are
  // computed from this pass's read: the holders it saw and the jobs it has just claimed (now in preflight).
  const claimedRows = state.queued
    .filter((job) => claimed.includes(job.id))
    .map((job) => ({ ...job, state: 'preflight' }));
  await applyBandwidthShares(deps, shareInputs(state, claimedRows));
  for (const id of claimed) {
    const stopWatching = reapplyShareOnceCopying(deps, id);
    // A job frees its slots when its data has moved, not when it has verified the result (job/verify.ts).
    void runMigration({ ...deps, onSlotFreed: () => void kickScheduler(deps) }, id)
      .catch((error: unknown) => logJobError({ migrationId: id, what: 'runner crashed', error }))
      .finally(() => {
        stopWatching();
        applied.delete(id);
        void kickScheduler(deps);
      });
  }
}

/**
 * A job reads its share when it loads, then spends a moment in preflight. If another job ended meanwhile, its
 * share grew while it could not be told (migrate-setspeed needs a migration to exist, and a later --bandwidth
 * would overwrite it): once the copy runs (its first progress event), the current share is applied if it moved.
 */
function reapplyShareOnceCopying(deps: RunnerDeps, id: string): () => void {
  let startShare: number | null | undefined;
  void deps.db.migration
    .findUnique({ where: { id }, select: { bandwidthShareMiBps: true } })
    .then((row) => (startShare = row?.bandwidthShareMiBps ?? null))
    .catch(() => undefined);
  const unsubscribe = deps.bus.subscribe(migrationChannel(id), (event) => {
    if (event.type !== 'progress' && event.type !== 'jobinfo') return;
    unsubscribe();
    void (async () => {
      const row = await deps.db.migration.findUnique({ where: { id }, select: SHARE_ROW_SELECT });
      const known = applied.has(id) ? applied.get(id) : startShare;
      if (!row || row.state !== 'running' || row.bandwidthShareMiBps === known) return;
      await setSpeed(deps, row, row.bandwidthShareMiBps, parseOptions(row.options).bandwidthMiBps ?? null);
    })().catch((error: unknown) => logJobError({ migrationId: id, what: 'bandwidth share not applied', error }));
  });
  return unsubscribe;
}

/**
 * Recomputes every running job's share of its hosts' bandwidth caps; stores each changed share and, for a
 * job that is copying, applies it with `virsh migrate-setspeed` on the source. Called after every pass, i.e.
 * whenever a job starts or ends.
 */
export async function applyBandwidthShares(
  deps: RunnerDeps,
  /** The slot holders and each host's cap, when the caller has just read them (a scheduling pass). */
  known?: { rows: ShareRow[]; capsMiBps: Map<string, number | null> },
): Promise<void> {
  const { rows, capsMiBps } = known ?? shareInputs(await readQueueState(deps.db));
  const live = rows.flatMap((row) => {
    const options = parseOptions(row.options);
    // An offline migration sends no data: it takes no share and gets no --bandwidth (libvirt would refuse it).
    return options.mode === 'offline' ? [] : [{ row, requestedMiBps: options.bandwidthMiBps ?? null }];
  });
  const shares = splitBandwidth({
    jobs: live.map(({ row, requestedMiBps }) => ({
      id: row.id,
      sourceHostId: row.sourceHostId,
      destinationHostId: row.destinationHostId,
      requestedMiBps,
    })),
    capsMiBps,
  });
  for (const { row, requestedMiBps } of live) {
    const share = shares.get(row.id) ?? null;
    // Only a cap makes a share; a job's own limit alone is already on its command line.
    const capped = share !== null && share !== requestedMiBps ? share : null;
    if (capped === row.bandwidthShareMiBps) continue;
    await deps.db.migration.update({ where: { id: row.id }, data: { bandwidthShareMiBps: capped } });
    if (row.state === 'running') await setSpeed(deps, row, capped, requestedMiBps);
  }
}

/** The rows that share bandwidth (the slot holders, and jobs just claimed) and each host's cap, from one read. */
function shareInputs(
  state: QueueState,
  claimed: ShareRow[] = [],
): { rows: ShareRow[]; capsMiBps: Map<string, number | null> } {
  return {
    rows: [...state.holders, ...claimed],
    capsMiBps: new Map(state.hosts.map((host) => [host.id, host.bandwidthCapMiBps])),
  };
}

/** The share last given to libvirt per job in this process, so the once-copying check does not repeat it. */
const applied = new Map<string, number | null>();

/** `virsh migrate-setspeed` on the source for a job that is copying, with a line in its log. */
async function setSpeed(deps: RunnerDeps, row: ShareRow, capped: number | null, requestedMiBps: number | null) {
  const { vmUuid, sourceHostId } = row;
  if (!vmUuid || !sourceHostId) return;
  applied.set(row.id, capped);
  const speed = capped ?? requestedMiBps ?? UNLIMITED_MIGRATION_SPEED_MIBPS;
  try {
    // Read only here: a pass that changes no running job's share needs no host row.
    const sourceHost = await deps.db.host.findUniqueOrThrow({ where: { id: sourceHostId } });
    await deps.executors.get(sourceHost).run(buildSetSpeedArgv(toDomainUuid(vmUuid), speed), { timeoutMs: 10_000 });
    await appendMigrationEvent({
      db: deps.db,
      bus: deps.bus,
      migrationId: row.id,
      payload: {
        type: 'log',
        stream: 'ferry',
        text:
          capped === null
            ? `Bandwidth cap lifted: ${requestedMiBps === null ? 'no limit' : `${requestedMiBps} MiB/s as requested`}.\n`
            : `Bandwidth share now ${capped} MiB/s (the hosts' caps are shared by their running migrations).\n`,
      },
    });
  } catch (error) {
    // The job may have ended in the meantime; its next share is applied on the next pass.
    logJobError({ migrationId: row.id, what: 'migrate-setspeed failed', error });
  }
}

function parseOptions(text: string): { mode?: string; bandwidthMiBps?: number } {
  try {
    return JSON.parse(text) as { mode?: string; bandwidthMiBps?: number };
  } catch {
    return {};
  }
}
