import type { Db } from '../db';
import { recordAudit, type AuditContext } from '../audit/record';
import { UserError } from '../errors';
import type { ExecutorSource } from '../hypervisor/executor';
import { isFinalState } from '../migrations/types';
import { removeRecordedVolume, settleMigrationVolumes } from './ledger';
import { ago, describeRecordedVolume, migrationRef, type StoryMigration, type VolumeRole } from './story';

export type VolumeDeps = { db: Db; executors: ExecutorSource };

const MIGRATION_STORY_SELECT = {
  id: true,
  state: true,
  errorCode: true,
  vmName: true,
  sourceAlias: true,
  destinationAlias: true,
  endedAt: true,
} as const;

async function migrationsById(db: Db, ids: readonly (string | null)[]): Promise<Map<string, StoryMigration>> {
  const wanted = [...new Set(ids.filter((id): id is string => id !== null))];
  if (wanted.length === 0) return new Map();
  const rows = await db.migration.findMany({ where: { id: { in: wanted } }, select: MIGRATION_STORY_SELECT });
  return new Map(rows.map((row) => [row.id, row]));
}

/**
 * Settles the pending volumes of migrations that ended without their runner settling them: a Ferry killed
 * mid-copy (the reconciler closed the job as interrupted), a runner that crashed, a job another process ended.
 * Runs on the reconcile tick; a job still active is left to its runner.
 */
export async function settleFinishedJobVolumes(deps: VolumeDeps): Promise<number> {
  const pending = await deps.db.volumeRecord.findMany({
    where: { status: 'pending' },
    select: { migrationId: true },
    distinct: ['migrationId'],
  });
  const migrations = await migrationsById(
    deps.db,
    pending.map((row) => row.migrationId),
  );
  let settled = 0;
  for (const { migrationId } of pending) {
    const migration = migrationId ? migrations.get(migrationId) : undefined;
    if (migration && !isFinalState(migration.state)) continue;
    await settleMigrationVolumes({
      db: deps.db,
      migrationId: migrationId as string,
      outcome: migration?.state === 'succeeded' ? 'succeeded' : 'not-succeeded',
      // Nobody watched the end: the source copies are kept and named, never deleted on a guess.
      deleteSource: false,
      keptSourceReason: 'kept: the migration ended while Ferry was not watching it',
      executorFor: async (hostId) => {
        const host = await deps.db.host.findUnique({ where: { id: hostId } });
        return host ? deps.executors.get(host) : null;
      },
      actor: 'system',
      audit: (entry) =>
        deps.db
          .$transaction((tx) =>
            recordAudit(tx, {
              actor: 'system',
              action: 'volume.delete',
              migrationId,
              vmName: migration?.vmName ?? null,
              ...entry,
            }),
          )
          .then(() => undefined),
    });
    settled++;
  }
  return settled;
}

export type LeftoverView = {
  id: string;
  hostAlias: string;
  name: string;
  path: string;
  pool: string | null;
  capacityBytes: number | null;
  role: VolumeRole;
  reason: string | null;
  createdAt: Date;
  /** "12 min ago", from the server's clock. */
  age: string;
  /** The one sentence preflight shows, e.g. "vm1.qcow2 on hv2 is the copy left by migration #k3x9a2 (cancelled …)". */
  story: string;
  migration: { id: string; ref: string; vmName: string; state: string } | null;
};

async function toViews(db: Db, rows: Awaited<ReturnType<Db['volumeRecord']['findMany']>>, now: Date) {
  const migrations = await migrationsById(
    db,
    rows.map((row) => row.migrationId),
  );
  return rows.map((row): LeftoverView => {
    const migration = row.migrationId ? (migrations.get(row.migrationId) ?? null) : null;
    const role = row.role as VolumeRole;
    return {
      id: row.id,
      hostAlias: row.hostAlias,
      name: row.name,
      path: row.path,
      pool: row.pool,
      capacityBytes: row.capacityBytes === null ? null : Number(row.capacityBytes),
      role,
      reason: row.reason,
      createdAt: row.createdAt,
      age: ago(row.createdAt, now),
      story: describeRecordedVolume(
        { name: row.name, hostAlias: row.hostAlias, role, createdAt: row.createdAt, migration },
        now,
      ),
      migration: migration
        ? { id: migration.id, ref: migrationRef(migration.id), vmName: migration.vmName, state: migration.state }
        : null,
    };
  });
}

