import { guardRoute } from '../auth/route-guard';
import { sseResponse } from '../events/sse-response';
import { lastEventIdInput } from '../migrations/events';
import { pushEvacuationEvents } from './events';

export const EVENTS_PATH = /^\/api\/evacuations\/([^/]{1,192})\/events$/;

function refuse(status: number, message: string): Response {
  return Response.json({ error: { message } }, { status, headers: { 'cache-control': 'no-store' } });
}

/**
 * GET /api/evacuations/<id>/events: what `evacuation.events` carries, as a plain SSE stream whose messages are
 * encoded once for every page watching (server/events/sse-response.ts). The page's bars follow this one; the tRPC
 * subscription stays for API clients. A reconnect sends Last-Event-ID and gets what it missed.
 */
export const evacuationEventsRoute = guardRoute({ access: 'viewer', requestCheck: 'api' }, async (request, ctx) => {
  const match = EVENTS_PATH.exec(new URL(request.url).pathname);
  let evacuationId: string | null = null;
  try {
    evacuationId = match ? decodeURIComponent(match[1] as string) : null;
  } catch {
    evacuationId = null;
  }
  if (evacuationId === null || evacuationId.length > 64) return refuse(404, 'No such evacuation.');
  // The same rule as the tRPC subscription's input; no header (or an empty one) is a fresh stream.
  const lastEventId = lastEventIdInput.safeParse(request.headers.get('last-event-id') || null);
  if (!lastEventId.success) return refuse(400, 'Last-Event-ID must be the number of an event this stream sent.');
  const afterId = lastEventId.data;
  const exists = await ctx.db.evacuation.findUnique({ where: { id: evacuationId }, select: { id: true } });
  if (!exists) return refuse(404, 'No such evacuation.');
  const id = evacuationId;
  return sseResponse(
    (signal, deliver) => pushEvacuationEvents({ db: ctx.db, bus: ctx.bus, evacuationId: id, afterId, signal }, deliver),
    request.signal,
  );
});
