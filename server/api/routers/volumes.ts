import { z } from 'zod';
import { UserError } from '../../errors';
import { executors } from '../../fleet/executors';
import { listLeftovers, removeLeftover } from '../../volumes/service';
import { createTRPCRouter, operatorProcedure, viewerProcedure } from '../trpc';

/** The volume ledger: what Ferry left on a host, and the operator's one-click remove (verified on the host). */
export const volumesRouter = createTRPCRouter({
  leftovers: viewerProcedure.input(z.object({ alias: z.string().min(1).max(64) })).query(async ({ ctx, input }) => {
    const host = await ctx.db.host.findUnique({ where: { alias: input.alias }, select: { id: true } });
    if (!host) throw new UserError({ code: 'NOT_FOUND', message: `No host with alias "${input.alias}".` });
    return listLeftovers(ctx.db, host.id);
  }),

  removeLeftover: operatorProcedure
    .input(z.object({ id: z.string().min(1).max(64) }))
    .mutation(({ ctx, input }) =>
      removeLeftover(
        { db: ctx.db, executors: executors() },
        { actor: ctx.actor.name, clientAddress: ctx.clientAddress },
        input.id,
      ),
    ),
});
