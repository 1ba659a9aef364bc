import { NextResponse, type NextRequest } from 'next/server';
import { gatePage } from './server/auth/page-gate';

export async function proxy(request: NextRequest) {
  return (await gatePage(request)) ?? NextResponse.next();
}

export const config = {
  // Everything but Next's own static files.
  matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'],
};
