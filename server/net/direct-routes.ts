import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GuardedHandler } from '../auth/route-guard';
import { EVENTS_PATH, evacuationEventsRoute } from '../evacuation/events-route';
import { writeSseToNode } from '../events/sse-response';
import { contentSecurityPolicy, SECURITY_HEADERS } from './security-headers';

/**
 * Routes Ferry's server answers itself, with the same guarded handler Next would run (app/api/…/route.ts): the
 * evacuation page's event stream, which every page watching an evacuation holds open and which is written to all
 * of them for every percent. Its messages go straight onto the socket (writeSseToNode) instead of through Next's web
 * stream pipe. Anything else, and any other method or path shape, is Next's.
 */
export function directRouteFor(request: IncomingMessage): GuardedHandler | null {
  if (request.method !== 'GET') return null;
  const path = (request.url ?? '/').split('?', 1)[0] ?? '/';
  return EVENTS_PATH.test(path) ? evacuationEventsRoute : null;
}

/**
 * Runs `handler` on the request as a web Request and writes its Response, with the headers proxy.ts gives every
 * response (security headers and a CSP). An event stream is written message by message; any other answer (a
 * refusal) whole.
 */
export async function serveDirect(
  handler: GuardedHandler,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const gone = new AbortController();
  response.once('close', () => gone.abort());
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  // The handlers read the path, the query and the scheme from the URL; the Host is checked from the headers.
  const url = new URL(request.url ?? '/', 'http://localhost');
  const answer = await handler(new Request(url, { method: request.method, headers, signal: gone.signal }));
  const added: Record<string, string> = {
    'content-security-policy': contentSecurityPolicy({ nonce: randomBytes(16).toString('base64'), isDev: false }),
  };
  for (const { key, value } of SECURITY_HEADERS) added[key.toLowerCase()] = value;
  if (writeSseToNode(answer, response, added)) return;
  const body = Buffer.from(await answer.arrayBuffer());
  response.writeHead(answer.status, { ...Object.fromEntries(answer.headers), ...added });
  response.end(body);
}
