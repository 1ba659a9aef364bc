import { z } from 'zod';
import { addApiKey, listApiKeys, removeApiKey } from '../../signed-api/keys';
import { UserError } from '../../errors';
import { adminProcedure, createTRPCRouter, viewerProcedure, type Context } from '../trpc';

function who(ctx: Context) {
  return { actor: ctx.actor.name, clientAddress: ctx.clientAddress };
}

function requireUserId(ctx: Context): string {
  if (!ctx.actor.userId) throw new UserError({ message: 'This caller is not a signed-in user.' });
  return ctx.actor.userId;
}

const id = z.string().min(1).max(40);
const keyInput = z.object({
  publicKey: z.string().max(20_000, 'That is far too long for an OpenSSH public key.'),
  comment: z.string().max(1_000).nullish(),
  expiresAt: z.date().nullish(),
});

/**
 * SSH keys that sign API requests (the `ferry` CLI): everyone manages their own under My account, admins
 * anyone's on the Users page. Every change writes an audit row in the same transaction; only fingerprint,
 * type and comment leave the server.
 */
export const apiKeysRouter = createTRPCRouter({
  mine: viewerProcedure.query(({ ctx }) => listApiKeys({ db: ctx.db, userId: requireUserId(ctx) })),

  addMine: viewerProcedure
    .input(keyInput)
    .mutation(({ ctx, input }) => addApiKey({ db: ctx.db, userId: requireUserId(ctx), ...input, audit: who(ctx) })),

  removeMine: viewerProcedure
    .input(z.object({ id }))
    .mutation(({ ctx, input }) =>
      removeApiKey({ db: ctx.db, keyId: input.id, ownerId: requireUserId(ctx), audit: who(ctx) }),
    ),

  list: adminProcedure
    .input(z.object({ userId: id }))
    .query(({ ctx, input }) => listApiKeys({ db: ctx.db, userId: input.userId })),

  add: adminProcedure
    .input(keyInput.extend({ userId: id }))
    .mutation(({ ctx, input }) => addApiKey({ db: ctx.db, ...input, audit: who(ctx) })),

  remove: adminProcedure
    .input(z.object({ id }))
    .mutation(({ ctx, input }) => removeApiKey({ db: ctx.db, keyId: input.id, audit: who(ctx) })),
});
