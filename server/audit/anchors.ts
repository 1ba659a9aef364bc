import type { Db } from '../db';
import { logger } from '../observability/logger';
import { observabilitySettings } from '../observability/settings';

/**
 * Audit anchors: the chain head (newest row id + its hash) written to the log, which a shipper carries off the
 * box. The hash chain alone cannot see its tail cut (delete the last rows, rewind sqlite_sequence) or every row
 * re-hashed consistently by someone with the SQLite file; an anchor kept elsewhere can: the anchored row must
 * still exist with the same hash. Written every FERRY_AUDIT_ANCHOR_INTERVAL_MS and after every admin action.
 *
 * The log line (JSON, one per anchor):
 * `{"level":"info",…,"event":"audit.anchor","reason":"interval","anchor":{"id":42,"hash":"9f2c…"},"msg":"…"}`
 */
export const ANCHOR_EVENT = 'audit.anchor';

export type AuditAnchor = { id: number; hash: string; at?: string };
export type AnchorReason = 'startup' | 'interval' | 'admin-action';

export async function readChainHead(db: Db): Promise<AuditAnchor | null> {
  return db.auditEvent.findFirst({ orderBy: { id: 'desc' }, select: { id: true, hash: true } });
}

/** Writes the current chain head as an anchor line; an empty log has no head and writes nothing. */
export async function writeAnchor(db: Db, reason: AnchorReason): Promise<AuditAnchor | null> {
  const head = await readChainHead(db);
  if (!head) return null;
  logger().info(
    { event: ANCHOR_EVENT, reason, anchor: { id: head.id, hash: head.hash } },
    `audit anchor ${head.id}:${head.hash}`,
  );
  return head;
}

/** After an admin action committed (its audit row is in): anchor it. Never fails the action itself. */
export function anchorAfterAdminAction(db: Db): void {
  writeAnchor(db, 'admin-action').catch((error: unknown) =>
    logger().error({ event: 'audit.anchor-failed', err: error }, 'could not write an audit anchor'),
  );
}

/** Anchors at start, then every interval; returns the stop function. The timer never keeps the process alive. */
export function startAuditAnchors(options: { db: Db; intervalMs?: number }): () => void {
  const intervalMs = options.intervalMs ?? observabilitySettings().FERRY_AUDIT_ANCHOR_INTERVAL_MS;
  const write = (reason: AnchorReason) =>
    writeAnchor(options.db, reason).catch((error: unknown) =>
      logger().error({ event: 'audit.anchor-failed', err: error }, 'could not write an audit anchor'),
    );
  void write('startup');
  const timer = setInterval(() => void write('interval'), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

const HASH = /^[0-9a-f]{64}$/;

/**
 * The anchors in a shipped log: JSON lines whose event is audit.anchor. Anything else (other records, pretty
 * output, a shipper's own prefix-free noise, a cut-off last line) is skipped, not an error.
 */
export function parseAnchorLog(text: string): AuditAnchor[] {
  const anchors: AuditAnchor[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed.startsWith('{') || !trimmed.includes(ANCHOR_EVENT)) continue;
    let record: unknown;
    try {
      record = JSON.parse(trimmed);
    } catch {
      continue;
    }
    if (typeof record !== 'object' || record === null) continue;
    const { event, anchor, time } = record as { event?: unknown; anchor?: unknown; time?: unknown };
    if (event !== ANCHOR_EVENT || typeof anchor !== 'object' || anchor === null) continue;
    const { id, hash } = anchor as { id?: unknown; hash?: unknown };
    if (!Number.isSafeInteger(id) || (id as number) < 1 || typeof hash !== 'string' || !HASH.test(hash)) continue;
    anchors.push({ id: id as number, hash, ...(typeof time === 'string' ? { at: time } : {}) });
  }
  return anchors;
}

export type AnchorFailure = {
  /** The anchored row that is missing or no longer has the anchored hash. */
  id: number;
  reason: 'missing' | 'hash-changed';
  anchor: AuditAnchor;
  /** The newest anchored row before it that still matches: the rewrite or cut happened after that row. */
  lastGoodId: number | null;
  message: string;
};

export type AnchorReport = { checked: number; firstFailure: AnchorFailure | null };

/**
 * Checks the database against every anchor, in id order, and names the first anchored row that is missing (the
 * tail was cut) or whose hash changed (the chain was rewritten from that row or before). Several anchors of one
 * row (the same head written every interval) are all checked: a forger cannot pick which one to satisfy.
 */
export async function verifyAnchors(db: Db, anchors: readonly AuditAnchor[]): Promise<AnchorReport> {
  const sorted = [...anchors].sort((a, b) => a.id - b.id);
  const ids = [...new Set(sorted.map((anchor) => anchor.id))];
  const rows = new Map<number, string>();
  for (let start = 0; start < ids.length; start += 500) {
    const found = await db.auditEvent.findMany({
      where: { id: { in: ids.slice(start, start + 500) } },
      select: { id: true, hash: true },
    });
    for (const row of found) rows.set(row.id, row.hash);
  }
  let lastGoodId: number | null = null;
  for (const anchor of sorted) {
    const hash = rows.get(anchor.id);
    const when = anchor.at ? ` (anchored ${anchor.at})` : '';
    const after = lastGoodId === null ? '' : `; row ${lastGoodId} still matches its anchor`;
    if (hash === undefined) {
      return {
        checked: sorted.length,
        firstFailure: {
          id: anchor.id,
          reason: 'missing',
          anchor,
          lastGoodId,
          message: `Row ${anchor.id}${when} is missing: the audit log was cut back after it was anchored${after}.`,
        },
      };
    }
    if (hash !== anchor.hash) {
      return {
        checked: sorted.length,
        firstFailure: {
          id: anchor.id,
          reason: 'hash-changed',
          anchor,
          lastGoodId,
          message:
            `Row ${anchor.id}${when} no longer matches its anchor: its hash is ${hash}, the anchor says ` +
            `${anchor.hash}. The chain was rewritten at or before row ${anchor.id}${after}.`,
        },
      };
    }
    lastGoodId = anchor.id;
  }
  return { checked: sorted.length, firstFailure: null };
}
