import { createHash, timingSafeEqual } from 'node:crypto';
import type { Db } from '../db';
import { SLOT_STATES } from '../migrations/types';
import { readEventStreams } from './event-streams';
import { renderMetrics } from './metrics';

/** The shared state /metrics reports, read at scrape time: the same answer from every replica. */
export async function scrapeMetrics(db: Db): Promise<{ contentType: string; body: string }> {
  const [inProgress, queued, head] = await Promise.all([
    db.migration.count({ where: { state: { in: [...SLOT_STATES] } } }),
    db.migration.count({ where: { state: 'queued' } }),
    db.auditEvent.findFirst({ orderBy: { id: 'desc' }, select: { id: true, hash: true } }),
  ]);
  return renderMetrics({ inProgress, queued, eventStreams: readEventStreams(), auditHead: head });
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * Whether an `Authorization: Bearer …` header carries the configured scrape token. Both sides are hashed first so
 * the comparison takes the same time whatever the length or the first differing byte.
 */
export function isScrapeToken(authorization: string | null, token: string): boolean {
  if (token === '' || authorization === null) return false;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!match) return false;
  return timingSafeEqual(digest(match[1] ?? ''), digest(token));
}
