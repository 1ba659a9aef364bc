/**
 * Which queued migrations may start now, and why each of the others waits. PURE: the scheduler feeds it rows,
 * the pages feed it the same rows to show a queue position, and a test feeds it made-up fleets.
 *
 * The rules, in the words vdsm and oVirt use: a host runs at most `maxOutgoing` migrations away from it and
 * `maxIncoming` to it at once (both 2 by default there, as here; Nova's default is 1 outgoing), and the fleet at
 * most `fleetLimit`. A job holds a slot of its source's outgoing limit and of its destination's incoming limit
 * from the moment it is claimed (preflight) until it ends.
 *
 * The queue is first in, first out per resource: once a job has to wait for hv1's outgoing slots, every later
 * job from hv1 waits behind it, even if a slot is free by the time the later one is looked at. Without that, a
 * job that needs two busy hosts (hv1 out, hv2 in) could be overtaken forever by jobs that need only one of them.
 * Jobs whose hosts are all different do overtake: nothing they take is what the earlier job waits for.
 */

export type QueuedJob = {
  id: string;
  /** null once the host was removed from Ferry: such a job starts at once, so the runner can end it. */
  sourceHostId: string | null;
  destinationHostId: string | null;
  createdAt: Date;
};

/** A job that holds slots (preflight, running, cancelling). */
export type SlotHolder = { sourceHostId: string | null; destinationHostId: string | null };

export type HostLimits = { id: string; alias: string; maxOutgoing: number; maxIncoming: number };

export type WaitReason =
  | { kind: 'fleet'; inUse: number; limit: number }
  | { kind: 'outgoing' | 'incoming'; hostAlias: string; inUse: number; limit: number }
  | { kind: 'behind'; direction: 'outgoing' | 'incoming'; hostAlias: string };

/** `position`: 1 for the job that starts next among those that wait. */
export type WaitingJob = { id: string; position: number; reason: WaitReason };

export type QueuePlan = { start: string[]; waiting: WaitingJob[] };

/** FIFO order: oldest first, ties broken by id so every replica computes the same order. */
export function byQueueOrder(a: QueuedJob, b: QueuedJob): number {
  return a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export function planQueue(input: {
  queued: readonly QueuedJob[];
  holders: readonly SlotHolder[];
  hosts: readonly HostLimits[];
  fleetLimit: number;
}): QueuePlan {
  const hosts = new Map(input.hosts.map((host) => [host.id, host]));
  const outgoing = new Map<string, number>();
  const incoming = new Map<string, number>();
  const bump = (counts: Map<string, number>, id: string | null) => {
    if (id !== null) counts.set(id, (counts.get(id) ?? 0) + 1);
  };
  for (const holder of input.holders) {
    bump(outgoing, holder.sourceHostId);
    bump(incoming, holder.destinationHostId);
  }
  let total = input.holders.length;
  const blocked = new Set<string>();
  const start: string[] = [];
  const waiting: WaitingJob[] = [];

  for (const job of [...input.queued].sort(byQueueOrder)) {
    const source = job.sourceHostId === null ? undefined : hosts.get(job.sourceHostId);
    const destination = job.destinationHostId === null ? undefined : hosts.get(job.destinationHostId);
    const reason = waitReason({ source, destination, outgoing, incoming, blocked, total, limit: input.fleetLimit });
    if (reason === null) {
      start.push(job.id);
      bump(outgoing, job.sourceHostId);
      bump(incoming, job.destinationHostId);
      total += 1;
      continue;
    }
    waiting.push({ id: job.id, position: waiting.length + 1, reason });
    if (source) blocked.add(`out:${source.id}`);
    if (destination) blocked.add(`in:${destination.id}`);
  }
  return { start, waiting };
}

function waitReason(options: {
  source: HostLimits | undefined;
  destination: HostLimits | undefined;
  outgoing: Map<string, number>;
  incoming: Map<string, number>;
  blocked: Set<string>;
  total: number;
  limit: number;
}): WaitReason | null {
  const { source, destination, outgoing, incoming, blocked } = options;
  // A job whose host is gone holds nothing and must not wait: the runner ends it as "host removed".
  if (!source || !destination) return null;
  if (options.total >= options.limit) return { kind: 'fleet', inUse: options.total, limit: options.limit };
  if (blocked.has(`out:${source.id}`)) return { kind: 'behind', direction: 'outgoing', hostAlias: source.alias };
  const out = outgoing.get(source.id) ?? 0;
  if (out >= source.maxOutgoing)
    return { kind: 'outgoing', hostAlias: source.alias, inUse: out, limit: source.maxOutgoing };
  if (blocked.has(`in:${destination.id}`))
    return { kind: 'behind', direction: 'incoming', hostAlias: destination.alias };
  const into = incoming.get(destination.id) ?? 0;
  if (into >= destination.maxIncoming)
    return { kind: 'incoming', hostAlias: destination.alias, inUse: into, limit: destination.maxIncoming };
  return null;
}

/** One sentence for the page: why this job has not started yet. */
export function describeWaitReason(reason: WaitReason): string {
  switch (reason.kind) {
    case 'fleet':
      return `waiting for a free slot in the fleet (${reason.inUse} of ${reason.limit} migrations running)`;
    case 'outgoing':
      return `waiting for a free outgoing slot on ${reason.hostAlias} (${reason.inUse} of ${reason.limit} in use)`;
    case 'incoming':
      return `waiting for a free incoming slot on ${reason.hostAlias} (${reason.inUse} of ${reason.limit} in use)`;
    case 'behind':
      return `waiting behind an earlier queued migration ${reason.direction === 'outgoing' ? 'from' : 'to'} ${reason.hostAlias}`;
    default: {
      const unreachable: never = reason;
      return unreachable;
    }
  }
}
