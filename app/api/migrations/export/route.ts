import { createContextFromRequest } from '@/server/api/trpc';
import { historyExportResponse } from '@/server/history/export';

export const dynamic = 'force-dynamic';

/** GET /api/migrations/export?format=csv|jsonl&<the history page's filter>: streamed, one keyset batch at a time. */
export function GET(request: Request) {
  const ctx = createContextFromRequest(request);
  return historyExportResponse({
    db: ctx.db,
    url: new URL(request.url),
    actor: ctx.actor.name,
    clientAddress: ctx.clientAddress,
  });
}
