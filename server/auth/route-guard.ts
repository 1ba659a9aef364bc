import { createContextFromRequest, createContextInner, type Context, type RequestContext } from '../api/trpc';
import { db } from '../db';
import { clientAddressFromHeaders } from '../net/edge-headers';
import { authenticateSignedRequest, hasSignatureHeaders } from '../signed-api/authenticate';
import { auditAccessRefusal } from './refusal';
import { checkApiRequest, checkHost, originPolicyFromEnv, type OriginPolicy } from './request-checks';
import { hasRole, missingRoleMessage, type Access, type Role } from './roles';
import { readSessionToken } from './session';

/**
 * What a route handler declares: a role, `public`, or `procedures` for the tRPC endpoint, whose procedures
 * each declare their own. The unit test in route-access.test.ts fails for any handler without one.
 */
export type RouteAccess = Access | 'procedures';

export type GuardOptions = {
  access: RouteAccess;
  /**
   * `api`: Host, Origin/Sec-Fetch-Site and the custom header are checked (tRPC, sign-in, sign-out).
   * `download`: Host only: a plain link (an export) cannot send a header, and the Strict session cookie
   * already keeps other sites' pages from using it. `none`: health, for load balancers that use an IP.
   */
  requestCheck: 'api' | 'download' | 'none';
};

/** A handler behind a role gets a context with its actor; a public one may have none. */
type Handler<A extends RouteAccess> = (
  request: Request,
  ctx: A extends Role ? Context : RequestContext,
) => Response | Promise<Response>;

export const ROUTE_ACCESS = Symbol.for('ferry.routeAccess');

export type GuardedHandler = ((request: Request) => Promise<Response>) & { [ROUTE_ACCESS]?: RouteAccess };

let policy: OriginPolicy | null = null;

function refusal(status: number, message: string): Response {
  return Response.json({ error: { message } }, { status, headers: { 'cache-control': 'no-store' } });
}

/**
 * A request signed with a registered SSH key (server/signed-api): judged by its signature, never by a cookie.
 * It skips the Origin and custom-header checks, which stop other sites' pages from riding a browser's cookie; a
 * page cannot send the x-ferry-* headers cross-site (they need a CORS preflight Ferry never grants) nor sign.
 * The Host check stays. Returns the context, or the refusal to send.
 */
async function signedContext(request: Request, options: GuardOptions): Promise<RequestContext | Response> {
  if (readSessionToken(request.headers.get('cookie')) !== null) {
    return refusal(401, 'Refused: send either a session cookie or a signature, not both.');
  }
  const problem =
    options.requestCheck === 'none' ? null : checkHost(request.headers, (policy ??= originPolicyFromEnv()));
  if (problem) return refusal(problem.status, problem.message);
  const clientAddress = clientAddressFromHeaders(request.headers);
  const outcome = await authenticateSignedRequest({ db, request, clientAddress });
  if (!outcome.ok) return refusal(outcome.status, outcome.message);
  return createContextInner({
    db,
    actor: outcome.actor,
    clientAddress,
    userAgent: request.headers.get('user-agent'),
  });
}

/** A browser's request: the request checks its route declared, then the session cookie. */
async function sessionContext(request: Request, options: GuardOptions): Promise<RequestContext | Response> {
  policy ??= originPolicyFromEnv();
  const problem =
    options.requestCheck === 'api'
      ? checkApiRequest(request.headers, policy)
      : options.requestCheck === 'download'
        ? checkHost(request.headers, policy)
        : null;
  if (problem) return refusal(problem.status, problem.message);
  return createContextFromRequest(request);
}

export function guardRoute<A extends RouteAccess>(
  options: GuardOptions & { access: A },
  handler: Handler<A>,
): GuardedHandler {
  const guarded: GuardedHandler = async (request: Request) => {
    const ctx = hasSignatureHeaders(request.headers)
      ? await signedContext(request, options)
      : await sessionContext(request, options);
    if (ctx instanceof Response) return ctx;
    const { access } = options;
    if (access !== 'public' && access !== 'procedures') {
      if (!ctx.actor) return refusal(401, 'Sign in first.');
      if (!hasRole(ctx.actor.role, access)) {
        const target = `${request.method} ${new URL(request.url).pathname}`;
        await auditAccessRefusal({
          db: ctx.db,
          actor: ctx.actor,
          clientAddress: ctx.clientAddress,
          target,
          needed: access,
        });
        return refusal(403, missingRoleMessage(access, ctx.actor.role));
      }
    }
    return handler(request, ctx as A extends Role ? Context : RequestContext);
  };
  guarded[ROUTE_ACCESS] = options.access;
  return guarded;
}

/** The access a route handler declared through guardRoute, or undefined when it was not guarded. */
export function routeAccessOf(handler: unknown): RouteAccess | undefined {
  if (typeof handler !== 'function') return undefined;
  return (handler as GuardedHandler)[ROUTE_ACCESS];
}
