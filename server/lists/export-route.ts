import { createContextFromRequest } from '../api/trpc';
import type { Db } from '../db';

/**
 * The GET handler of a list's export route: the request's actor and address (the same context tRPC builds)
 * go to the export, which logs them; the response streams one keyset batch at a time.
 */
export function exportRoute(
  respond: (options: { db: Db; url: URL; actor: string; clientAddress: string | null }) => Promise<Response>,
) {
  return (request: Request): Promise<Response> => {
    const ctx = createContextFromRequest(request);
    return respond({
      db: ctx.db,
      url: new URL(request.url),
      actor: ctx.actor.name,
      clientAddress: ctx.clientAddress,
    });
  };
}
