import { guardRoute } from '@/server/auth/route-guard';
import { db } from '@/server/db';
import { publicHealth, readHealth } from '@/server/observability/health';

export const dynamic = 'force-dynamic';

/**
 * Health for load balancers and the test runner: no session, no Host check (probes often use an IP). 200 while
 * the database answers, 503 when it does not; the hosts' event streams are reported, not judged (a hypervisor
 * that is down does not make this Ferry unfit to serve). Without a session, only how many streams are up; with
 * one (or a signed request), each host by alias with its stream's state. Never a URI or an error text.
 */
export const GET = guardRoute({ access: 'public', requestCheck: 'none' }, async (_request, ctx) => {
  const health = await readHealth(db);
  const body = ctx.actor ? health : publicHealth(health);
  return Response.json(body, { status: health.ok ? 200 : 503, headers: { 'cache-control': 'no-store' } });
});
