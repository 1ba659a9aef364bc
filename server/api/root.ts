import { fleetRouter } from './routers/fleet';
import { hostRouter } from './routers/host';
import { migrationRouter } from './routers/migration';
import { createCallerFactory, createTRPCRouter } from './trpc';

export const appRouter = createTRPCRouter({
  host: hostRouter,
  fleet: fleetRouter,
  migration: migrationRouter,
});

export type AppRouter = typeof appRouter;

export const createCaller = createCallerFactory(appRouter);
