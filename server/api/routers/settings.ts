import { z } from 'zod';
import { ALLOW_LIST_MAX_TEXT, networkSettings, saveAllowList } from '../../net/settings';
import { adminProcedure, createTRPCRouter } from '../trpc';

export const settingsRouter = createTRPCRouter({
  /** The IP allow-list and the caller's own address as the server sees it. */
  network: adminProcedure.query(({ ctx }) => networkSettings({ db: ctx.db, clientAddress: ctx.clientAddress })),

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