/** The leftover volumes Ferry recorded on one host, newest first (the host page's section). */
export async function listLeftovers(db: Db, hostId: string, now = new Date()): Promise<LeftoverView[]> {
  const rows = await db.volumeRecord.findMany({
    where: { hostId, status: 'leftover' },
    orderBy: { createdAt: 'desc' },
    take: 500,
  });
  return toViews(db, rows, now);
}

/** Recorded leftovers at these paths on one host: how preflight tells Ferry's own volumes from anyone else's. */
export async function findLeftoversAt(
  db: Db,
  options: { hostId: string; paths: readonly string[]; now?: Date },
): Promise<Map<string, LeftoverView>> {
  if (options.paths.length === 0) return new Map();
  const rows = await db.volumeRecord.findMany({
    where: { hostId: options.hostId, status: 'leftover', path: { in: [...options.paths] } },
    orderBy: { createdAt: 'desc' },
  });
  const views = await toViews(db, rows, options.now ?? new Date());
  const byPath = new Map<string, LeftoverView>();
  for (const view of views) if (!byPath.has(view.path)) byPath.set(view.path, view);
  return byPath;
}

/**
 * Closes recorded leftovers that the host just said are not there any more (deleted outside Ferry), so the host
 * page stops listing them. Preflight calls it with the destination paths it found absent after a pool refresh.
 */
export async function closeVanishedLeftovers(db: Db, options: { hostId: string; paths: readonly string[] }) {
  if (options.paths.length === 0) return;
  const where = { hostId: options.hostId, status: 'leftover', path: { in: [...options.paths] } };
  // Nearly always there is none: a read then, not a write (Prisma runs updateMany in a transaction, which waits for
  // any other transaction of this process; a preflight should not).
  if ((await db.volumeRecord.findFirst({ where, select: { id: true } })) === null) return;
  await db.volumeRecord.updateMany({ where, data: { status: 'removed', removedAt: new Date(), removedHow: 'gone' } });
}

/**
 * An operator's one-click remove of a recorded leftover. Ferry looks at the host first and deletes only when the
 * volume is still the one it recorded (same path, same capacity) and no defined domain uses it; otherwise it
 * refuses with the reason and the volume stays listed. Every attempt is audited.
 */
export async function removeLeftover(
  deps: VolumeDeps,
  who: AuditContext,
  id: string,
): Promise<{ id: string; path: string; hostAlias: string; result: 'deleted' | 'already-gone' }> {
  const row = await deps.db.volumeRecord.findUnique({ where: { id } });
  if (!row) throw new UserError({ code: 'NOT_FOUND', message: 'No such recorded volume.' });
  if (row.status !== 'leftover')
    throw new UserError({
      code: 'PRECONDITION_FAILED',
      message: `${row.name} on ${row.hostAlias} is not a leftover (it is ${row.status}).`,
    });
  const host = await deps.db.host.findUnique({ where: { id: row.hostId } });
  if (!host)
    throw new UserError({ code: 'PRECONDITION_FAILED', message: `${row.hostAlias} is no longer registered in Ferry.` });
  const settled = await removeRecordedVolume({
    db: deps.db,
    call: { executor: deps.executors.get(host) },
    row,
    how: 'operator',
    actor: who.actor,
    keepAs: 'leftover',
  });
  const migration = row.migrationId
    ? await deps.db.migration.findUnique({ where: { id: row.migrationId }, select: { vmName: true } })
    : null;
  const audit = (result: 'ok' | 'refused' | 'failed', details: Record<string, unknown>) =>
    deps.db.$transaction((tx) =>
      recordAudit(tx, {
        ...who,
        action: 'volume.delete',
        result,
        hostAlias: row.hostAlias,
        vmName: migration?.vmName ?? null,
        migrationId: row.migrationId,
        details: { path: row.path, role: row.role, reason: 'leftover removed by an operator', ...details },
      }),
    );
  if (settled.outcome === 'removed') {
    await audit('ok', { how: settled.how });
    return {
      id,
      path: row.path,
      hostAlias: row.hostAlias,
      result: settled.how === 'gone' ? 'already-gone' : 'deleted',
    };
  }
  await audit(settled.outcome === 'kept' ? 'refused' : 'failed', { refusal: settled.reason });
  throw new UserError({
    code: 'PRECONDITION_FAILED',
    message: `Ferry did not delete ${row.name} on ${row.hostAlias}: ${settled.reason}.`,
  });
}
