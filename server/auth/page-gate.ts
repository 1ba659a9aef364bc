import { NextResponse, type NextRequest } from 'next/server';
import { db } from '../db';
import { checkHost, originPolicyFromEnv, type OriginPolicy } from './request-checks';
import { readSessionToken, resolveSession } from './session';

/** Pages a signed-out browser may open. */
const PUBLIC_PAGES = new Set(['/sign-in']);

let policy: OriginPolicy | null = null;

/**
 * Ferry's access part of proxy.ts: a Host outside the allow-list gets nothing at all (DNS rebinding), and a
 * page request without a live session goes to sign-in first. API routes check for themselves (route-guard.ts),
 * so this is convenience and defence in depth, not the only gate. Returns null to let the request through.
 */
export async function gatePage(request: NextRequest): Promise<NextResponse | null> {
  const { pathname, search } = request.nextUrl;
  if (pathname === '/api/health') return null;
  policy ??= originPolicyFromEnv();
  const hostProblem = checkHost(request.headers, policy);
  if (hostProblem) return new NextResponse(hostProblem.message, { status: hostProblem.status });
  if (pathname.startsWith('/api/') || PUBLIC_PAGES.has(pathname)) return null;
  const user = await resolveSession({ db, token: readSessionToken(request.headers.get('cookie')) });
  if (user) return null;
  const target = request.nextUrl.clone();
  target.pathname = '/sign-in';
  target.search = pathname === '/' && search === '' ? '' : `?next=${encodeURIComponent(`${pathname}${search}`)}`;
  return NextResponse.redirect(target);
}
