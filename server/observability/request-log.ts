import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { logger } from './logger';

export const REQUEST_ID_HEADER = 'x-request-id';
/** An id a proxy in front may have assigned; anything else (too long, odd characters) is replaced, not echoed. */
const ACCEPTED_REQUEST_ID = /^[A-Za-z0-9._:-]{8,100}$/;

/** The path a log line shows: never the query, where a signed link or a URI with `keyfile=` could sit. */
export function loggedPath(url: string | undefined): string {
  const path = (url ?? '/').split(/[?#]/, 1)[0] ?? '/';
  return path.length > 300 ? `${path.slice(0, 299)}…` : path;
}

export function requestIdFor(header: string | string[] | undefined): string {
  const given = Array.isArray(header) ? header[0] : header;
  return given !== undefined && ACCEPTED_REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * Gives the request an id (kept from the proxy or fresh), echoes it in the response's x-request-id, and writes
 * one log line when the response ends (or the client goes away): method, path, status, duration, id.
 */
export function logRequest(request: IncomingMessage, response: ServerResponse): string {
  const started = performance.now();
  const requestId = requestIdFor(request.headers[REQUEST_ID_HEADER]);
  request.headers[REQUEST_ID_HEADER] = requestId;
  response.setHeader(REQUEST_ID_HEADER, requestId);
  const method = request.method ?? 'GET';
  const path = loggedPath(request.url);
  let written = false;
  const write = () => {
    if (written) return;
    written = true;
    const status = response.headersSent ? response.statusCode : 0;
    const durationMs = Math.round((performance.now() - started) * 10) / 10;
    logger().info(
      { event: 'http.request', requestId, method, path, status, durationMs, aborted: !response.writableFinished },
      `${method} ${path} ${status} ${durationMs}ms`,
    );
  };
  response.once('finish', write);
  response.once('close', write);
  return requestId;
}
