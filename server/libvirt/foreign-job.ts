import type { DomainState } from './migration/reattach';
import type { DomJobInfo } from './migration/jobinfo';

/**
 * Whether libvirt holds a VM in a job that Ferry did not start: a migration, save, dump, snapshot or backup run
 * with plain virsh or another tool. PURE.
 *
 * Ferry knows its own jobs from its database; a job started elsewhere is seen only on the host. Asking such a VM
 * for anything that needs its job lock is worse than useless: libvirt makes the call wait for the lock, 30 s on
 * qemu, then fails with "cannot acquire state change lock", and meanwhile the host's shared virsh session is held,
 * so its cards and Ferry's own jobs on that host wait too. Some calls would not wait but would do harm: libvirt
 * lets a guest be suspended in the middle of an outgoing migration. So power actions refuse such a VM, and so
 * does a migration's preflight.
 *
 * Two answers say it, both read without waiting for the lock (measured on the lab during a 2 MiB/s migration):
 * - `domjobinfo` on the host that runs the job: `Job type: Unbounded`, `Operation: Outgoing migration`.
 * - `domstate --reason` on the destination of a migration, where domjobinfo has no statistics:
 *   `paused (migrating)`.
 */

/**
 * `domstate --reason` answers (virsh's words, virsh-domain-monitor.c) that mean a job holds the domain, and the job.
 * A post-copy migration runs the guest on the destination while pages still arrive.
 */
const JOB_STATES: Readonly<Record<string, { job: string; isMigration: boolean }>> = {
  'paused (migrating)': { job: 'a migration', isMigration: true },
  'paused (post-copy)': { job: 'a post-copy migration', isMigration: true },
  'running (post-copy)': { job: 'a post-copy migration', isMigration: true },
  'paused (saving)': { job: 'a save', isMigration: false },
  'paused (dumping)': { job: 'a memory dump', isMigration: false },
  'paused (creating snapshot)': { job: 'a snapshot', isMigration: false },
};

/**
 * What holds the VM and what to do about it, as a sentence to follow `Cannot <act> "<vm>": `; null when no job
 * does. `job` is null when the host has no job statistics for the VM: the destination of a migration, or a driver
 * without domjobinfo, such as the test driver.
 */
export function foreignJobSentence(options: {
  hostAlias: string;
  state: DomainState | null;
  job: DomJobInfo | null;
}): string | null {
  const { hostAlias, state, job } = options;
  if (job !== null && (job.jobType === 'bounded' || job.jobType === 'unbounded')) {
    const operation = job.operation === null ? '' : ` (${job.operation.toLowerCase()})`;
    return (
      `libvirt on ${hostAlias} is running a job on it that Ferry did not start${operation}. ` +
      `Wait for it to end, or abort it (virsh domjobabort on ${hostAlias}).`
    );
  }
  const words = state === null || state.reason === null ? null : `${state.state} (${state.reason})`;
  const held = words === null ? undefined : JOB_STATES[words];
  if (held === undefined) return null;
  const where = held.isMigration ? "on the migration's source host" : `on ${hostAlias}`;
  return (
    `it is ${words} on ${hostAlias}, held by ${held.job} that Ferry did not start. ` +
    `Wait for it to end, or abort it (virsh domjobabort ${where}).`
  );
}
