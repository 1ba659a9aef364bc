import { z } from 'zod';
import { guardRoute } from '@/server/auth/route-guard';
import { PASSWORD_MAX_LENGTH } from '@/server/auth/password';
import { isSecureRequest, sessionCookie } from '@/server/auth/session';
import { signIn } from '@/server/auth/sign-in';

export const dynamic = 'force-dynamic';

const bodySchema = z.object({
  name: z.string().max(200),
  password: z.string().max(PASSWORD_MAX_LENGTH + 1),
});

/** POST {name, password} as JSON from the sign-in page; sets the session cookie. */
export const POST = guardRoute({ access: 'public', requestCheck: 'api' }, async (request, ctx) => {
  const body = bodySchema.safeParse(await request.json().catch(() => null));
  if (!body.success) return Response.json({ error: { message: 'Send a name and a password.' } }, { status: 400 });
  const outcome = await signIn({
    db: ctx.db,
    name: body.data.name,
    password: body.data.password,
    clientAddress: ctx.clientAddress,
    userAgent: ctx.userAgent,
  });
  if (!outcome.ok) return Response.json({ error: { message: outcome.message } }, { status: outcome.status });
  const cookie = sessionCookie({
    token: outcome.token,
    isSecure: isSecureRequest(request),
    maxAgeSeconds: (outcome.expiresAt.getTime() - Date.now()) / 1000,
  });
  return Response.json({ user: outcome.user }, { headers: { 'set-cookie': cookie, 'cache-control': 'no-store' } });
});
