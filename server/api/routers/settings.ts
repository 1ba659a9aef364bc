import { z } from 'zod';
import { ALLOW_LIST_MAX_TEXT, networkSettings, saveAllowList } from '../../net/settings';
import { executors } from '../../fleet/executors';
import { DEFAULT_FLEET_LIMIT, fleetLimitSchema, readFleetLimit, saveFleetLimit } from '../../migrations/limits';
import { kickScheduler } from '../../migrations/scheduler';
import { adminProcedure, createTRPCRouter, viewerProcedure } from '../trpc';

export const settingsRouter = createTRPCRouter({
  /** The IP allow-list and the caller's own address as the server sees it. */
  network: adminProcedure.query(({ ctx }) => networkSettings({ db: ctx.db, clientAddress: ctx.clientAddress })),

  /** The fleet-wide cap on migrations running at once (per-host limits are on each host). */
  migrationLimits: viewerProcedure.query(async ({ ctx }) => ({
    fleetLimit: await readFleetLimit(ctx.db),
    defaultFleetLimit: DEFAULT_FLEET_LIMIT,
  })),

  saveFleetLimit: adminProcedure.input(fleetLimitSchema).mutation(async ({ ctx, input }) => {
    const saved = await saveFleetLimit({
      db: ctx.db,
      fleetLimit: input.fleetLimit,
      who: { actor: ctx.actor.name, clientAddress: ctx.clientAddress },
    });
    await kickScheduler({ db: ctx.db, bus: ctx.bus, executors: executors() });
    return saved;
  }),

  saveAllowList: adminProcedure
    .input(
      z.object({
        cidrs: z.string().max(ALLOW_LIST_MAX_TEXT, `The list is at most ${ALLOW_LIST_MAX_TEXT} characters.`),
        confirmLockout: z.boolean().default(false),
      }),
    )
    .mutation(({ ctx, input }) =>
      saveAllowList({
        db: ctx.db,
        text: input.cidrs,
        confirmLockout: input.confirmLockout,
        actor: ctx.actor.name,
        clientAddress: ctx.clientAddress,
      }),
    ),
});
