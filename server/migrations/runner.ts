import type { Host } from '@prisma/client';
import { randomUUID } from 'node:crypto';
import type { Db } from '../db';
import { recordAudit } from '../audit/record';
import type { EventBus } from '../events/bus';
import { describeHostError, type ExecutorSource } from '../fleet/service';
import { VirshError, type Executor } from '../hypervisor/executor';
import {
  buildCompletedJobInfoArgv,
  buildJobAbortArgv,
  buildJobInfoArgv,
  buildMigrateArgv,
  timeoutAbortAfterSeconds,
} from '../libvirt/migration/argv';
import { classifyVirshError } from '../libvirt/migration/errors';
import { estimateEta, parseDomJobInfo, type DomJobInfo } from '../libvirt/migration/jobinfo';
import { migrationOptionsSchema, type MigrationOptions } from '../libvirt/migration/options';
import { createMigrateOutputParser } from '../libvirt/migration/progress';
import { formatLibvirtUri, parseLibvirtUri } from '../libvirt/uri';
import { appendMigrationEvent } from './events';
import { createVolume, deleteVolume, getDomainState, volumeExists } from './host-queries';
import { runPreflight, type PreflightFacts } from './preflight';
import {
  migrationControlChannel,
  type JobSample,
  type MigrationEventPayload,
  type MigrationResultSummary,
  type MigrationState,
} from './types';

export type RunnerDeps = {
  db: Db;
  bus: EventBus;
  executors: ExecutorSource;
  /** How often `virsh domjobinfo` is polled on the source while virsh migrate runs. */
  pollIntervalMs?: number;
};

/** Identifies this Ferry process as the owner of the jobs it runs (restart recovery looks at it). */
export const PROCESS_OWNER_ID = randomUUID();

const DEFAULT_POLL_INTERVAL_MS = 500;
/**
 * virsh migrate ends by itself (or by the user's --timeout / a cancel); the executor's per-command limit must not
 * cut it.
 */
const MIGRATE_TIME_LIMIT_MS = 7 * 24 * 3600_000;
const LOCAL_ONLY_PARAMS = ['keyfile', 'known_hosts', 'pkipath', 'known_hosts_verify'];

/**
 * For a source using the ssh executor, virsh runs ON the source host: the destination URI must not point at
 * key files that only exist on the Ferry box, so those parameters are dropped and the host's own ssh
 * configuration applies.
 */
