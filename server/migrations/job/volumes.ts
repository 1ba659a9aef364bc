import type { JobContext } from '../job-context';
import { basename } from '../../libvirt/storage';
import { createVolume } from '../host-queries';
import type { PreflightDisk } from '../preflight';
import { recordPendingVolumes, settleMigrationVolumes, type PlannedVolume } from '../../volumes/ledger';
import type { LoadedJob } from './load';

/**
 * Phase 3, volumes: records in the ledger every volume this migration may leave on a host (the destination
 * copies it will create or libvirt will create for it, and the source copies), before any of them can exist,
 * so even a Ferry killed mid-copy knows what to clean up. Then, opt-in, pre-creates an empty volume of the right
 * size and format on the destination for each copied disk it lacks. Returns the paths it created.
 */
export async function prepareVolumes(ctx: JobContext, job: LoadedJob, disks: readonly PreflightDisk[]) {
  const planned: PlannedVolume[] = [];
  for (const disk of disks) {
    planned.push({ host: job.source, pool: null, path: disk.path, capacityBytes: disk.capacityBytes, role: 'source' });
    if (disk.existsOnDestination) continue;
    const role =
      job.options.precreateVolumes && disk.pool && disk.capacityBytes !== null ? 'precreated' : 'copy-target';
    planned.push({ host: job.destination, pool: disk.pool, path: disk.path, capacityBytes: disk.capacityBytes, role });
  }
  await recordPendingVolumes(ctx.db, ctx.migrationId, planned);

  const created: string[] = [];
  for (const volume of planned) {
    if (volume.role !== 'precreated' || !volume.pool || volume.capacityBytes === null) continue;
    const disk = disks.find((candidate) => candidate.path === volume.path);
    const name = basename(volume.path);
    await createVolume(
      { executor: job.dst },
      { pool: volume.pool, name, capacityBytes: volume.capacityBytes, format: disk?.format ?? null },
    );
    created.push(volume.path);
    await ctx.audit({
      action: 'volume.create',
      hostAlias: job.destination.alias,
      vmName: job.vm.name,
      details: { path: volume.path, pool: volume.pool, capacityBytes: volume.capacityBytes, format: disk?.format },
    });
    await ctx.emit({
      type: 'log',
      stream: 'ferry',
      text: `Created ${volume.path} (${volume.capacityBytes} bytes) in pool ${volume.pool} on ${job.destination.alias}.\n`,
    });
  }
  return created;
}

/**
 * Settles this migration's recorded volumes once the run is over: after a success the destination copies are the
 * VM's disks and the source copies are deleted (opt-in) or kept as leftovers; after a failure or a cancel the
 * destination copies are deleted unless a domain there uses them. One note per volume acted on.
 */
export async function settleVolumes(ctx: JobContext, job: LoadedJob, outcome: 'succeeded' | 'not-succeeded') {
  return settleMigrationVolumes({
    db: ctx.db,
    migrationId: ctx.migrationId,
    outcome,
    deleteSource: job.options.deleteSourceVolumes && job.options.storage !== 'shared',
    executorFor: async (hostId) =>
      hostId === job.source.id ? job.src : hostId === job.destination.id ? job.dst : null,
    actor: job.actor,
    audit: (entry) => ctx.audit({ action: 'volume.delete', vmName: job.vm.name, ...entry }),
  });
}

/**
 * After an ending the hosts established (a re-attached job, or one whose virsh client was lost), the volumes are
 * settled as the runner settles them, with the job's own options. An unknown ending leaves them to the sweep,
 * which keeps and names the source copies and deletes no disk a domain uses.
 */
export async function settleVolumesAfter(
  ctx: JobContext,
  job: LoadedJob,
  state: 'succeeded' | 'failed' | 'cancelled' | 'unknown',
): Promise<string[]> {
  if (state === 'unknown') return [];
  return settleVolumes(ctx, job, state === 'succeeded' ? 'succeeded' : 'not-succeeded');
}
