/**
 * How a host's bandwidth cap is shared by the migrations running from or to it. PURE.
 *
 * Each host with a cap divides it evenly among the jobs that touch it (outgoing and incoming alike: both use
 * the host's link). A job gets the smaller of its source's and its destination's share, and never more than
 * the bandwidth its own options asked for. The result is whole MiB/s (what `virsh migrate --bandwidth` and
 * `migrate-setspeed` take), at least 1: a share of 0 would read as "no limit" to some libvirt versions.
 */

export type BandwidthJob = {
  id: string;
  sourceHostId: string | null;
  destinationHostId: string | null;
  /** The job's own `--bandwidth` option, if it set one. */
  requestedMiBps: number | null;
};

/** Job id → MiB/s, or null when neither host has a cap and the job set no limit of its own. */
export function splitBandwidth(input: {
  jobs: readonly BandwidthJob[];
  capsMiBps: ReadonlyMap<string, number | null>;
}): Map<string, number | null> {
  const users = new Map<string, number>();
  for (const job of input.jobs) {
    for (const host of new Set([job.sourceHostId, job.destinationHostId])) {
      if (host !== null) users.set(host, (users.get(host) ?? 0) + 1);
    }
  }
  const shareOf = (host: string | null): number | null => {
    if (host === null) return null;
    const cap = input.capsMiBps.get(host) ?? null;
    return cap === null ? null : cap / (users.get(host) ?? 1);
  };
  const shares = new Map<string, number | null>();
  for (const job of input.jobs) {
    const limits = [shareOf(job.sourceHostId), shareOf(job.destinationHostId), job.requestedMiBps].filter(
      (value): value is number => value !== null,
    );
    shares.set(job.id, limits.length === 0 ? null : Math.max(1, Math.floor(Math.min(...limits))));
  }
  return shares;
}
