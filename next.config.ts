import type { NextConfig } from 'next';
import { SECURITY_HEADERS } from './server/net/security-headers';

const nextConfig: NextConfig = {
  // ssh2 ships an optional native addon that Turbopack cannot bundle; better-sqlite3 is native too.
  serverExternalPackages: ['ssh2', 'better-sqlite3', '@prisma/adapter-better-sqlite3'],
  typedRoutes: false,
  // Static files skip proxy.ts; they get the same headers here (the CSP, which needs a nonce, comes from proxy.ts).
  async headers() {
    return [{ source: '/:path*', headers: [...SECURITY_HEADERS] }];
  },
};

export default nextConfig;
