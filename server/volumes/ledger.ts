import type { Db } from '../db';
import { mapLimit } from '../fleet/service';
import { describeHostError } from '../hosts/host-errors';
import { VirshError, type Executor } from '../hypervisor/executor';
import { toDomainUuid } from '../libvirt/domain-ref';
import { parseVolInfoBytes } from '../libvirt/parsers/vol-info';
import { basename } from '../libvirt/storage';
import {
  deleteVolume,
  domainXmlArgs,
  getDomainFacts,
  isNoSuchVolume,
  listDomains,
  prefetched,
} from '../migrations/host-queries';
import { decideRemoval, type VolumeFacts, type VolumeRole } from './story';

/**
 * The volume ledger: every volume a migration creates on a host, or leaves there, is a VolumeRecord row written
 * BEFORE the volume can exist (so a Ferry killed mid-copy still knows what it may have left), then settled when
 * the migration ends: kept as a VM's disk (`in-use`), deleted (`removed`), or left with a reason (`leftover`).
 */

type Call = { executor: Executor; signal?: AbortSignal };

const HOST_TIMEOUT_MS = 15_000;

export type LedgerHost = { id: string; alias: string };

export type PlannedVolume = {
  host: LedgerHost;
  pool: string | null;
  path: string;
  capacityBytes: number | null;
  role: VolumeRole;
};

/**
 * Records volumes a migration is about to create or copy into (status `pending`). A path holds one file: an older
 * open record of the same path on the same host (a kept source copy or a disk that was later replaced outside
 * Ferry, then the VM came back) tells a story that is over, so it is closed as `replaced` in the same
 * transaction, and preflight and the host page name the newest one only.
 */
export async function recordPendingVolumes(db: Db, migrationId: string, volumes: readonly PlannedVolume[]) {
  if (volumes.length === 0) return;
  const now = new Date();
  await db.$transaction([
    ...volumes.map((volume) =>
      db.volumeRecord.updateMany({
        where: { hostId: volume.host.id, path: volume.path, status: { in: ['leftover', 'in-use'] } },
        data: { status: 'removed', removedAt: now, removedHow: 'replaced', removedBy: 'system' },
      }),
    ),
    db.volumeRecord.createMany({
      data: volumes.map((volume) => ({
        hostId: volume.host.id,
        hostAlias: volume.host.alias,
        pool: volume.pool,
        name: basename(volume.path),
        path: volume.path,
        capacityBytes: volume.capacityBytes === null ? null : BigInt(volume.capacityBytes),
        role: volume.role,
        status: 'pending',
        migrationId,
      })),
    }),
  ]);
}

/** Domains whose XML is asked for at once (below the ssh executor's 8 channels, so other commands still get one). */
const DOMAINS_AT_ONCE = 4;

/**
 * Looks at one recorded volume on its host: is the host answering, can the pool be refreshed (so libvirt sees
 * files an aborted copy wrote behind its back), is the volume there, how big, and which defined domain uses it.
 */
export async function inspectVolume(call: Call, volume: { path: string; pool: string | null }): Promise<VolumeFacts> {
  const run = (args: string[]) => call.executor.run(args, { signal: call.signal, timeoutMs: HOST_TIMEOUT_MS });
  let domains;
  try {
    domains = await listDomains(call);
  } catch (error) {
    return { kind: 'unreachable', error: describeHostError(error).error };
  }
  if (volume.pool) {
    try {
      await run(['pool-refresh', '--', volume.pool]);
    } catch (error) {
      const described = describeHostError(error);
      // virsh says "Failed to refresh pool X" first and why on the last line ("… is not active").
      const why =
        described.errorDetail
          ?.trim()
          .split('\n')
          .pop()
          ?.replace(/^error:\s*/, '') ?? described.error;
      if (error instanceof VirshError && error.kind === 'exit')
        return { kind: 'pool-error', pool: volume.pool, error: why };
      return { kind: 'unreachable', error: described.error };
    }
  }
  let capacityBytes: number;
  try {
    capacityBytes = parseVolInfoBytes((await run(['vol-info', '--bytes', '--', volume.path])).stdout).capacityBytes;
  } catch (error) {
    if (isNoSuchVolume(error)) return { kind: 'missing' };
    return { kind: 'unreachable', error: describeHostError(error).error };
  }
  // Every defined domain's disks: asked one after another, a host with 50 VMs held each migration's end for 50
  // round trips; now one batch (one remote virsh over ssh, one pipelined write to a session), a few at once else.
  const asked = await prefetched(
    { ...call, timeoutMs: HOST_TIMEOUT_MS },
    domains.map((domain) => domainXmlArgs(toDomainUuid(domain.uuid))),
  );
  const users = await mapLimit(domains, DOMAINS_AT_ONCE, async (domain) => {
    const facts = await getDomainFacts(asked, toDomainUuid(domain.uuid));
    return facts?.disks.some((disk) => disk.sourcePath === volume.path) ? domain.name : null;
  });
  return { kind: 'present', capacityBytes, usedBy: users.find((name) => name !== null) ?? null };
}

export type RecordRow = Awaited<ReturnType<Db['volumeRecord']['findUniqueOrThrow']>>;

