import { parseDomJobInfo, type DomJobInfo } from './jobinfo';

/**
 * What to do with a migration whose watcher is gone (Ferry restarted, or a cancel killed the virsh client):
 * keep watching it, or record how it ended, from what both hosts say now. PURE: the caller runs the commands.
 *
 * Read from the lab (fixtures/migration/reattach/, libvirt 9.0, `--live --persistent --undefinesource
 * --copy-storage-all`):
 * - a `--p2p` migration goes on after kill -9 of its virsh client; the source keeps answering
 *   `Job type: Unbounded` / `Operation: Outgoing migration` with growing counters, while the destination says
 *   `paused (migrating)`;
 * - once it succeeded: the source has no domain (`failed to get domain`), the destination `running (migrated)`;
 * - a client-driven migration whose client died, and a p2p one after domjobabort, leave `Job type: None` (also
 *   for `--completed`: libvirt 9.0 keeps no stats of an aborted job), `running (booted)` on the source and no
 *   domain on the destination.
 * Anything else (a host that does not answer, the VM on both or on neither, the destination still paused
 * mid-migration with no job on the source) is not enough to know; the job then ends `unknown` with what each host
 * said, never with a guess.
 */

/** One virsh command's answer on one host. */
export type HostAnswer =
  | { kind: 'ok'; stdout: string }
  /** virsh said the domain does not exist there (`failed to get domain`). */
  | { kind: 'no-domain' }
  /** No usable answer: the host was unreachable, or virsh failed otherwise. */
  | { kind: 'error'; text: string };

export type ReattachInput = {
  /** `domjobinfo` on the source. */
  sourceJob: HostAnswer;
  /** `domstate --reason` on the source and on the destination. */
  sourceState: HostAnswer;
  destinationState: HostAnswer;
  options: { mode: 'live' | 'offline'; undefineSource: boolean };
  /** A cancel was asked for before Ferry lost the job (the row said `cancelling`). */
  cancelRequested: boolean;
};

export type ReattachDecision =
  | { action: 'resume'; job: DomJobInfo }
  | {
      action: 'end';
      state: 'succeeded' | 'failed' | 'cancelled' | 'unknown';
      /** A sentence for the result box. */
      reason: string;
      /** What each host said, as `<role>: <answer>` lines (the caller prefixes the host aliases). */
      said: { source: string; destination: string };
    };

export type DomainState = { state: string; reason: string | null };

/** `virsh domstate --reason` → state and reason: `running (migrated)` → `{ state: 'running', reason: 'migrated' }`. */
export function parseDomStateReason(text: string): DomainState | null {
  const line = text.split('\n').find((candidate) => candidate.trim() !== '');
  if (line === undefined) return null;
  const match = /^(.*?)\s*\(([^()]*)\)\s*$/.exec(line.trim());
  return match ? { state: match[1] as string, reason: match[2] as string } : { state: line.trim(), reason: null };
}

/** A source job Ferry can keep watching: an outgoing migration that has not ended. */
export function isOutgoingMigration(info: DomJobInfo): boolean {
  return (
    (info.jobType === 'bounded' || info.jobType === 'unbounded') &&
    (info.operation === null || /outgoing migration/i.test(info.operation))
  );
}

function readJob(answer: HostAnswer): DomJobInfo | null {
  if (answer.kind !== 'ok') return null;
  try {
    return parseDomJobInfo(answer.stdout);
  } catch {
    return null;
  }
}

type Where = { kind: 'absent' } | { kind: 'present'; domain: DomainState } | { kind: 'unknown'; text: string };

function readState(answer: HostAnswer): Where {
  if (answer.kind === 'no-domain') return { kind: 'absent' };
  if (answer.kind === 'error') return { kind: 'unknown', text: answer.text };
  const domain = parseDomStateReason(answer.stdout);
  return domain ? { kind: 'present', domain } : { kind: 'unknown', text: 'empty answer to domstate' };
}

function describe(where: Where): string {
  switch (where.kind) {
    case 'absent':
      return 'no such domain';
    case 'unknown':
      return `no answer (${where.text})`;
    case 'present':
      return where.domain.reason ? `${where.domain.state} (${where.domain.reason})` : where.domain.state;
    default: {
      const never: never = where;
      return never;
    }
  }
}

/** Mid-migration states: the guest is not settled on this host. */
const IN_FLIGHT_REASONS = new Set(['migrating', 'post-copy', 'post-copy failed']);

function settled(where: Where): where is { kind: 'present'; domain: DomainState } {
  return where.kind === 'present' && !IN_FLIGHT_REASONS.has(where.domain.reason ?? '');
}

/** The decision table above, in code: resume while the source migrates, else the outcome or `unknown`. */
export function decideReattach(input: ReattachInput): ReattachDecision {
  const job = readJob(input.sourceJob);
  if (job !== null && isOutgoingMigration(job)) return { action: 'resume', job };

  const source = readState(input.sourceState);
  const destination = readState(input.destinationState);
  const said = { source: describe(source), destination: describe(destination) };
  const end = (state: 'succeeded' | 'failed' | 'cancelled' | 'unknown', reason: string): ReattachDecision => ({
    action: 'end',
    state,
    reason,
    said,
  });

  if (input.sourceJob.kind === 'error' && source.kind !== 'absent')
    return end('unknown', 'The source host did not say whether its migration job is still running.');
  if (source.kind === 'unknown' || destination.kind === 'unknown')
    return end('unknown', 'A host did not answer, so how the migration ended cannot be established.');

  const arrived =
    settled(destination) &&
    (input.options.mode === 'offline' ||
      destination.domain.state === 'running' ||
      destination.domain.state === 'paused');
  const released = input.options.undefineSource
    ? source.kind === 'absent'
    : source.kind === 'absent' || (settled(source) && source.domain.state !== 'running');
  if (arrived && released) return end('succeeded', 'The VM runs on the destination and the source let it go.');

  if (destination.kind === 'absent' && settled(source))
    return input.cancelRequested
      ? end('cancelled', 'The migration was cancelled; the VM stayed on the source.')
      : end('failed', 'The migration stopped while Ferry was not watching; the VM stayed on the source.');

  return end('unknown', 'The hosts do not agree on where the VM is, so how the migration ended cannot be established.');
}
