import { guardRoute } from '@/server/auth/route-guard';
import { auditExportResponse } from '@/server/audit/export';

export const dynamic = 'force-dynamic';

/** GET /api/audit/export?format=csv|jsonl&<the audit page's filter>: streamed, one keyset batch at a time. */
export const GET = guardRoute({ access: 'viewer', requestCheck: 'download' }, (request, ctx) =>
  auditExportResponse({
    db: ctx.db,
    url: new URL(request.url),
    actor: ctx.actor.name,
    clientAddress: ctx.clientAddress,
  }),
);
