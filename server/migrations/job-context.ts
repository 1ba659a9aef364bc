import type { Db } from '../db';
import { recordAudit, type AuditInput } from '../audit/record';
import type { EventBus } from '../events/bus';
import { appendMigrationEvent } from './events';
import { recordFinalState, type Ending } from './final-state';
import { migrationControlChannel, type MigrationEventPayload, type MigrationState } from './types';
import { logJobError } from '../observability/logger';

const HEARTBEAT_MS = 5_000;

/** A cancel that can arrive at any time, from any request; the run phase turns it into domjobabort. */
export type CancelSwitch = {
  readonly requested: boolean;
  /** Calls `listener` on the next cancel (at once if one already came). Returns a function that stops listening. */
  onRequest(listener: () => void): () => void;
};

/**
 * What every phase of one migration shares: its events (persisted in order, then published), its cancel switch,
 * the virsh transcript, and the final-state writer. Opened once per run, closed in the runner's `finally`.
 */
export type JobContext = {
  db: Db;
  bus: EventBus;
  migrationId: string;
  cancel: CancelSwitch;
  /** Everything virsh printed, in order; stored on the row when the job ends. */
  transcript: string[];
  /** Appends an event after every earlier one (progress callbacks fire faster than SQLite writes). */
  emit(payload: MigrationEventPayload): Promise<void>;
  setState(state: MigrationState, data?: Record<string, unknown>): Promise<void>;
  /** An audit row for something this migration did to a host (a volume created or deleted). */
  audit(entry: Omit<AuditInput, 'actor' | 'migrationId'>): Promise<void>;
  finish(ending: Ending): Promise<MigrationState>;
  close(): Promise<void>;
};

export function openJobContext(options: {
  db: Db;
  bus: EventBus;
  migrationId: string;
  actor: string;
  cancelled: boolean;
  /** The job's evacuation (null: none); read with each event when not given. */
  evacuationId?: string | null;
}): JobContext {
  const { db, bus, migrationId, evacuationId } = options;
  let chain: Promise<unknown> = Promise.resolve();
  const emit = (payload: MigrationEventPayload) => {
    chain = chain
      .then(() => appendMigrationEvent({ db, bus, migrationId, payload, evacuationId }))
      .catch((error: unknown) => logJobError({ migrationId, what: 'event write failed', error }));
    return chain.then(() => undefined);
  };
  const cancel = createCancelSwitch(options.cancelled);
  const unsubscribe = bus.subscribe(migrationControlChannel(migrationId), (message) => {
    if (message.action === 'cancel') cancel.request();
  });
  const heartbeat = setInterval(() => {
    db.migration.update({ where: { id: migrationId }, data: { heartbeatAt: new Date() } }).catch(() => undefined);
  }, HEARTBEAT_MS);
  const transcript: string[] = [];

  return {
    db,
    bus,
    migrationId,
    cancel,
    transcript,
    emit,
    async setState(state, data = {}) {
      await db.migration.update({ where: { id: migrationId }, data: { state, ...data } });
      await emit({ type: 'state', state });
    },
    async audit(entry) {
      await db.$transaction((tx) => recordAudit(tx, { ...entry, actor: options.actor, migrationId }));
    },
    async finish(ending) {
      await chain;
      await recordFinalState({ db, bus }, { migrationId, ending, output: transcript.join('') });
      return ending.summary.state;
    },
    async close() {
      clearInterval(heartbeat);
      unsubscribe();
      await chain;
    },
  };
}

function createCancelSwitch(initially: boolean): CancelSwitch & { request(): void } {
  let requested = initially;
  const listeners = new Set<() => void>();
  return {
    get requested() {
      return requested;
    },
    request() {
      requested = true;
      for (const listener of [...listeners]) listener();
    },
    onRequest(listener) {
      if (requested) listener();
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
