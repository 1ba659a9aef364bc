import { NextResponse, type NextRequest } from 'next/server';
import { gatePage } from './server/auth/page-gate';
import { edgeRefusal } from './server/net/edge-headers';
import { contentSecurityPolicy, SECURITY_HEADERS } from './server/net/security-headers';

/**
 * Runs before every page and route (Next 16's successor to middleware.ts). The IP allow-list itself is checked
 * in Ferry's HTTP server (server/net/serve.ts), which sees the socket; here a request that bypassed it is
 * refused, a page request without a session goes to sign-in, and each response gets a fresh CSP nonce and the
 * security headers.
 */
export async function proxy(request: NextRequest) {
  const refusal = edgeRefusal(request.headers);
  if (refusal !== null) return new NextResponse(`${refusal}\n`, { status: 403 });
  const gate = await gatePage(request);
  if (gate !== null) {
    for (const { key, value } of SECURITY_HEADERS) gate.headers.set(key, value);
    return gate;
  }

  const nonce = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64');
  const policy = contentSecurityPolicy({ nonce, isDev: process.env.NODE_ENV === 'development' });
  const requestHeaders = new Headers(request.headers);
  requestHeaders.set('x-nonce', nonce);
  requestHeaders.set('Content-Security-Policy', policy);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  response.headers.set('Content-Security-Policy', policy);
  for (const { key, value } of SECURITY_HEADERS) response.headers.set(key, value);
  return response;
}

export const config = {
  matcher: [{ source: '/((?!_next/static|_next/image|favicon.ico).*)' }],
};
