import { guardRoute } from '@/server/auth/route-guard';
import { db } from '@/server/db';

export const dynamic = 'force-dynamic';

/** Liveness for load balancers and the test runner: no session, no Host check (probes often use an IP). */
export const GET = guardRoute({ access: 'public', requestCheck: 'none' }, async () => {
  await db.$queryRaw`SELECT 1`;
  return Response.json({ ok: true });
});
