import { writePercent } from '../events';
import { describeHostError } from '../../hosts/host-errors';
import type { Executor } from '../../hypervisor/executor';
import { isNoSuchDomain } from '../../hypervisor/failure';
import type { DomainRef, DomainUuid } from '../../libvirt/domain-ref';
import { buildCompletedJobInfoArgv, buildJobInfoArgv } from '../../libvirt/migration/argv';
import { parseDomJobInfo, type DomJobInfo } from '../../libvirt/migration/jobinfo';
import { isOutgoingMigration, type HostAnswer, type ReattachDecision } from '../../libvirt/migration/reattach';
import type { Ending } from '../final-state';
import type { JobContext } from '../job-context';
import { createAborter, createJobStats } from './migrate';

const READ_TIMEOUT_MS = 10_000;
/** Consecutive failed domjobinfo polls after which the watcher stops and lets the hosts' answers decide. */
const MAX_POLL_FAILURES = 10;

/** One virsh read as the decision table takes it: stdout, "no such domain", or why there was no answer. */
export async function answerOf(executor: Executor | null, args: string[]): Promise<HostAnswer> {
  if (executor === null) return { kind: 'error', text: 'host removed from Ferry' };
  try {
    return { kind: 'ok', stdout: (await executor.run(args, { timeoutMs: READ_TIMEOUT_MS })).stdout };
  } catch (error) {
    if (isNoSuchDomain(error)) return { kind: 'no-domain' };
    return { kind: 'error', text: describeHostError(error).error };
  }
}

/**
 * What both hosts say about the VM now, all three reads at once: the source's job, and where the domain is on
 * each side (`domstate --reason`).
 */
export async function askHosts(options: { src: Executor | null; dst: Executor | null; uuid: DomainUuid }) {
  const { src, dst, uuid } = options;
  const [sourceJob, sourceState, destinationState] = await Promise.all([
    answerOf(src, buildJobInfoArgv(uuid)),
    answerOf(src, ['domstate', '--reason', '--domain', uuid]),
    answerOf(dst, ['domstate', '--reason', '--domain', uuid]),
  ]);
  return { sourceJob, sourceState, destinationState };
}

type EndDecision = Extract<ReattachDecision, { action: 'end' }>;

/**
 * PURE: a decision taken after Ferry stopped watching (cancel grace ran out, or polling failed): a source that
 * still migrates is not an ending Ferry can name, so it is recorded as unknown with what the hosts said.
 */
export function settle(decision: ReattachDecision): EndDecision {
  if (decision.action === 'end') return decision;
  const percent = decision.job.data
    ? ` (${Math.floor(((decision.job.data.totalBytes - decision.job.data.remainingBytes) * 100) / Math.max(1, decision.job.data.totalBytes))} %)`
    : '';
  return {
    action: 'end',
    state: 'unknown',
    reason: 'The source still runs the migration, but Ferry stopped watching it.',
    said: { source: `outgoing migration still running${percent}`, destination: 'not asked' },
  };
}

/** PURE: the ending Ferry records for a decision, with what each host said as its verification lines. */
export function endingOf(
  decision: EndDecision,
  names: { vmName: string; sourceAlias: string; destinationAlias: string; why: 'restart' | 'cancel' },
): Ending {
  const verification = [
    `${names.sourceAlias}: ${decision.said.source}`,
    `${names.destinationAlias}: ${decision.said.destination}`,
  ];
  const lost =
    names.why === 'restart'
      ? 'Ferry restarted while this migration ran.'
      : 'virsh did not end after domjobabort, so Ferry stopped it.';
  const now = `Now: ${verification.join(', ')}.`;
  switch (decision.state) {
    case 'succeeded':
      return {
        summary: {
          state: 'succeeded',
          errorCode: null,
          errorTitle: null,
          message: `${names.vmName} runs on ${names.destinationAlias}.`,
          nextStep: null,
          verification,
        },
      };
    case 'cancelled':
      return {
        summary: {
          state: 'cancelled',
          errorCode: 'cancelled',
          errorTitle: 'Cancelled',
          message: `Cancelled; ${names.vmName} stayed on ${names.sourceAlias}. ${now}`,
          nextStep: null,
          verification,
        },
      };
    case 'failed':
      return {
        summary: {
          state: 'failed',
          errorCode: 'interrupted',
          errorTitle: names.why === 'restart' ? 'Interrupted by a Ferry restart' : 'Stopped after a cancel',
          message: `${lost} ${decision.reason} ${now}`,
          nextStep: 'Start the migration again if you still want the VM on the destination.',
          verification,
        },
      };
    case 'unknown':
      // A cancel ends cancelled or failed: the hosts' words say what is known.
      if (names.why === 'cancel')
        return {
          summary: {
            state: 'failed',
            errorCode: 'cancel-unconfirmed',
            errorTitle: 'Cancel not confirmed by the hosts',
            message: `${lost} ${decision.reason} ${now}`,
            nextStep: 'Look at both hosts with virsh (domstate, domjobinfo) before doing anything with this VM.',
            verification,
          },
        };
      return {
        summary: {
          state: 'unknown',
          errorCode: 'unknown',
          errorTitle: 'Outcome unknown',
          message: `${lost} ${decision.reason} ${now}`,
          nextStep: 'Look at both hosts with virsh (domstate, domjobinfo) before doing anything with this VM.',
          verification,
        },
      };
    default: {
      const never: never = decision.state;
      return never;
    }
  }
}

