import path from 'node:path';
import { defineConfig } from 'prisma/config';
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import { DEFAULT_DATABASE_URL, resolveDatabaseUrl } from './server/db-url';

// schema.prisma reads env("DATABASE_URL"); give the CLI the same default the app uses.
process.env.DATABASE_URL ??= DEFAULT_DATABASE_URL;

// Prisma 7's CLI downloads a native schema engine, which this network cannot reach. Prisma 6.19 with the
// JS engine runs migrations through the same better-sqlite3 adapter the app uses, fully offline.
export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: path.join('prisma', 'schema.prisma'),
  migrations: { path: path.join('prisma', 'migrations') },
  async adapter() {
    return new PrismaBetterSQLite3({ url: resolveDatabaseUrl(process.env.DATABASE_URL) });
  },
});
