import { guardRoute, ROUTE_ACCESS, type GuardedHandler } from '@/server/auth/route-guard';
import { db } from '@/server/db';
import { isScrapeToken, scrapeMetrics } from '@/server/observability/scrape';
import { observabilitySettings } from '@/server/observability/settings';

export const dynamic = 'force-dynamic';

async function metricsResponse(): Promise<Response> {
  const { contentType, body } = await scrapeMetrics(db);
  return new Response(body, { headers: { 'content-type': contentType, 'cache-control': 'no-store' } });
}

const forViewers = guardRoute({ access: 'viewer', requestCheck: 'download' }, () => metricsResponse());

/**
 * Prometheus text for a signed-in viewer (session cookie or signed request), or for a scraper that presents
 * FERRY_METRICS_TOKEN as `Authorization: Bearer …`. A wrong or unconfigured bearer token is refused outright
 * rather than falling back to the cookie. Also served at /metrics by Ferry's server (server/net/serve.ts).
 */
export const GET: GuardedHandler = Object.assign(
  async (request: Request) => {
    const authorization = request.headers.get('authorization');
    if (authorization === null) return forViewers(request);
    if (isScrapeToken(authorization, observabilitySettings().FERRY_METRICS_TOKEN)) return metricsResponse();
    return Response.json(
      { error: { message: 'Refused: that is not the metrics scrape token.' } },
      { status: 401, headers: { 'cache-control': 'no-store' } },
    );
  },
  { [ROUTE_ACCESS]: 'viewer' as const },
);
