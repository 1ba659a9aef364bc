import type { Db } from '../db';
import { recordAudit } from '../audit/record';
import type { EventBus } from '../events/bus';
import { observeMigrationEnd, type MigrationEndSample } from '../observability/metrics';
import { appendMigrationEvent } from './events';
import { ACTIVE_STATES, type MigrationResultSummary, type MigrationState } from './types';

/** What the run measured; absent for a migration that never started copying (or that Ferry lost track of). */
export type RunTotals = {
  memoryBytes: number | null;
  diskBytes: number | null;
  downtimeMs: number | null;
  peakBandwidthBps: number | null;
};

/** How a migration ended: the summary the page shows, plus what the run measured. */
export type Ending = { summary: MigrationResultSummary; totals?: RunTotals };

export type FinalStateInput = {
  migrationId: string;
  ending: Ending;
  /**
   * Who the audit row names: by default the person who started the migration; 'system' when Ferry closes a job
   * it found orphaned after a restart.
   */
  actor?: string;
  /** Everything virsh printed, in order (the runner's transcript); the reconciler has none. */
  output?: string;
  /** Extra audit details, e.g. why a reconciler closed the job. */
  auditDetails?: Record<string, unknown>;
  /** Close the row only from these states (default: any active one); a queued job's cancel passes ['queued']. */
  fromStates?: readonly MigrationState[];
  now?: Date;
};

const bigint = (value: number | null | undefined) => (value != null && value > 0 ? BigInt(Math.round(value)) : null);

/**
 * The one place a migration reaches a final state (succeeded, failed, cancelled, unknown; an interrupted job is
 * failed with errorCode 'interrupted'), for the runner and the restart reconciler alike. In one transaction it closes
 * the row, only if it is still active (so two closers cannot both win), and appends the audit row; then it
 * publishes the result and the final state. This is the hook for anything that must see every ending (metrics).
 * Returns false when the row was already closed, and then writes nothing.
 */
export async function recordFinalState(deps: { db: Db; bus: EventBus }, input: FinalStateInput): Promise<boolean> {
  const { summary, totals } = input.ending;
  const endedAt = input.now ?? new Date();
  const fromStates = input.fromStates ?? ACTIVE_STATES;
  let sample: MigrationEndSample | null = null;
  // Read with the row, so the two events below are written without reading it again.
  let evacuationId: string | null = null;
  const closed = await deps.db.$transaction(async (tx) => {
    const row = await tx.migration.findUnique({ where: { id: input.migrationId } });
    if (!row || !(fromStates as readonly string[]).includes(row.state)) return false;
    evacuationId = row.evacuationId;
    const durationMs = Math.max(0, endedAt.getTime() - (row.startedAt ?? row.createdAt).getTime());
    const copied = (totals?.memoryBytes ?? 0) + (totals?.diskBytes ?? 0);
    const output = input.output ?? row.output;
    const result = await tx.migration.updateMany({
      where: { id: input.migrationId, state: { in: [...fromStates] } },
      data: {
        state: summary.state,
        endedAt,
        durationMs,
        memoryBytes: totals ? bigint(totals.memoryBytes) : undefined,
        diskBytes: totals ? bigint(totals.diskBytes) : undefined,
        avgBandwidthBps: copied > 0 && durationMs > 0 ? bigint((copied * 1000) / durationMs) : undefined,
        peakBandwidthBps: totals ? bigint(totals.peakBandwidthBps) : undefined,
        downtimeMs: totals?.downtimeMs ?? undefined,
        errorCode: summary.errorCode,
        errorMessage: summary.message,
        rawError:
          summary.state === 'succeeded' ? null : (output.match(/error: [^\n]*/g)?.join('\n') ?? summary.message),
        output,
        heartbeatAt: endedAt,
        percent: summary.state === 'succeeded' ? 100 : undefined,
      },
    });
    if (result.count === 0) return false;
    sample = {
      result: summary.state,
      mode: migrationMode(row.options),
      durationMs,
      downtimeMs: totals?.downtimeMs ?? null,
      memoryBytes: totals?.memoryBytes ?? null,
      diskBytes: totals?.diskBytes ?? null,
    };
    await recordAudit(tx, {
      actor: input.actor ?? row.actor,
      action: `migration.${summary.state}`,
      // An unknown ending is not known to be ok; the audit row must not read as a success.
      result: summary.state === 'failed' || summary.state === 'unknown' ? 'failed' : 'ok',
      hostAlias: row.sourceAlias,
      vmName: row.vmName,
      migrationId: row.id,
      details: {
        destination: row.destinationAlias,
        durationMs,
        errorCode: summary.errorCode,
        message: summary.message,
        verification: summary.verification,
        ...input.auditDetails,
      },
    });
    return true;
  });
  if (!closed) return false;
  if (sample) observeMigrationEnd(sample);
  await appendMigrationEvent({
    ...deps,
    migrationId: input.migrationId,
    evacuationId,
    payload: { type: 'result', ...summary },
  });
  await appendMigrationEvent({
    ...deps,
    migrationId: input.migrationId,
    evacuationId,
    payload: { type: 'state', state: summary.state },
  });
  return true;
}

/** The metrics' `mode` label from the stored options JSON: live or offline (live is the default), never free text. */
function migrationMode(options: string): string {
  try {
    const mode = (JSON.parse(options) as { mode?: unknown }).mode;
    return mode === 'offline' ? 'offline' : 'live';
  } catch {
    return 'unknown';
  }
}
