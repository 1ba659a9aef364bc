import { guardRoute } from '@/server/auth/route-guard';
import { db } from '@/server/db';
import { readHealth } from '@/server/observability/health';

export const dynamic = 'force-dynamic';

/**
 * Health for load balancers and the test runner: no session, no Host check (probes often use an IP). 200 while
 * the database answers, 503 when it does not; each host's event stream is reported, not judged (a hypervisor
 * that is down does not make this Ferry unfit to serve). Host aliases and states only: no URI, no error text.
 */
export const GET = guardRoute({ access: 'public', requestCheck: 'none' }, async () => {
  const health = await readHealth(db);
  return Response.json(health, { status: health.ok ? 200 : 503, headers: { 'cache-control': 'no-store' } });
});
