import path from 'node:path';
import { defineConfig } from 'prisma/config';
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import { resolveDatabaseUrl } from './server/db-url';

// Prisma 7's CLI downloads a native schema engine, which this network cannot reach. Prisma 6.19 with the
// JS engine runs migrations through the same better-sqlite3 adapter the app uses, fully offline. The adapter is
// the only connection: DATABASE_URL (default file:./data/ferry.db, as in the app) is read here, not in the schema.
export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: path.join('prisma', 'schema.prisma'),
  migrations: { path: path.join('prisma', 'migrations') },
  async adapter() {
    return new PrismaBetterSQLite3({ url: resolveDatabaseUrl(process.env.DATABASE_URL) });
  },
});
