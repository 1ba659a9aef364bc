import { writePercent } from '../events';
import { describeHostError } from '../../hosts/host-errors';
import { VirshError, type Executor } from '../../hypervisor/executor';
import type { DomainRef, DomainUuid } from '../../libvirt/domain-ref';
import {
  buildJobAbortArgv,
  buildJobInfoArgv,
  buildMigrateArgv,
  timeoutAbortAfterSeconds,
} from '../../libvirt/migration/argv';
import { estimateEta, parseDomJobInfo, type DomJobInfo } from '../../libvirt/migration/jobinfo';
import { peerToPeerRule } from '../../libvirt/migration/peer-to-peer';
import { createMigrateOutputParser, type FinalOutcome } from '../../libvirt/migration/progress';
import { destinationOpener, destinationUriFor } from '../../libvirt/migration/destination-uri';
import type { JobContext } from '../job-context';
import type { JobSample } from '../types';
import type { LoadedJob } from './load';

/**
 * virsh migrate ends by itself (or by the user's --timeout / a cancel); the executor's per-command limit must not
 * cut it.
 */
const MIGRATE_TIME_LIMIT_MS = 7 * 24 * 3600_000;
export const DEFAULT_POLL_INTERVAL_MS = 500;
/** The default of FERRY_CANCEL_GRACE_MS (env.ts). */
export const DEFAULT_CANCEL_GRACE_MS = 15_000;
/** domjobinfo samples kept for the ETA (about 20 s at the default interval). */
const SAMPLE_WINDOW = 40;

/** What the run phase hands to verification (exit 0) or to failure handling (anything else). */
export type MigrateRun = {
  /** virsh's exit code; -1 when the transport to the source failed. */
  exitCode: number;
  transportError: string | null;
  /** Ferry aborted the job because `timeoutAction: 'abort'` ran out. */
  timedOut: boolean;
  /**
   * virsh did not end within the cancel grace period after domjobabort, so Ferry killed it (its process group, or
   * the remote one through the ssh channel). Its exit code then says nothing: the hosts decide how it ended.
   */
  killedAfterGrace: boolean;
  abortAfterSeconds: number | null;
  outcome: FinalOutcome;
  /** The last domjobinfo samples from the source (oldest first). */
  samples: DomJobInfo[];
  peakBandwidthBps: number;
};

/** Whether this job runs peer-to-peer: wherever the transport allows (peer-to-peer.ts), or tunnelled. */
export function isPeerToPeer(job: LoadedJob): boolean {
  return job.options.tunnelled || peerToPeerRule({ source: job.source, destination: job.destination }).possible;
}

/** The `virsh migrate` argv for this job: the VM by its UUID, the destination as the source host reaches it. */
export function migrateArgvFor(job: LoadedJob, vm: DomainRef): string[] {
  const peerToPeer = isPeerToPeer(job);
  return buildMigrateArgv({
    domain: vm.uuid,
    peerToPeer,
    // With the ssh executor virsh runs on the source; with --p2p the source's libvirtd opens the URI.
    destinationUri: destinationUriFor({
      uri: job.destination.uri,
      opener: destinationOpener({ sourceExecutorKind: job.source.executorKind, isPeerToPeer: peerToPeer }),
    }),
    options: job.options,
    migrateUri:
      job.destination.migrationAddress && !job.options.tunnelled
        ? `tcp://${job.destination.migrationAddress}`
        : undefined,
  });
}

/**
 * Phase 4, run: `virsh migrate` on the source, streaming its progress and the source's domjobinfo as events,
 * turning a cancel or Ferry's own timeout into domjobabort. Returns how virsh ended; deciding what that means is
 * the next phase's job.
 */
