import { tracked } from '@trpc/server';
import { z } from 'zod';
import { UserError } from '../../errors';
import { executors } from '../../fleet/executors';
import { listMigrationEvents } from '../../migrations/events';
import {
  cancelMigration,
  preflightMigration,
  startMigration,
  switchToPostcopy,
  type MigrationDeps,
} from '../../migrations/service';
import { isFinalState, migrationChannel, type MigrationEvent, type PreflightCheck } from '../../migrations/types';
import { createTRPCRouter, operatorProcedure, viewerProcedure, type Context } from '../trpc';

const requestSchema = z.object({
  vmName: z.string().min(1).max(255),
  sourceHostId: z.string().min(1),
  destinationHostId: z.string().min(1, 'Pick a destination host.'),
  options: z.unknown(),
});

function deps(ctx: Context): MigrationDeps {
  return { db: ctx.db, bus: ctx.bus, executors: executors() };
}

function who(ctx: Context) {
  return { actor: ctx.actor.name, clientAddress: ctx.clientAddress };
}

export const migrationRouter = createTRPCRouter({
  preflight: operatorProcedure
    .input(requestSchema)
    .mutation(({ ctx, input }) => preflightMigration(deps(ctx), who(ctx), input)),

  start: operatorProcedure
    .input(requestSchema)
    .mutation(({ ctx, input }) => startMigration(deps(ctx), who(ctx), input)),

  cancel: operatorProcedure
    .input(z.object({ id: z.string().min(1) }))
    .mutation(({ ctx, input }) => cancelMigration(deps(ctx), who(ctx), input.id)),

  switchToPostcopy: operatorProcedure
    .input(z.object({ id: z.string().min(1) }))
    .mutation(({ ctx, input }) => switchToPostcopy(deps(ctx), who(ctx), input.id)),

  get: viewerProcedure.input(z.object({ id: z.string().min(1) })).query(async ({ ctx, input }) => {
    const migration = await ctx.db.migration.findUnique({ where: { id: input.id } });
    if (!migration) throw new UserError({ code: 'NOT_FOUND', message: 'No such migration.' });
    // Everything so far, so the page renders the current state at once and subscribes from the last id.
    const events = await listMigrationEvents({ db: ctx.db, migrationId: input.id });
    const { sourceHostId: _s, destinationHostId: _d, ownerId: _o, ...rest } = migration;
    return {
      ...rest,
      options: JSON.parse(migration.options) as Record<string, unknown>,
      checklist: JSON.parse(migration.checklist) as PreflightCheck[],
      events,
    };
  }),

  /** Migrations of one VM, newest first (the VM card links to its last one). */
  recent: viewerProcedure
    .input(z.object({ limit: z.number().int().min(1).max(50).default(10) }))
    .query(({ ctx, input }) =>
      ctx.db.migration.findMany({
        orderBy: { createdAt: 'desc' },
        take: input.limit,
        select: {
          id: true,
          vmName: true,
          sourceAlias: true,
          destinationAlias: true,
          state: true,
          percent: true,
          createdAt: true,
        },
      }),
    ),

  /**
   * Live events of one migration. Subscribes to the bus first, then replays rows after `lastEventId`, then
   * streams: a reconnecting browser (httpSubscriptionLink sends the last tracked id) misses nothing.
   */
  events: viewerProcedure
    .input(z.object({ id: z.string().min(1), lastEventId: z.string().nullish() }))
    .subscription(async function* ({ ctx, input, signal }) {
      const queue: MigrationEvent[] = [];
      let wake: (() => void) | null = null;
      const unsubscribe = ctx.bus.subscribe(migrationChannel(input.id), (event) => {
        queue.push(event as MigrationEvent);
        wake?.();
      });
      try {
        let lastId = input.lastEventId ? Number(input.lastEventId) : 0;
        const backlog = await listMigrationEvents({ db: ctx.db, migrationId: input.id, afterId: lastId });
        for (const event of backlog) {
          lastId = event.id;
          yield tracked(String(event.id), event);
          if (event.type === 'state' && isFinalState(event.state)) return;
        }
        const current = await ctx.db.migration.findUnique({ where: { id: input.id }, select: { state: true } });
        if (!current) return;
        if (isFinalState(current.state) && queue.length === 0) {
          const late = await listMigrationEvents({ db: ctx.db, migrationId: input.id, afterId: lastId });
          for (const event of late) yield tracked(String(event.id), event);
          return;
        }
        signal?.addEventListener('abort', () => wake?.(), { once: true });
        while (!signal?.aborted) {
          while (queue.length > 0) {
            const event = queue.shift() as MigrationEvent;
            if (event.id <= lastId) continue;
            lastId = event.id;
            yield tracked(String(event.id), event);
            if (event.type === 'state' && isFinalState(event.state)) return;
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = null;
        }
      } finally {
        unsubscribe();
      }
    }),
});
