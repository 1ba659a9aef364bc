import { accountRouter } from './routers/account';
import { apiKeysRouter } from './routers/api-keys';
import { auditRouter } from './routers/audit';
import { evacuationRouter } from './routers/evacuation';
import { fleetRouter } from './routers/fleet';
import { historyRouter } from './routers/history';
import { hostRouter } from './routers/host';
import { migrationRouter } from './routers/migration';
import { powerRouter } from '../power/router';
import { settingsRouter } from './routers/settings';
import { usersRouter } from './routers/users';
import { volumesRouter } from './routers/volumes';
import { createCallerFactory, createTRPCRouter } from './trpc';

export const appRouter = createTRPCRouter({
  host: hostRouter,
  fleet: fleetRouter,
  migration: migrationRouter,
  audit: auditRouter,
  history: historyRouter,
  settings: settingsRouter,
  account: accountRouter,
  users: usersRouter,
  apiKeys: apiKeysRouter,
  volumes: volumesRouter,
  power: powerRouter,
  evacuation: evacuationRouter,
});

export type AppRouter = typeof appRouter;

export const createCaller = createCallerFactory(appRouter);
