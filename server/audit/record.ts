import { createHash } from 'node:crypto';
import type { Prisma } from '@prisma/client';

export type AuditResult = 'ok' | 'refused' | 'failed';

/** Who a change is recorded against: the signed-in actor and the address the request came from. */
export type AuditContext = { actor: string; clientAddress: string | null };

export type AuditInput = {
  actor: string;
  clientAddress?: string | null;
  action: string;
  result?: AuditResult;
  hostAlias?: string | null;
  vmName?: string | null;
  migrationId?: string | null;
  details?: Record<string, unknown>;
  at?: Date;
};

/** The columns the chain hash covers: every column but `id` and `hash` itself. */
export type AuditHashFields = {
  at: Date;
  actor: string;
  clientAddress: string | null;
  action: string;
  result: string;
  hostAlias: string | null;
  vmName: string | null;
  migrationId: string | null;
  details: string;
  prevHash: string;
};

/**
 * The chain hash of one audit row: SHA-256 over its content and the previous row's hash, so editing or
 * deleting any row behind Ferry's back breaks every hash after it.
 */
export function computeAuditHash(row: AuditHashFields): string {
  const canonical = JSON.stringify([
    row.at.toISOString(),
    row.actor,
    row.clientAddress,
    row.action,
    row.result,
    row.hostAlias,
    row.vmName,
    row.migrationId,
    row.details,
    row.prevHash,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** What SQLite said, when Prisma has filed it under another name (RAISE in a trigger reads "foreign key"). */
function driverMessage(error: unknown): string | null {
  if (typeof error !== 'object' || error === null || !('meta' in error)) return null;
  const meta = (error as { meta?: { driverAdapterError?: { cause?: { originalMessage?: unknown } } } }).meta;
  const message = meta?.driverAdapterError?.cause?.originalMessage;
  return typeof message === 'string' ? message : null;
}

/** Thrown when the database refuses an audit row; the change it describes rolls back with it. */
export class AuditWriteError extends Error {
  constructor(message: string, options: { cause: unknown }) {
    super(`Could not append the audit row: ${message}`, options);
    this.name = 'AuditWriteError';
  }
}

/**
 * Appends one audit row. Call it with the transaction client of the change it describes, so the change and
 * its audit row commit or roll back together.
 *
 * Reading the last hash and inserting are two statements, yet the chain cannot fork: the
 * "AuditEvent_chain_link" trigger re-checks prevHash inside the INSERT, under SQLite's write lock, and
 * refuses a row that does not follow the current last row (another process got there first). In this
 * process the adapter runs one transaction at a time on one connection, so that refusal is for writers
 * outside Ferry's server (scripts, a second instance).
 */
export async function recordAudit(tx: Prisma.TransactionClient, input: AuditInput) {
  const previous = await tx.auditEvent.findFirst({ orderBy: { id: 'desc' }, select: { hash: true } });
  const fields: AuditHashFields = {
    at: input.at ?? new Date(),
    actor: input.actor,
    clientAddress: input.clientAddress ?? null,
    action: input.action,
    result: input.result ?? 'ok',
    hostAlias: input.hostAlias ?? null,
    vmName: input.vmName ?? null,
    migrationId: input.migrationId ?? null,
    details: JSON.stringify(input.details ?? {}),
    prevHash: previous?.hash ?? '',
  };
  try {
    return await tx.auditEvent.create({ data: { ...fields, hash: computeAuditHash(fields) } });
  } catch (error) {
    const message = driverMessage(error);
    throw message ? new AuditWriteError(message, { cause: error }) : error;
  }
}
