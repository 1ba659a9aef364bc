import { createPrismaClient } from '../server/db';
import { env } from '../server/env';
import { ensureDemoHost } from '../server/hosts/demo';

const db = createPrismaClient();
try {
  const outcome = await ensureDemoHost({ db, uri: env.FERRY_DEMO_URI });
  console.log(outcome === 'created' ? `Registered demo host (${env.FERRY_DEMO_URI}).` : 'Demo host: nothing to do.');
} finally {
  await db.$disconnect();
}
