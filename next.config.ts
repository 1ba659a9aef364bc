import type { NextConfig } from 'next';

const nextConfig: NextConfig = {
  // ssh2 ships an optional native addon that Turbopack cannot bundle; better-sqlite3 is native too.
  serverExternalPackages: ['ssh2', 'better-sqlite3', '@prisma/adapter-better-sqlite3'],
  typedRoutes: false,
};

export default nextConfig;
