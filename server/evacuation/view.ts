import type { Db } from '../db';
import { UserError } from '../errors';
import { describeQueue } from '../migrations/scheduler';
import { isFinalState, SLOT_STATES } from '../migrations/types';
import { isMovingItem, overallPercent } from './overall-percent';
import { countMovedAway } from './run';

/**
 * What the evacuation page shows: every VM's row with its current job's state and percent, its earlier attempts,
 * and the overall progress. Only aliases, names, states and sentences leave the server (no URIs).
 */
export async function getEvacuationView(db: Db, id: string) {
  const evacuation = await db.evacuation.findUnique({
    where: { id },
    include: { items: { orderBy: { position: 'asc' } } },
  });
  if (!evacuation) throw new UserError({ code: 'NOT_FOUND', message: 'No such evacuation.' });
  const jobs = await db.migration.findMany({
    where: { evacuationId: id },
    orderBy: { createdAt: 'asc' },
    select: {
      id: true,
      vmUuid: true,
      destinationAlias: true,
      state: true,
      percent: true,
      errorCode: true,
      errorMessage: true,
    },
  });
  const queue = jobs.some((job) => job.state === 'queued') ? await describeQueue(db) : new Map();
  const items = evacuation.items.map((item) => {
    const attempts = jobs.filter((job) => job.vmUuid === item.vmUuid);
    const current = attempts.find((job) => job.id === item.migrationId) ?? null;
    return {
      id: item.id,
      vmName: item.vmName,
      vmUuid: item.vmUuid,
      sourceAlias: item.sourceAlias,
      destinationAlias: item.destinationAlias,
      storage: item.storage,
      state: item.state,
      reasons: JSON.parse(item.reasons) as string[],
      error: item.error,
      attempts: attempts.map((job) => ({ id: job.id, destinationAlias: job.destinationAlias, state: job.state })),
      job: current
        ? {
            id: current.id,
            state: current.state,
            percent: isFinalState(current.state) && current.state === 'succeeded' ? 100 : current.percent,
            waitingFor: queue.get(current.id)?.waitingFor ?? null,
          }
        : null,
    };
  });
  const moving = items.filter(isMovingItem);
  const percent = overallPercent(items, (item) => item.job?.percent ?? null);
  const count = (state: string) => items.filter((item) => item.state === state).length;
  return {
    id: evacuation.id,
    kind: evacuation.kind,
    hostId: evacuation.hostId,
    hostAlias: evacuation.hostAlias,
    state: evacuation.state,
    actor: evacuation.actor,
    createdAt: evacuation.createdAt,
    endedAt: evacuation.endedAt,
    percent,
    counts: {
      total: items.length,
      moving: moving.length,
      succeeded: count('succeeded'),
      failed: count('failed'),
      running: items.filter((item) => item.job && (SLOT_STATES as readonly string[]).includes(item.job.state)).length,
      queued: items.filter((item) => item.job?.state === 'queued').length,
      pending: count('pending'),
    },
    items,
  };
}

/** The host page's evacuation box: its maintenance, its latest evacuations, and the bring-back offer. */
export async function getHostEvacuationSummary(db: Db, hostId: string) {
  const [host, recent, movedAway] = await Promise.all([
    db.host.findUnique({ where: { id: hostId }, select: { inMaintenance: true, maintenanceSince: true } }),
    db.evacuation.findMany({
      where: { hostId },
      orderBy: { createdAt: 'desc' },
      take: 5,
      select: { id: true, kind: true, state: true, createdAt: true, actor: true },
    }),
    countMovedAway(db, hostId),
  ]);
  if (!host) throw new UserError({ code: 'NOT_FOUND', message: 'That host is not registered (any more).' });
  return { ...host, recent, movedAway };
}
