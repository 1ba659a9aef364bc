import { guardRoute } from '@/server/auth/route-guard';
import { signedApiDescription } from '@/server/signed-api/description';

export const dynamic = 'force-dynamic';

/**
 * What a client needs before it can sign: the SSHSIG namespace of this deployment, the allowed clock skew and
 * the server's clock. Public (nothing in it is secret, and the CLI asks before it has proven anything).
 */
export const GET = guardRoute({ access: 'public', requestCheck: 'download' }, () =>
  Response.json(signedApiDescription(), { headers: { 'cache-control': 'no-store' } }),
);
