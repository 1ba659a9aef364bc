import { evacuationEventsRoute } from '@/server/evacuation/events-route';

export const dynamic = 'force-dynamic';

/** GET /api/evacuations/<id>/events: the evacuation page's event stream (SSE, Last-Event-ID resumes). */
export const GET = evacuationEventsRoute;
