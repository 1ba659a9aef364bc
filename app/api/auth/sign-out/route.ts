import { guardRoute } from '@/server/auth/route-guard';
import { signOut } from '@/server/auth/sign-out';
import { clearSessionCookie, isSecureRequest } from '@/server/auth/session';

export const dynamic = 'force-dynamic';

/** POST from the user menu: ends this browser's session (the row goes) and clears the cookie. */
export const POST = guardRoute({ access: 'public', requestCheck: 'api' }, async (request, ctx) => {
  await signOut(ctx);
  return Response.json(
    { ok: true },
    {
      headers: {
        'set-cookie': clearSessionCookie({ isSecure: isSecureRequest(request) }),
        'cache-control': 'no-store',
      },
    },
  );
});
