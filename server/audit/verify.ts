import { Prisma } from '@prisma/client';
import type { Db } from '../db';
import type { AuditRow } from './query';
import { computeAuditHash } from './record';

export type ChainBreakReason = 'content-changed' | 'link-broken' | 'rows-missing';

export type ChainBreak = {
  /** The first row that does not check out (for missing rows at the end: the first missing id). */
  id: number;
  reason: ChainBreakReason;
  message: string;
  /** Ids that should exist and do not (deleted rows), when that is what the break looks like. */
  missingIds: { from: number; to: number } | null;
};

export type ChainReport = {
  ok: boolean;
  /** Rows whose link and hash were checked (up to the break). */
  checked: number;
  firstId: number | null;
  lastId: number | null;
  firstBreak: ChainBreak | null;
  durationMs: number;
};

type ChainRow = AuditRow;

export const VERIFY_BATCH_SIZE = 5000;

/**
 * Walks the audit chain in id order, a batch at a time (a million rows never sit in memory), and reports the
 * first row that breaks it: a row whose content no longer matches its hash (edited), or whose prevHash is not
 * the hash of the row before it (a row removed or inserted). AUTOINCREMENT ids are never reused and a rolled
 * back insert also rolls back the id counter, so a gap in ids means deleted rows; rows deleted from the end
 * show as the counter running ahead of the last id.
 *
 * What it cannot see: someone who rewrites a row and every hash after it, and the id counter. That needs
 * the latest hash kept somewhere the database's writer cannot reach (printed by `npm run audit:verify`).
 */
export async function verifyAuditChain(db: Db, options: { batchSize?: number } = {}): Promise<ChainReport> {
  const started = performance.now();
  const batchSize = options.batchSize ?? VERIFY_BATCH_SIZE;
  let previous: { id: number; hash: string } | null = null;
  let firstId: number | null = null;
  let checked = 0;

  const finish = (firstBreak: ChainBreak | null): ChainReport => ({
    ok: firstBreak === null,
    checked,
    firstId,
    lastId: previous?.id ?? null,
    firstBreak,
    durationMs: performance.now() - started,
  });

  for (;;) {
    const afterId: number = previous?.id ?? 0;
    const rows = await db.$queryRaw<ChainRow[]>(Prisma.sql`
      SELECT "id", "at", "actor", "clientAddress", "action", "result", "hostAlias", "vmName", "migrationId", "details", "prevHash", "hash"
      FROM "AuditEvent" WHERE "id" > ${afterId} ORDER BY "id" LIMIT ${batchSize}`);
    for (const row of rows) {
      const expectedPrev = previous?.hash ?? '';
      const expectedId = (previous?.id ?? 0) + 1;
      firstId ??= row.id;
      if (row.prevHash !== expectedPrev) {
        const missing = row.id > expectedId ? { from: expectedId, to: row.id - 1 } : null;
        return finish({
          id: row.id,
          reason: missing ? 'rows-missing' : 'link-broken',
          missingIds: missing,
          message: missing
            ? `Row ${row.id} does not follow row ${previous?.id ?? '(start)'}: ${describeRange(missing)} missing (deleted).`
            : `Row ${row.id}: its prevHash is not the hash of row ${previous?.id ?? '(start)'}; a row was replaced or inserted.`,
        });
      }
      if (computeAuditHash(row) !== row.hash) {
        return finish({
          id: row.id,
          reason: 'content-changed',
          missingIds: null,
          message: `Row ${row.id} (${row.action} by ${row.actor}) was changed after it was written: its content no longer matches its hash.`,
        });
      }
      previous = { id: row.id, hash: row.hash };
      checked++;
    }
    if (rows.length < batchSize) break;
  }

  const sequence = await db.$queryRaw<{ seq: number | bigint }[]>(
    Prisma.sql`SELECT "seq" FROM "sqlite_sequence" WHERE "name" = 'AuditEvent'`,
  );
  const issued = Number(sequence[0]?.seq ?? 0);
  const lastId = previous?.id ?? 0;
  if (issued > lastId) {
    const missing = { from: lastId + 1, to: issued };
    return finish({
      id: missing.from,
      reason: 'rows-missing',
      missingIds: missing,
      message: `The newest ${describeRange(missing)} missing: ids up to ${issued} were issued, the log ends at ${lastId || 'nothing'}.`,
    });
  }
  return finish(null);
}

function describeRange(range: { from: number; to: number }): string {
  return range.from === range.to ? `row ${range.from} is` : `rows ${range.from}–${range.to} are`;
}