/**
 * Watches a migration the source's libvirtd drives without a virsh client of Ferry's (re-attached after a
 * restart): polls domjobinfo on the source and publishes it as the same `jobinfo` and `progress` events the run
 * phase publishes, so the browser's live bar goes on where it was. Ends when the source reports no outgoing
 * migration any more. A cancel sends domjobabort (again every second) and, after the grace period, stops waiting.
 */
export async function watchSourceJob(
  ctx: JobContext,
  options: { src: Executor; vm: DomainRef; first: DomJobInfo; pollIntervalMs: number; cancelGraceMs: number },
): Promise<{ samples: DomJobInfo[]; peakBandwidthBps: number; gaveUp: boolean }> {
  const stats = createJobStats(ctx);
  let running = true;
  let gaveUp = false;
  const aborter = createAborter({ executor: options.src, domain: options.vm.uuid, isRunning: () => running });
  let graceTimer: NodeJS.Timeout | undefined;
  const stopCancel = ctx.cancel.onRequest(() => {
    aborter.start();
    graceTimer ??= setTimeout(() => {
      gaveUp = true;
      running = false;
    }, options.cancelGraceMs);
  });
  let lastPercent = -1;
  const publish = (info: DomJobInfo) => {
    stats.add(info);
    const total = info.data?.totalBytes ?? 0;
    if (total <= 0 || !info.data) return;
    // virsh's own --verbose figure: (total - remaining) / total, rounded down.
    const percent = Math.min(99, Math.floor(((total - info.data.remainingBytes) * 100) / total));
    if (percent === lastPercent) return;
    lastPercent = percent;
    void ctx.emit({ type: 'progress', percent, readAt: Date.now() });
    void writePercent(ctx.db, ctx.migrationId, percent).catch(() => undefined);
  };
  publish(options.first);
  let failures = 0;
  try {
    while (running) {
      await new Promise((resolve) => setTimeout(resolve, options.pollIntervalMs));
      if (!running) break;
      const answer = await answerOf(options.src, buildJobInfoArgv(options.vm.uuid));
      if (answer.kind === 'no-domain') break;
      if (answer.kind === 'error') {
        if (++failures >= MAX_POLL_FAILURES) break;
        continue;
      }
      failures = 0;
      let info: DomJobInfo;
      try {
        info = parseDomJobInfo(answer.stdout);
      } catch {
        continue;
      }
      if (!isOutgoingMigration(info)) break;
      publish(info);
    }
  } finally {
    running = false;
    stopCancel();
    aborter.stop();
    clearTimeout(graceTimer);
  }
  return { samples: stats.samples, peakBandwidthBps: stats.peak(), gaveUp };
}

/** The destination's `domjobinfo --completed` after a success (downtime, memory sent), or null. */
export async function completedOnDestination(dst: Executor, uuid: DomainUuid): Promise<DomJobInfo | null> {
  const answer = await answerOf(dst, buildCompletedJobInfoArgv(uuid));
  if (answer.kind !== 'ok') return null;
  try {
    return parseDomJobInfo(answer.stdout);
  } catch {
    return null;
  }
}
