import type { Host } from '@prisma/client';
import type { Db } from '../../db';
import type { ExecutorSource } from '../../hypervisor/executor';
import type { Executor } from '../../hypervisor/executor';
import { migrationOptionsSchema, type MigrationOptions } from '../../libvirt/migration/options';
import type { Ending } from '../final-state';

/** One migration as the phases see it: the stored row, its options checked, both hosts and their executors. */
export type LoadedJob = {
  id: string;
  actor: string;
  /** The VM as the request named it; the service filled the UUID from the source's inventory. */
  vm: { name: string; uuid: string | null };
  options: MigrationOptions;
  source: Host;
  destination: Host;
  src: Executor;
  dst: Executor;
};

export type LoadResult = { ok: true; job: LoadedJob } | { ok: false; ending: Ending };

/**
 * Phase 1, load: reads the row and parses its stored options once. They were checked when the migration was
 * started; they are parsed again here because the row may have been written by another Ferry version (after a
 * restart or by another replica), and options today's rules refuse must fail the job, not reach virsh.
 */
export async function loadJob(deps: { db: Db; executors: ExecutorSource }, migrationId: string): Promise<LoadResult> {
  const row = await deps.db.migration.findUniqueOrThrow({
    where: { id: migrationId },
    include: { sourceHost: true, destinationHost: true },
  });
  if (!row.sourceHost || !row.destinationHost) return { ok: false, ending: HOST_REMOVED };
  const options = migrationOptionsSchema.safeParse(JSON.parse(row.options));
  if (!options.success) {
    return {
      ok: false,
      ending: refused('stored-options', options.error.issues.map((issue) => issue.message).join(' ')),
    };
  }
  // The scheduler's share of the hosts' bandwidth caps (scheduler.ts), never more than the job asked for.
  const share = row.bandwidthShareMiBps;
  const withShare =
    share !== null && options.data.mode === 'live' && share < (options.data.bandwidthMiBps ?? Infinity)
      ? { ...options.data, bandwidthMiBps: share }
      : options.data;
  return {
    ok: true,
    job: {
      id: row.id,
      actor: row.actor,
      vm: { name: row.vmName, uuid: row.vmUuid },
      options: withShare,
      source: row.sourceHost,
      destination: row.destinationHost,
      src: deps.executors.get(row.sourceHost),
      dst: deps.executors.get(row.destinationHost),
    },
  };
}

const HOST_REMOVED: Ending = {
  summary: {
    state: 'failed',
    errorCode: 'host-removed',
    errorTitle: 'Host removed',
    message: 'The source or destination host was removed from Ferry.',
    nextStep: 'Register the host again and retry.',
    verification: [],
  },
};

function refused(errorCode: string, message: string): Ending {
  return {
    summary: {
      state: 'failed',
      errorCode,
      errorTitle: 'The stored options are no longer accepted',
      message,
      nextStep: 'Start the migration again with options the dialog accepts.',
      verification: [],
    },
  };
}