export type Settlement =
  | { outcome: 'removed'; how: 'cleanup' | 'operator' | 'gone' }
  | { outcome: 'kept'; reason: string }
  | { outcome: 'error'; reason: string };

/**
 * Deletes a recorded volume if decideRemoval allows it, and writes what happened to its row. The row is only
 * changed while it still has the status it was read with, so two settlers (a runner and the sweep, two replicas)
 * cannot both act.
 */
export async function removeRecordedVolume(options: {
  db: Db;
  call: Call;
  row: RecordRow;
  how: 'cleanup' | 'operator';
  actor: string;
  /** Status to leave the row in when it cannot be deleted (a pending row becomes a leftover). */
  keepAs: 'leftover';
}): Promise<Settlement> {
  const { db, call, row } = options;
  const facts = await inspectVolume(call, row);
  const decision = decideRemoval(
    {
      path: row.path,
      hostAlias: row.hostAlias,
      capacityBytes: row.capacityBytes === null ? null : Number(row.capacityBytes),
    },
    facts,
  );
  const where = { id: row.id, status: row.status };
  if (decision.action === 'keep') {
    await db.volumeRecord.updateMany({ where, data: { status: options.keepAs, reason: decision.reason } });
    return { outcome: 'kept', reason: decision.reason };
  }
  if (decision.action === 'gone') {
    await db.volumeRecord.updateMany({
      where,
      data: { status: 'removed', removedAt: new Date(), removedHow: 'gone', removedBy: options.actor },
    });
    return { outcome: 'removed', how: 'gone' };
  }
  try {
    await deleteVolume(call, row.path);
  } catch (error) {
    const reason = `deleting it failed: ${describeHostError(error).error}`;
    await db.volumeRecord.updateMany({ where, data: { status: options.keepAs, reason } });
    return { outcome: 'error', reason };
  }
  await db.volumeRecord.updateMany({
    where,
    data: { status: 'removed', removedAt: new Date(), removedHow: options.how, removedBy: options.actor },
  });
  return { outcome: 'removed', how: options.how };
}

export type SettleInput = {
  db: Db;
  migrationId: string;
  outcome: 'succeeded' | 'not-succeeded';
  /** After a success: delete the source copies (the dialog's "Delete source volumes after success"). */
  deleteSource: boolean;
  /** The executor of a recorded host, or null when the host is no longer registered. */
  executorFor: (hostId: string) => Promise<Executor | null>;
  actor: string;
  /** Writes one audit row for a volume Ferry deleted. */
  audit: (entry: { hostAlias: string; details: Record<string, unknown> }) => Promise<void>;
  /** Why a source copy is kept when it is not deleted. */
  keptSourceReason?: string;
};

const KEPT_SOURCE_REASON = 'kept after the migration: "Delete source volumes" was off';

/**
 * Settles every pending volume of one finished migration and returns one note per volume Ferry acted on, for the
 * migration's verification list. After a success the destination copies are the VM's disks and the source
 * copies are kept (recorded as leftovers) or deleted; after anything else the source copies stay the VM's disks
 * and the destination copies are deleted when decideRemoval allows, or recorded as leftovers with the reason.
 */
export async function settleMigrationVolumes(input: SettleInput): Promise<string[]> {
  const { db } = input;
  const rows = await db.volumeRecord.findMany({
    where: { migrationId: input.migrationId, status: 'pending' },
    orderBy: { createdAt: 'asc' },
  });
  const notes: string[] = [];
  for (const row of rows) {
    const where = { id: row.id, status: 'pending' };
    const isSource = row.role === 'source';
    const staysInUse = isSource ? input.outcome !== 'succeeded' : input.outcome === 'succeeded';
    if (staysInUse) {
      await db.volumeRecord.updateMany({ where, data: { status: 'in-use' } });
      continue;
    }
    if (isSource && !input.deleteSource) {
      const reason = input.keptSourceReason ?? KEPT_SOURCE_REASON;
      await db.volumeRecord.updateMany({ where, data: { status: 'leftover', reason } });
      continue;
    }
    const executor = await input.executorFor(row.hostId);
    if (!executor) {
      const reason = `${row.hostAlias} is no longer registered in Ferry`;
      await db.volumeRecord.updateMany({ where, data: { status: 'leftover', reason } });
      notes.push(`could not remove ${row.path} on ${row.hostAlias}: ${reason}`);
      continue;
    }
    const settled = await removeRecordedVolume({
      db,
      call: { executor },
      row,
      how: 'cleanup',
      actor: input.actor,
      keepAs: 'leftover',
    });
    if (settled.outcome === 'removed' && settled.how === 'cleanup') {
      notes.push(
        isSource ? `deleted ${row.path} on ${row.hostAlias}` : `removed leftover ${row.path} on ${row.hostAlias}`,
      );
      await input.audit({
        hostAlias: row.hostAlias,
        details: {
          path: row.path,
          reason: isSource
            ? 'source volume after successful migration'
            : 'leftover of a migration that did not complete',
        },
      });
    } else if (settled.outcome !== 'removed') {
      notes.push(`could not remove ${row.path} on ${row.hostAlias}: ${settled.reason} (listed as a leftover)`);
    }
  }
  return notes;
}
