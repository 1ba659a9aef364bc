import { describeHostError } from '../../hosts/host-errors';
import type { JobContext } from '../job-context';
import { createVolume, deleteVolume, volumeExists } from '../host-queries';
import type { PreflightDisk } from '../preflight';
import type { LoadedJob } from './load';

/**
 * Phase 3, pre-create volumes (opt-in): an empty volume of the right size and format on the destination for
 * each copied disk it lacks. Returns the paths it created, so clean-up after a failure removes exactly those.
 */
export async function precreateVolumes(ctx: JobContext, job: LoadedJob, disks: readonly PreflightDisk[]) {
  const created: string[] = [];
  for (const disk of disks) {
    if (disk.existsOnDestination || !disk.pool || disk.capacityBytes === null) continue;
    const name = disk.path.slice(disk.path.lastIndexOf('/') + 1);
    await createVolume(
      { executor: job.dst },
      { pool: disk.pool, name, capacityBytes: disk.capacityBytes, format: disk.format },
    );
    created.push(disk.path);
    await ctx.audit({
      action: 'volume.create',
      hostAlias: job.destination.alias,
      vmName: job.vm.name,
      details: { path: disk.path, pool: disk.pool, capacityBytes: disk.capacityBytes, format: disk.format },
    });
    await ctx.emit({
      type: 'log',
      stream: 'ferry',
      text: `Created ${disk.path} (${disk.capacityBytes} bytes) in pool ${disk.pool} on ${job.destination.alias}.\n`,
    });
  }
  return created;
}

/**
 * Clean-up after a verified success (opt-in): delete the copied disks on the source. Returns one note per disk
 * for the verification list; a disk that cannot be deleted is reported, not fatal (the VM already moved).
 */
export async function deleteSourceVolumes(ctx: JobContext, job: LoadedJob, disks: readonly PreflightDisk[]) {
  const notes: string[] = [];
  for (const disk of disks) {
    try {
      await deleteVolume({ executor: job.src }, disk.path);
      notes.push(`deleted ${disk.path} on ${job.source.alias}`);
      await ctx.audit({
        action: 'volume.delete',
        hostAlias: job.source.alias,
        vmName: job.vm.name,
        details: { path: disk.path, reason: 'source volume after successful migration' },
      });
    } catch (error) {
      notes.push(`could not delete ${disk.path} on ${job.source.alias}: ${describeHostError(error).error}`);
    }
  }
  return notes;
}

/**
 * Clean-up after a failure, when the VM is not defined on the destination: disks that did not exist there before
 * this migration and exist now are leftovers of the aborted copy (or volumes Ferry pre-created): delete them.
 */
export async function removeLeftovers(
  ctx: JobContext,
  job: LoadedJob,
  options: { disks: readonly PreflightDisk[]; created: readonly string[] },
): Promise<string[]> {
  const notes: string[] = [];
  const dst = { executor: job.dst };
  for (const disk of options.disks) {
    if (disk.existsOnDestination && !options.created.includes(disk.path)) continue;
    try {
      if (disk.pool) await job.dst.run(['pool-refresh', '--', disk.pool], { timeoutMs: 10_000 }).catch(() => undefined);
      if (!(await volumeExists(dst, disk.path))) continue;
      await deleteVolume(dst, disk.path);
      notes.push(`removed leftover ${disk.path} on ${job.destination.alias}`);
      await ctx.audit({
        action: 'volume.delete',
        hostAlias: job.destination.alias,
        vmName: job.vm.name,
        details: { path: disk.path, reason: 'leftover of a migration that did not complete' },
      });
    } catch (error) {
      notes.push(`could not remove ${disk.path} on ${job.destination.alias}: ${describeHostError(error).error}`);
    }
  }
  return notes;
}
