import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import next from 'next';
import { db } from '../db';
import { env } from '../env';
import { startAuditAnchors } from '../audit/anchors';
import { logger } from '../observability/logger';
import { logRequest } from '../observability/request-log';
import { stopLiveFleet } from '../inventory/live';
import { isAddressIn, resolveClientAddress } from './address';
import { configuredTrustedProxies, currentAllowList } from './allow-list';
import { CLIENT_ADDRESS_HEADER, EDGE_TOKEN_ENV, EDGE_TOKEN_HEADER } from './edge-headers';
import { directRouteFor, serveDirect } from './direct-routes';
import { flushEventStreamWrites } from './event-stream-flush';

/**
 * Ferry's HTTP server: Next.js behind one check. Next's own server keeps a client's `X-Forwarded-For` (it only
 * fills the header in when absent) and proxy.ts never sees the socket, so the client address and the IP
 * allow-list are decided here, before Next does any work; the app learns the address from a header only this
 * server can set (edge-headers.ts). Event streams' messages leave as they are written (event-stream-flush.ts).
 */
const trustedProxies = configuredTrustedProxies();
process.env[EDGE_TOKEN_ENV] = randomBytes(24).toString('base64url');
const token = process.env[EDGE_TOKEN_ENV];

async function admit(request: IncomingMessage): Promise<{ client: string | null; allowed: boolean }> {
  const client = resolveClientAddress({
    peer: request.socket.remoteAddress,
    forwardedFor: request.headers['x-forwarded-for'],
    trustedProxies,
  });
  const list = await currentAllowList(db);
  return { client, allowed: isAddressIn(client, list.cidrs) };
}

const app = next({ dev: false, hostname: env.FERRY_LISTEN, port: env.PORT, dir: process.cwd() });
const handle = app.getRequestHandler();
await app.prepare();

/** Prometheus scrapes /metrics by default; the route lives under /api with the other route handlers. */
function rewriteMetricsPath(request: IncomingMessage): void {
  if (request.url === '/metrics' || request.url?.startsWith('/metrics?')) request.url = `/api${request.url}`;
}

const server = createServer((request, response) => {
  const requestId = logRequest(request, response);
  flushEventStreamWrites(response);
  rewriteMetricsPath(request);
  admit(request)
    .then(({ client, allowed }) => {
      if (!allowed) {
        response.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
        response.end(`Ferry does not accept requests from ${client ?? 'this address'}: it is not on the allow-list.\n`);
        return;
      }
      for (const name of [CLIENT_ADDRESS_HEADER, EDGE_TOKEN_HEADER, 'x-forwarded-for', 'x-real-ip']) {
        delete request.headers[name];
      }
      if (client !== null) {
        request.headers[CLIENT_ADDRESS_HEADER] = client;
        request.headers['x-forwarded-for'] = client;
      }
      request.headers[EDGE_TOKEN_HEADER] = token;
      const direct = directRouteFor(request);
      return direct ? serveDirect(direct, request, response) : handle(request, response);
    })
    .catch((error: unknown) => {
      logger().error({ event: 'http.edge-error', requestId, err: error }, 'Ferry HTTP edge failed');
      if (!response.headersSent) response.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      response.end('Something went wrong.\n');
    });
});
const stopAnchors = startAuditAnchors({ db });
server.listen(env.PORT, env.FERRY_LISTEN, () => {
  const address = `http://${env.FERRY_LISTEN.includes(':') ? `[${env.FERRY_LISTEN}]` : env.FERRY_LISTEN}:${env.PORT}`;
  logger().info({ event: 'listening', address }, `Ferry is listening on ${address}`);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    stopAnchors();
    server.close();
    // Event streams first: their virsh processes (local or on the hosts) end with them.
    void Promise.allSettled([stopLiveFleet(), app.close()]).finally(() => process.exit(0));
  });
}
