import 'server-only';
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaClient } from '@prisma/client';
import { resolveDatabaseUrl } from './db-url';
import { env } from './env';

export function createPrismaClient(databaseUrl: string = env.DATABASE_URL): PrismaClient {
  const adapter = new PrismaBetterSQLite3({ url: resolveDatabaseUrl(databaseUrl) });
  return new PrismaClient({ adapter });
}

const globalForPrisma = globalThis as unknown as { ferryPrisma?: PrismaClient };

/**
 * One client per process: Next's dev server re-evaluates modules, and a production build bundles server code
 * more than once (instrumentation, routes), so the client lives on globalThis.
 */
export const db: PrismaClient = globalForPrisma.ferryPrisma ?? createPrismaClient();
globalForPrisma.ferryPrisma = db;

export type Db = PrismaClient;
