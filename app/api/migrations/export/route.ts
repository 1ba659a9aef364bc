import { guardRoute } from '@/server/auth/route-guard';
import { historyExportResponse } from '@/server/history/export';

export const dynamic = 'force-dynamic';

/** GET /api/migrations/export?format=csv|jsonl&<the history page's filter>: streamed, one keyset batch at a time. */
export const GET = guardRoute({ access: 'viewer', requestCheck: 'download' }, (request, ctx) =>
  historyExportResponse({
    db: ctx.db,
    url: new URL(request.url),
    actor: ctx.actor.name,
    clientAddress: ctx.clientAddress,
  }),
);