export async function runMigrate(
  ctx: JobContext,
  job: LoadedJob,
  vm: DomainRef,
  options: { pollIntervalMs?: number; cancelGraceMs?: number } = {},
): Promise<MigrateRun> {
  const argv = migrateArgvFor(job, vm);
  await ctx.emit({
    type: 'log',
    stream: 'ferry',
    text: `virsh -c ${job.source.displayUri} ${argv.join(' ').replace(job.destination.uri, job.destination.displayUri)}\n`,
  });
  const parser = createMigrateOutputParser();
  const progress = progressSink(ctx);
  const stats = createJobStats(ctx);
  const running = createRunningFlag();
  const aborter = createAborter({ executor: job.src, domain: vm.uuid, isRunning: running.isRunning });
  const killer = createGraceKiller(ctx, options.cancelGraceMs ?? DEFAULT_CANCEL_GRACE_MS);
  const abort = () => {
    aborter.start();
    killer.arm();
  };
  const stopCancel = ctx.cancel.onRequest(abort);
  const timeout = startAbortTimer(ctx, timeoutAbortAfterSeconds(job.options), abort);
  const poller = pollJobInfo({
    executor: job.src,
    domain: vm.uuid,
    intervalMs: options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
    running,
    onSample: stats.add,
  });
  const ended = await runToExit(job.src, argv, killer.signal, {
    onStderr: (chunk) => {
      ctx.transcript.push(chunk);
      progress(parser.pushStderr(chunk));
    },
    onStdout: (chunk) => {
      ctx.transcript.push(chunk);
      progress(parser.pushStdout(chunk));
    },
  });
  running.stop();
  stopCancel();
  aborter.stop();
  killer.stop();
  timeout.stop();
  await poller;
  return {
    ...ended,
    timedOut: timeout.fired,
    killedAfterGrace: killer.fired,
    abortAfterSeconds: timeout.seconds,
    outcome: parser.finish(ended.exitCode),
    samples: stats.samples,
    peakBandwidthBps: stats.peak(),
  };
}

async function runToExit(
  src: Executor,
  argv: string[],
  signal: AbortSignal,
  streams: { onStdout: (chunk: string) => void; onStderr: (chunk: string) => void },
): Promise<{ exitCode: number; transportError: string | null }> {
  try {
    await src.run(argv, { timeoutMs: MIGRATE_TIME_LIMIT_MS, signal, ...streams });
    return { exitCode: 0, transportError: null };
  } catch (error) {
    if (error instanceof VirshError && error.kind === 'exit')
      return { exitCode: error.exitCode ?? 1, transportError: null };
    return { exitCode: -1, transportError: describeHostError(error).error };
  }
}

/**
 * Publishes each new percentage and then keeps the row's percent current (for lists and a reload). The row's update
 * waits for the event: issued beside it, the UPDATE was called first and went to the database ahead of the event's
 * insert, so every bar waited for both statements.
 */
function progressSink(ctx: JobContext) {
  let lastPercent = -1;
  return (events: ReturnType<ReturnType<typeof createMigrateOutputParser>['pushStderr']>) => {
    const readAt = Date.now();
    for (const event of events) {
      if (event.type !== 'progress' || event.percent === lastPercent) continue;
      const { percent } = event;
      lastPercent = percent;
      void ctx
        .emit({ type: 'progress', percent, readAt })
        .then(() => writePercent(ctx.db, ctx.migrationId, percent))
        .catch(() => undefined);
    }
  };
}

/** Keeps the last domjobinfo samples (for the ETA and the totals) and publishes each as a `jobinfo` event. */
export function createJobStats(ctx: JobContext) {
  const samples: DomJobInfo[] = [];
  let peak = 0;
  return {
    samples,
    peak: () => peak,
    add(info: DomJobInfo) {
      samples.push(info);
      if (samples.length > SAMPLE_WINDOW) samples.shift();
      const sample = toSample(info, samples);
      if (sample.bandwidthBps && sample.bandwidthBps > peak) peak = sample.bandwidthBps;
      void ctx.emit({ type: 'jobinfo', ...sample });
    },
  };
}

type RunningFlag = { isRunning: () => boolean; stopped: Promise<void>; stop: () => void };

function createRunningFlag(): RunningFlag {
  let running = true;
  let markStopped = () => {};
  const stopped = new Promise<void>((resolve) => (markStopped = resolve));
  return {
    isRunning: () => running,
    stopped,
    stop() {
      running = false;
      markStopped();
    },
  };
}

/**
 * domjobabort on the source until virsh migrate exits: a cancel can land before libvirt has created the job
 * ("no job is active"), so one attempt is not enough.
 */
