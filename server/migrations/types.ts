export const MIGRATION_STATES = [
  'queued',
  'preflight',
  'running',
  'cancelling',
  'succeeded',
  'failed',
  'cancelled',
  'unknown',
] as const;
export type MigrationState = (typeof MIGRATION_STATES)[number];

export const ACTIVE_STATES: readonly MigrationState[] = ['queued', 'preflight', 'running', 'cancelling'];
/**
 * The states of a job that holds a slot of its hosts' limits: claimed from the queue and not ended. A queued job
 * holds none, and no process owns it yet (restart recovery leaves it to the scheduler). Within these states, a job
 * whose copy has ended (`transferEndedAt` set, it only verifies) holds no slot either (scheduler.ts).
 */
export const SLOT_STATES: readonly MigrationState[] = ['preflight', 'running', 'cancelling'];
/**
 * `unknown`: Ferry lost the job (a restart) and the hosts' answers did not establish how it ended; the result says
 * what each host said. Never a guess dressed up as succeeded or failed.
 */
export const FINAL_STATES: readonly MigrationState[] = ['succeeded', 'failed', 'cancelled', 'unknown'];

export function isFinalState(state: string): boolean {
  return (FINAL_STATES as readonly string[]).includes(state);
}

export type CheckStatus = 'pass' | 'warn' | 'fail';

export type PreflightCheck = {
  id: string;
  label: string;
  status: CheckStatus;
  reason: string;
};

export type JobSample = {
  phase: string;
  elapsedMs: number | null;
  dataProcessedBytes: number | null;
  dataRemainingBytes: number | null;
  dataTotalBytes: number | null;
  memoryProcessedBytes: number | null;
  memoryRemainingBytes: number | null;
  memoryTotalBytes: number | null;
  diskProcessedBytes: number | null;
  diskRemainingBytes: number | null;
  diskTotalBytes: number | null;
  bandwidthBps: number | null;
  dirtyRateBps: number | null;
  iteration: number | null;
  etaSeconds: number | null;
};

export type MigrationResultSummary = {
  state: 'succeeded' | 'failed' | 'cancelled' | 'unknown';
  errorCode: string | null;
  errorTitle: string | null;
  message: string | null;
  nextStep: string | null;
  verification: string[];
};

/** What is persisted as MigrationEvent rows and streamed to browsers. */
export type MigrationEventPayload =
  | { type: 'state'; state: MigrationState; message?: string }
  /** `readAt`: epoch ms when the server read the chunk from virsh (for the progress latency benchmark). */
  | { type: 'progress'; percent: number; readAt: number }
  | ({ type: 'jobinfo' } & JobSample)
  | { type: 'log'; stream: 'stdout' | 'stderr' | 'ferry'; text: string }
  | { type: 'checklist'; checks: PreflightCheck[] }
  | ({ type: 'result' } & MigrationResultSummary);

export type MigrationEvent = MigrationEventPayload & { id: number; migrationId: string; at: string };

export type MigrationControlMessage = { action: 'cancel' };

export type MigrationsChange = { migrationId: string; type: 'state' | 'result' };

export function migrationChannel(id: string): `migration:${string}` {
  return `migration:${id}`;
}

export function evacuationEventsChannel(evacuationId: string): `evacuation-events:${string}` {
  return `evacuation-events:${evacuationId}`;
}

export function migrationControlChannel(id: string): `migration-control:${string}` {
  return `migration-control:${id}`;
}

/** Any migration's state change, for lists that want to refresh. */
export const MIGRATIONS_CHANNEL = 'migrations' as const;
