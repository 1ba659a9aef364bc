/**
 * How Ferry's HTTP server (server/net/serve.ts) tells the app who the client is. It removes any copy of these
 * headers a client sent, then sets them with a token made fresh at each start, so only a request that came
 * through it carries a client address the app believes. No imports: proxy.ts uses this too.
 */
export const CLIENT_ADDRESS_HEADER = 'x-ferry-client-address';
export const EDGE_TOKEN_HEADER = 'x-ferry-edge';
export const EDGE_TOKEN_ENV = 'FERRY_EDGE_TOKEN';

function isFromEdge(headers: Headers): boolean {
  const token = process.env[EDGE_TOKEN_ENV];
  return token !== undefined && token !== '' && headers.get(EDGE_TOKEN_HEADER) === token;
}

/** The client address Ferry's server resolved (allow-list and trusted proxies applied), or null when unknown. */
export function clientAddressFromHeaders(headers: Headers): string | null {
  if (!isFromEdge(headers)) return null;
  return headers.get(CLIENT_ADDRESS_HEADER) || null;
}

/**
 * In production every request must have passed the allow-list in Ferry's own server; a request that did not
 * (someone ran `next start` directly) is refused rather than served unchecked.
 */
export function edgeRefusal(headers: Headers): string | null {
  if (process.env.NODE_ENV !== 'production' || isFromEdge(headers)) return null;
  return 'Ferry must be started with "npm start" (server/net/serve.ts), which enforces the IP allow-list.';
}
