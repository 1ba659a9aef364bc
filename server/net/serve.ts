import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import next from 'next';
import { db } from '../db';
import { env } from '../env';
import { stopLiveFleet } from '../inventory/live';
import { isAddressIn, resolveClientAddress } from './address';
import { configuredTrustedProxies, currentAllowList } from './allow-list';
import { CLIENT_ADDRESS_HEADER, EDGE_TOKEN_ENV, EDGE_TOKEN_HEADER } from './edge-headers';

/**
 * Ferry's HTTP server: Next.js behind one check. Next's own server keeps a client's `X-Forwarded-For` (it only
 * fills the header in when absent) and proxy.ts never sees the socket, so the client address and the IP
 * allow-list are decided here, before Next does any work; the app learns the address from a header only this
 * server can set (edge-headers.ts).
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

const server = createServer((request, response) => {
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
      return handle(request, response);
    })
    .catch((error: unknown) => {
      console.error('Ferry HTTP edge:', error);
      if (!response.headersSent) response.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      response.end('Something went wrong.\n');
    });
});
server.listen(env.PORT, env.FERRY_LISTEN, () => {
  console.log(
    `Ferry is listening on http://${env.FERRY_LISTEN.includes(':') ? `[${env.FERRY_LISTEN}]` : env.FERRY_LISTEN}:${env.PORT}`,
  );
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close();
    // Event streams first: their virsh processes (local or on the hosts) end with them.
    void Promise.allSettled([stopLiveFleet(), app.close()]).finally(() => process.exit(0));
  });
}
