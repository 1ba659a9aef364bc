import { createContextFromRequest } from '@/server/api/trpc';
import { auditExportResponse } from '@/server/audit/export';

export const dynamic = 'force-dynamic';

/** GET /api/audit/export?format=csv|jsonl&<the audit page's filter>: streamed, one keyset batch at a time. */
export function GET(request: Request) {
  const ctx = createContextFromRequest(request);
  return auditExportResponse({
    db: ctx.db,
    url: new URL(request.url),
    actor: ctx.actor.name,
    clientAddress: ctx.clientAddress,
  });
}
