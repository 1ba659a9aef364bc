import type { Executor } from '../../hypervisor/executor';
import type { DomainRef } from '../../libvirt/domain-ref';
import { buildCompletedJobInfoArgv } from '../../libvirt/migration/argv';
import { classifyVirshError } from '../../libvirt/migration/errors';
import { parseDomJobInfo, type DomJobInfo } from '../../libvirt/migration/jobinfo';
import type { MigrationOptions } from '../../libvirt/migration/options';
import type { Ending, RunTotals } from '../final-state';
import { withPrefetched } from '../../hypervisor/prefetch';
import { domainStateArgs, getDomainState } from '../host-queries';
import type { LoadedJob } from './load';
import type { MigrateRun } from './migrate';

export type Arrival =
  { ok: true; verification: string[]; completed: DomJobInfo | null } | { ok: false; ending: Ending };

/**
 * Phase 5, verify: virsh said the migration succeeded; both hosts must agree before Ferry says so. The VM is
 * asked for by its UUID on both ends (it keeps its UUID when it moves).
 */
export async function verifyArrival(job: LoadedJob, vm: DomainRef): Promise<Arrival> {
  // The destination's two reads in one batch (one remote virsh over ssh), the source's state meanwhile. The job's
  // outcome waits on them: they go ahead of ordinary reads queued on the hosts (RunOptions.urgent).
  const [dst, sourceState] = await Promise.all([
    withPrefetched(job.dst, [buildCompletedJobInfoArgv(vm.uuid), domainStateArgs(vm.uuid)], {
      timeoutMs: 10_000,
      urgent: true,
    }),
    getDomainState({ executor: job.src, urgent: true }, vm.uuid),
  ]);
  const completed = dst
    .run(buildCompletedJobInfoArgv(vm.uuid), { timeoutMs: 10_000, urgent: true })
    .then((result) => parseDomJobInfo(result.stdout))
    .catch(() => null);
  const destinationState = await getDomainState({ executor: dst, urgent: true }, vm.uuid);
  const verification = [
    `${job.destination.alias}: ${destinationState ?? 'no such domain'}`,
    `${job.source.alias}: ${sourceState ?? 'no such domain'}`,
  ];
  if (!arrivedAsAsked(job.options, { destinationState, sourceState })) {
    return {
      ok: false,
      ending: {
        summary: {
          state: 'failed',
          errorCode: 'verification',
          errorTitle: 'virsh reported success, but the hosts disagree',
          message: `After the migration: ${verification.join(', ')}.`,
          nextStep: 'Inspect both hosts with virsh before retrying; do not delete anything yet.',
          verification,
        },
      },
    };
  }
  return { ok: true, verification, completed: await completed };
}

/** PURE: what "arrived" means for these options: live runs there, offline is defined there; the source let go. */
export function arrivedAsAsked(
  options: Pick<MigrationOptions, 'mode' | 'undefineSource'>,
  states: { destinationState: string | null; sourceState: string | null },
): boolean {
  const { destinationState, sourceState } = states;
  const destinationOk =
    options.mode === 'live'
      ? destinationState === 'running' || destinationState === 'paused'
      : destinationState !== null;
  const sourceOk = options.undefineSource ? sourceState === null : sourceState !== 'running';
  return destinationOk && sourceOk;
}

/** PURE: the success summary and the totals, from the destination's completed stats or the source's last sample. */
export function succeeded(options: {
  job: LoadedJob;
  vm: DomainRef;
  run: MigrateRun;
  completed: DomJobInfo | null;
  verification: string[];
}): Ending {
  const { job, vm, run, completed } = options;
  const last = run.samples[run.samples.length - 1];
  const totals: RunTotals = {
    memoryBytes: completed?.memory?.processedBytes ?? last?.memory?.processedBytes ?? null,
    // The destination's completed stats carry no disk counters; the source's last sample does (all of it was sent).
    diskBytes: completed?.disk?.processedBytes ?? last?.disk?.totalBytes ?? null,
    downtimeMs: completed?.totalDowntimeMs ?? null,
    peakBandwidthBps: run.peakBandwidthBps,
  };
  return {
    summary: {
      state: 'succeeded',
      errorCode: null,
      errorTitle: null,
      message: `${vm.name} runs on ${job.destination.alias}.`,
      nextStep: null,
      verification: options.verification,
    },
    totals,
  };
}

type Classified = { code: string; title: string; cause: string; nextStep: string };

/** PURE: why virsh migrate did not succeed: Ferry's timeout, a lost connection, or libvirt's own words. */
export function classifyRun(run: MigrateRun, cancelRequested: boolean): Classified {
  if (run.timedOut && !cancelRequested)
    return {
      code: 'timeout',
      title: 'The migration timed out',
      cause: `It did not finish within ${run.abortAfterSeconds} s, so Ferry aborted it.`,
      nextStep: 'Raise the bandwidth limit or the timeout, or enable auto-converge or post-copy for a busy guest.',
    };
  if (run.transportError)
    return {
      code: 'transport',
      title: 'Ferry lost the connection to the source host',
      cause: run.transportError,
      nextStep: 'Check the source host, then look at both hosts before retrying.',
    };
  return classifyVirshError(run.outcome.errorMessage ?? run.outcome.stderr);
}

/** Where the VM is after a failed or cancelled run, asked by UUID; an unreachable host says so. */
export async function locateAfterFailure(job: LoadedJob, vm: DomainRef) {
  const stateOn = (executor: Executor, unreachable: string) =>
    getDomainState({ executor }, vm.uuid).catch(() => unreachable);
  // Two hosts, two independent questions: asked at once.
  const [sourceState, destinationState] = await Promise.all([
    stateOn(job.src, 'unknown (source unreachable)'),
    stateOn(job.dst, 'unknown (destination unreachable)'),
  ]);
  return { sourceState, destinationState };
}

/** PURE: the summary of a run that did not succeed. */
export function notSucceeded(options: {
  job: LoadedJob;
  vm: DomainRef;
  classified: Classified;
  cancelled: boolean;
  sourceState: string | null;
  verification: string[];
}): Ending {
  const { job, vm, classified, sourceState } = options;
  const cancelled = options.cancelled && (classified.code === 'aborted' || classified.code === 'unknown');
  return {
    summary: {
      state: cancelled ? 'cancelled' : 'failed',
      errorCode: cancelled ? 'cancelled' : classified.code,
      errorTitle: cancelled ? 'Cancelled' : classified.title,
      message: cancelled
        ? `Cancelled; ${vm.name} is ${sourceState ?? 'gone'} on ${job.source.alias}.`
        : `${classified.cause} ${vm.name} is ${sourceState ?? 'not defined'} on ${job.source.alias}.`,
      nextStep: cancelled ? null : classified.nextStep,
      verification: options.verification,
    },
  };
}