export function createAborter(options: { executor: Executor; domain: DomainUuid; isRunning: () => boolean }) {
  let timer: NodeJS.Timeout | undefined;
  const attempt = () => {
    if (!options.isRunning()) return;
    options.executor.run(buildJobAbortArgv(options.domain), { timeoutMs: 10_000 }).catch(() => undefined);
    timer = setTimeout(attempt, 1_000);
  };
  return {
    start() {
      if (timer === undefined) attempt();
    },
    stop() {
      clearTimeout(timer);
    },
  };
}

/**
 * A cancel always ends: virsh migrate was seen wedged after its job had already gone (virsh 9.0, fast-failing
 * migrations), and domjobabort cannot end a client that waits for nothing. So once the grace period after the
 * first domjobabort has passed, the signal stops the virsh process (the executor kills its process group, or
 * ends the ssh channel, whose wrapper kills the remote group).
 */
function createGraceKiller(ctx: JobContext, graceMs: number) {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let fired = false;
  return {
    signal: controller.signal,
    get fired() {
      return fired;
    },
    arm() {
      if (timer !== undefined) return;
      timer = setTimeout(() => {
        fired = true;
        void ctx.emit({
          type: 'log',
          stream: 'ferry',
          text: `virsh did not end within ${graceMs / 1000} s of domjobabort: stopping it; the hosts will say how the job ended.\n`,
        });
        controller.abort();
      }, graceMs);
    },
    stop: () => clearTimeout(timer),
  };
}

/** virsh can only suspend or switch to post-copy on --timeout; "abort" is Ferry's to enforce. */
function startAbortTimer(ctx: JobContext, seconds: number | null, abort: () => void) {
  const state = { fired: false, seconds };
  const timer =
    seconds === null
      ? undefined
      : setTimeout(() => {
          state.fired = true;
          void ctx.emit({
            type: 'log',
            stream: 'ferry',
            text: `Timeout of ${seconds} s reached: aborting the migration.\n`,
          });
          abort();
        }, seconds * 1000);
  return {
    get fired() {
      return state.fired;
    },
    seconds,
    stop: () => clearTimeout(timer),
  };
}

async function pollJobInfo(options: {
  executor: Executor;
  domain: DomainUuid;
  intervalMs: number;
  running: RunningFlag;
  onSample: (info: DomJobInfo) => void;
}) {
  const { running } = options;
  while (running.isRunning()) {
    // The wait ends early when virsh exits, so the outcome is not held back by a sleeping poller.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise((resolve) => (timer = setTimeout(resolve, options.intervalMs))), running.stopped]);
    clearTimeout(timer);
    if (!running.isRunning()) break;
    try {
      const result = await options.executor.run(buildJobInfoArgv(options.domain), {
        timeoutMs: Math.max(2_000, options.intervalMs * 4),
      });
      const info = parseDomJobInfo(result.stdout);
      if (!info.isIdle) options.onSample(info);
    } catch {
      // domjobinfo fails in the instant the domain leaves the source; the exit code of virsh migrate decides.
    }
  }
}

function toSample(info: DomJobInfo, samples: DomJobInfo[]): JobSample {
  const eta = estimateEta({ samples });
  const dirtyRate =
    info.dirtyPagesPerSecond !== null && info.pageSizeBytes !== null
      ? info.dirtyPagesPerSecond * info.pageSizeBytes
      : null;
  return {
    phase: info.phase,
    elapsedMs: info.timeElapsedMs,
    dataProcessedBytes: info.data?.processedBytes ?? null,
    dataRemainingBytes: info.data?.remainingBytes ?? null,
    dataTotalBytes: info.data?.totalBytes ?? null,
    memoryProcessedBytes: info.memory?.processedBytes ?? null,
    memoryRemainingBytes: info.memory?.remainingBytes ?? null,
    memoryTotalBytes: info.memory?.totalBytes ?? null,
    diskProcessedBytes: info.disk?.processedBytes ?? null,
    diskRemainingBytes: info.disk?.remainingBytes ?? null,
    diskTotalBytes: info.disk?.totalBytes ?? null,
    // libvirt reports no rate while it copies disks; the measured one (processed bytes over elapsed time) always works.
    bandwidthBps: eta.bytesPerSecond ?? info.memoryBytesPerSecond ?? info.diskBytesPerSecond,
    dirtyRateBps: dirtyRate,
    iteration: info.iteration,
    etaSeconds: eta.etaSeconds,
  };
}
