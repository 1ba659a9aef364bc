import { guardRoute } from '../auth/route-guard';
import type { Db } from '../db';

/**
 * The GET handler of a list's export route, for viewers and up: the signed-in actor and the request's address
 * (the same context tRPC builds) go to the export, which logs them; the response streams one keyset batch at a
 * time. A plain link cannot send the API's custom header, so only the Host is checked (the session cookie is
 * SameSite=Strict).
 */
export function exportRoute(
  respond: (options: { db: Db; url: URL; actor: string; clientAddress: string | null }) => Promise<Response>,
) {
  return guardRoute({ access: 'viewer', requestCheck: 'download' }, (request, ctx) =>
    respond({
      db: ctx.db,
      url: new URL(request.url),
      actor: ctx.actor.name,
      clientAddress: ctx.clientAddress,
    }),
  );
}
