import { createHash } from 'node:crypto';
import type { Prisma } from '@prisma/client';

export type AuditResult = 'ok' | 'refused' | 'failed';

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

type AuditHashFields = {
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

/**
 * Appends one audit row. Call it with the transaction client of the change it describes, so the change and
 * its audit row commit or roll back together.
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
  return tx.auditEvent.create({ data: { ...fields, hash: computeAuditHash(fields) } });
}