export function destinationUriFor(options: { sourceExecutorKind: string; destinationUri: string }): string {
  if (options.sourceExecutorKind !== 'ssh') return options.destinationUri;
  const parsed = parseLibvirtUri(options.destinationUri);
  if (!parsed.ok) return options.destinationUri;
  const params = Object.fromEntries(
    Object.entries(parsed.uri.params).filter(([key]) => !LOCAL_ONLY_PARAMS.includes(key)),
  );
  return formatLibvirtUri({ ...parsed.uri, params });
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

type Job = {
  id: string;
  vmName: string;
  actor: string;
  options: MigrationOptions;
  source: Host;
  destination: Host;
  src: Executor;
  dst: Executor;
};

/**
 * Runs one migration from queued to a verified final state. Every state change is written to SQLite before
 * it is published; the outcome is decided by asking both hosts, never by trusting virsh's exit code alone.
 */
export async function runMigrationJob(deps: RunnerDeps, migrationId: string): Promise<MigrationState> {
  const { db, bus } = deps;
  const row = await db.migration.findUniqueOrThrow({
    where: { id: migrationId },
    include: { sourceHost: true, destinationHost: true },
  });

  let chain: Promise<unknown> = Promise.resolve();
  const emit = (payload: MigrationEventPayload) => {
    chain = chain
      .then(() => appendMigrationEvent({ db, bus, migrationId, payload }))
      .catch((error: unknown) => console.error('migration event write failed', error));
    return chain;
  };

  let cancelRequested = row.state === 'cancelling';
  let migrateRunning = false;
  let abortTimer: NodeJS.Timeout | undefined;
  const unsubscribe = bus.subscribe(migrationControlChannel(migrationId), (message) => {
    if ((message as { action?: string }).action !== 'cancel') return;
    cancelRequested = true;
    if (migrateRunning) requestAbort();
  });

  const startedMs = Date.now();
  let job: Job | undefined;
  const transcript: string[] = [];
  let facts: PreflightFacts | null = null;
  const createdVolumes: string[] = [];
  const samples: DomJobInfo[] = [];
  let peakBandwidth = 0;

  const heartbeat = setInterval(() => {
    db.migration.update({ where: { id: migrationId }, data: { heartbeatAt: new Date() } }).catch(() => undefined);
  }, 5_000);

  function requestAbort() {
    if (!job || abortTimer) return;
    const current = job;
    // A cancel can land before libvirt has created the job ("no job is active"): keep asking until virsh exits.
    const attempt = () => {
      if (!migrateRunning) return;
      current.src.run(buildJobAbortArgv(current.vmName), { timeoutMs: 10_000 }).catch(() => undefined);
      abortTimer = setTimeout(attempt, 1_000);
    };
    attempt();
  }

  async function setState(state: MigrationState, extra: Record<string, unknown> = {}, message?: string) {
    await db.migration.update({ where: { id: migrationId }, data: { state, ...extra } });
    await emit({ type: 'state', state, ...(message ? { message } : {}) });
  }

  async function finish(
    summary: MigrationResultSummary,
    totals: { memoryBytes?: number | null; diskBytes?: number | null; downtimeMs?: number | null } = {},
  ) {
    await chain;
    const endedAt = new Date();
    const durationMs = endedAt.getTime() - (row.startedAt ?? new Date(startedMs)).getTime();
    const totalBytes = (totals.memoryBytes ?? 0) + (totals.diskBytes ?? 0);
    const auditAction = `migration.${summary.state}`;
    await db.$transaction(async (tx) => {
      await tx.migration.update({
        where: { id: migrationId },
        data: {
          state: summary.state,
          endedAt,
          durationMs,
          memoryBytes: totals.memoryBytes != null ? BigInt(Math.round(totals.memoryBytes)) : null,
          diskBytes: totals.diskBytes != null ? BigInt(Math.round(totals.diskBytes)) : null,
          avgBandwidthBps:
            totalBytes > 0 && durationMs > 0 ? BigInt(Math.round((totalBytes * 1000) / durationMs)) : null,
          peakBandwidthBps: peakBandwidth > 0 ? BigInt(Math.round(peakBandwidth)) : null,
          downtimeMs: totals.downtimeMs ?? null,
          errorCode: summary.errorCode,
          errorMessage: summary.message,
          rawError:
            summary.state === 'succeeded'
              ? null
              : (transcript
                  .join('')
                  .match(/error: [^\n]*/g)
                  ?.join('\n') ?? summary.message),
          output: transcript.join(''),
          heartbeatAt: endedAt,
          percent: summary.state === 'succeeded' ? 100 : undefined,
        },
      });
      await recordAudit(tx, {
        actor: row.actor,
        action: auditAction,
        result: summary.state === 'succeeded' ? 'ok' : summary.state === 'cancelled' ? 'ok' : 'failed',
        hostAlias: row.sourceAlias,
        vmName: row.vmName,
        migrationId,
        details: {
          destination: row.destinationAlias,
          durationMs,
          errorCode: summary.errorCode,
          message: summary.message,
          verification: summary.verification,
        },
      });
    });
    await emit({ type: 'result', ...summary });
    await emit({ type: 'state', state: summary.state });
    return summary.state;
  }

  try {
    if (!row.sourceHost || !row.destinationHost) {
      return await finish({
        state: 'failed',
        errorCode: 'host-removed',
        errorTitle: 'Host removed',
        message: 'The source or destination host was removed from Ferry.',
        nextStep: 'Register the host again and retry.',
        verification: [],
      });
    }
    const options = migrationOptionsSchema.parse(JSON.parse(row.options));
    job = {
      id: migrationId,
      vmName: row.vmName,
      actor: row.actor,
      options,
      source: row.sourceHost,
      destination: row.destinationHost,
      src: deps.executors.get(row.sourceHost),
      dst: deps.executors.get(row.destinationHost),
    };
    const { src, dst, vmName } = job;

    await setState('preflight', { ownerId: PROCESS_OWNER_ID, heartbeatAt: new Date() });
    const report = await runPreflight({
      db,
      vmName,
      migration: options,
      migrationId,
      source: { id: job.source.id, alias: job.source.alias, hostUuid: job.source.hostUuid, executor: src },
      destination: {
        id: job.destination.id,
        alias: job.destination.alias,
        hostUuid: job.destination.hostUuid,
        executor: dst,
      },
    });
    facts = report.facts;
    await db.migration.update({
      where: { id: migrationId },
      data: { checklist: JSON.stringify(report.checks), vmUuid: report.facts.domain?.uuid ?? null },
    });
    await emit({ type: 'checklist', checks: report.checks });
    if (!report.ok) {
      const failed = report.checks.filter((c) => c.status === 'fail');
      return await finish({
        state: 'failed',
        errorCode: 'preflight',
        errorTitle: 'Preflight failed',
        message: failed.map((c) => `${c.label}: ${c.reason}`).join(' '),
        nextStep: 'Fix what the checklist reports, then start the migration again.',
        verification: [],
      });
    }
    if (cancelRequested) {
      return await finish({
        state: 'cancelled',
        errorCode: 'cancelled',
        errorTitle: 'Cancelled',
        message: 'Cancelled before the migration started.',
        nextStep: null,
        verification: [],
      });
    }

    if (options.precreateVolumes) {
      for (const disk of facts.disks) {
        if (disk.existsOnDestination || !disk.pool || disk.capacityBytes === null) continue;
        const name = disk.path.slice(disk.path.lastIndexOf('/') + 1);
        await createVolume(
          { executor: dst },
          { pool: disk.pool, name, capacityBytes: disk.capacityBytes, format: disk.format },
        );
        createdVolumes.push(disk.path);
        await db.$transaction((tx) =>
          recordAudit(tx, {
            actor: row.actor,
            action: 'volume.create',
            hostAlias: job?.destination.alias,
            vmName,
            migrationId,
            details: { path: disk.path, pool: disk.pool, capacityBytes: disk.capacityBytes, format: disk.format },
          }),
        );
        await emit({
          type: 'log',
          stream: 'ferry',
          text: `Created ${disk.path} (${disk.capacityBytes} bytes) in pool ${disk.pool} on ${job.destination.alias}.\n`,
        });
      }
    }

    const startedAt = new Date();
    row.startedAt = startedAt;
    await setState('running', { startedAt });

    const argv = buildMigrateArgv({
      vmName,
      destinationUri: destinationUriFor({
        sourceExecutorKind: job.source.executorKind,
        destinationUri: job.destination.uri,
      }),
      options,
      migrateUri:
        job.destination.migrationAddress && !options.tunnelled
          ? `tcp://${job.destination.migrationAddress}`
          : undefined,
    });
    await emit({
      type: 'log',
      stream: 'ferry',
      text: `virsh -c ${job.source.displayUri} ${argv.join(' ').replace(job.destination.uri, job.destination.displayUri)}\n`,
    });

    const parser = createMigrateOutputParser();
    let lastPercent = -1;
    const onProgress = (events: ReturnType<typeof parser.pushStderr>, readAt: number) => {
      for (const event of events) {
        if (event.type === 'progress' && event.percent !== lastPercent) {
          lastPercent = event.percent;
          void emit({ type: 'progress', percent: event.percent, readAt });
          void db.migration
            .update({ where: { id: migrationId }, data: { percent: event.percent } })
            .catch(() => undefined);
        }
      }
    };

    migrateRunning = true;
    if (cancelRequested) requestAbort();
    // virsh can only suspend or switch to post-copy on --timeout; "abort" is Ferry's to enforce.
    const abortAfter = timeoutAbortAfterSeconds(options);
    let timedOut = false;
    const timeoutTimer =
      abortAfter === null
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            void emit({
              type: 'log',
              stream: 'ferry',
              text: `Timeout of ${abortAfter} s reached: aborting the migration.\n`,
            });
            requestAbort();
          }, abortAfter * 1000);
    let markStopped = () => {};
    const stopped = new Promise<void>((resolve) => (markStopped = resolve));
    const poller = pollJobInfo({
      job,
      intervalMs: deps.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
      isRunning: () => migrateRunning,
      stopped,
      onSample: (info) => {
        samples.push(info);
        if (samples.length > 40) samples.shift();
        const sample = toSample(info, samples);
        if (sample.bandwidthBps && sample.bandwidthBps > peakBandwidth) peakBandwidth = sample.bandwidthBps;
        void emit({ type: 'jobinfo', ...sample });
      },
    });

    let exitCode = 0;
    let transportError: string | null = null;
    try {
      await src.run(argv, {
        timeoutMs: MIGRATE_TIME_LIMIT_MS,
        onStderr: (chunk) => {
          transcript.push(chunk);
          onProgress(parser.pushStderr(chunk), Date.now());
        },
        onStdout: (chunk) => {
          transcript.push(chunk);
          onProgress(parser.pushStdout(chunk), Date.now());
        },
      });
    } catch (error) {
      if (error instanceof VirshError && error.kind === 'exit') exitCode = error.exitCode ?? 1;
      else {
        exitCode = -1;
        transportError = describeHostError(error).error;
      }
    } finally {
      migrateRunning = false;
      markStopped();
      clearTimeout(abortTimer);
      clearTimeout(timeoutTimer);
    }
    await poller;
    const outcome = parser.finish(exitCode);

    if (exitCode === 0) {
      const verification: string[] = [];
      const completedInfo = dst
        .run(buildCompletedJobInfoArgv(vmName), { timeoutMs: 10_000 })
        .then((result) => parseDomJobInfo(result.stdout))
        .catch(() => null);
      const [destinationState, sourceState] = await Promise.all([
        getDomainState({ executor: dst }, vmName),
        getDomainState({ executor: src }, vmName),
      ]);
      verification.push(`${job.destination.alias}: ${destinationState ?? 'no such domain'}`);
      verification.push(`${job.source.alias}: ${sourceState ?? 'no such domain'}`);
      const destinationOk =
        options.mode === 'live'
          ? destinationState === 'running' || destinationState === 'paused'
          : destinationState !== null;
      const sourceOk = options.undefineSource ? sourceState === null : sourceState !== 'running';
      if (!destinationOk || !sourceOk) {
        return await finish({
          state: 'failed',
          errorCode: 'verification',
          errorTitle: 'virsh reported success, but the hosts disagree',
          message: `After the migration: ${verification.join(', ')}.`,
          nextStep: 'Inspect both hosts with virsh before retrying; do not delete anything yet.',
          verification,
        });
      }
      const completed = await completedInfo;
      const last = samples[samples.length - 1];
      if (options.deleteSourceVolumes && options.storage !== 'shared' && facts) {
        for (const disk of facts.disks) {
          try {
            await deleteVolume({ executor: src }, disk.path);
            verification.push(`deleted ${disk.path} on ${job.source.alias}`);
            await db.$transaction((tx) =>
              recordAudit(tx, {
                actor: row.actor,
                action: 'volume.delete',
                hostAlias: job?.source.alias,
                vmName,
                migrationId,
                details: { path: disk.path, reason: 'source volume after successful migration' },
              }),
            );
          } catch (error) {
            verification.push(
              `could not delete ${disk.path} on ${job.source.alias}: ${describeHostError(error).error}`,
            );
          }
        }
      }
      return await finish(
        {
          state: 'succeeded',
          errorCode: null,
          errorTitle: null,
          message: `${vmName} runs on ${job.destination.alias}.`,
          nextStep: null,
          verification,
        },
        {
          memoryBytes: completed?.memory?.processedBytes ?? last?.memory?.processedBytes ?? null,
          // The destination's completed stats carry no disk counters; the source's last sample does (all of it was
          // sent).
          diskBytes: completed?.disk?.processedBytes ?? last?.disk?.totalBytes ?? null,
          downtimeMs: completed?.totalDowntimeMs ?? null,
        },
      );
    }

    // Failed or cancelled: find out where the VM is, and undo what this migration left on the destination.
    const classified =
      timedOut && !cancelRequested
        ? {
            code: 'timeout',
            title: 'The migration timed out',
            cause: `It did not finish within ${abortAfter} s, so Ferry aborted it.`,
            nextStep:
              'Raise the bandwidth limit or the timeout, or enable auto-converge or post-copy for a busy guest.',
            raw: outcome.errorMessage ?? '',
          }
        : transportError
          ? {
              code: 'transport',
              title: 'Ferry lost the connection to the source host',
              cause: transportError,
              nextStep: 'Check the source host, then look at both hosts before retrying.',
              raw: transportError,
            }
          : classifyVirshError(outcome.errorMessage ?? outcome.stderr);
    const wasCancelled = cancelRequested && (classified.code === 'aborted' || classified.code === 'unknown');
    const verification: string[] = [];
    const sourceState = await getDomainState({ executor: src }, vmName).catch(() => 'unknown (source unreachable)');
    const destinationState = await getDomainState({ executor: dst }, vmName).catch(
      () => 'unknown (destination unreachable)',
    );
    verification.push(`${job.source.alias}: ${sourceState ?? 'no such domain'}`);
    verification.push(`${job.destination.alias}: ${destinationState ?? 'no such domain'}`);
    if (destinationState === null && facts) {
      verification.push(...(await removeLeftovers({ db, job, facts, createdVolumes })));
    }
    return await finish({
      state: wasCancelled ? 'cancelled' : 'failed',
      errorCode: wasCancelled ? 'cancelled' : classified.code,
      errorTitle: wasCancelled ? 'Cancelled' : classified.title,
      message: wasCancelled
        ? `Cancelled; ${vmName} is ${sourceState ?? 'gone'} on ${job.source.alias}.`
        : `${classified.cause} ${vmName} is ${sourceState ?? 'not defined'} on ${job.source.alias}.`,
      nextStep: wasCancelled ? null : classified.nextStep,
      verification,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    transcript.push(`ferry: ${message}\n`);
    return await finish({
      state: 'failed',
      errorCode: 'internal',
      errorTitle: 'Ferry could not run the migration',
      message,
      nextStep: 'See the log below; the hosts were not changed by Ferry after this error.',
      verification: [],
    });
  } finally {
    clearInterval(heartbeat);
    clearTimeout(abortTimer);
    unsubscribe();
    await chain;
  }
}

async function pollJobInfo(options: {
  job: Job;
  intervalMs: number;
  isRunning: () => boolean;
  stopped: Promise<void>;
  onSample: (info: DomJobInfo) => void;
}) {
  while (options.isRunning()) {
    // The wait ends early when virsh exits, so the outcome is not held back by a sleeping poller.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise((resolve) => (timer = setTimeout(resolve, options.intervalMs))), options.stopped]);
    clearTimeout(timer);
    if (!options.isRunning()) break;
    try {
      const result = await options.job.src.run(buildJobInfoArgv(options.job.vmName), {
        timeoutMs: Math.max(2_000, options.intervalMs * 4),
      });
      const info = parseDomJobInfo(result.stdout);
      if (!info.isIdle) options.onSample(info);
    } catch {
      // domjobinfo fails in the instant the domain leaves the source; the exit code of virsh migrate decides.
    }
  }
}

/**
 * Disks that did not exist on the destination before this migration and exist now, while the VM is not
 * defined there, are leftovers of an aborted copy: delete them (and the ones Ferry pre-created).
 */
async function removeLeftovers(options: {
  db: Db;
  job: Job;
  facts: PreflightFacts;
  createdVolumes: string[];
}): Promise<string[]> {
  const { job, facts } = options;
  const notes: string[] = [];
  const dst = { executor: job.dst };
  for (const disk of facts.disks) {
    const ours = !disk.existsOnDestination || options.createdVolumes.includes(disk.path);
    if (!ours) continue;
    try {
      if (disk.pool) await job.dst.run(['pool-refresh', '--', disk.pool], { timeoutMs: 10_000 }).catch(() => undefined);
      if (!(await volumeExists(dst, disk.path))) continue;
      await deleteVolume(dst, disk.path);
      notes.push(`removed leftover ${disk.path} on ${job.destination.alias}`);
      await options.db.$transaction((tx) =>
        recordAudit(tx, {
          actor: job.actor,
          action: 'volume.delete',
          hostAlias: job.destination.alias,
          vmName: job.vmName,
          migrationId: job.id,
          details: { path: disk.path, reason: 'leftover of a migration that did not complete' },
        }),
      );
    } catch (error) {
      notes.push(`could not remove ${disk.path} on ${job.destination.alias}: ${describeHostError(error).error}`);
    }
  }
  return notes;
}
