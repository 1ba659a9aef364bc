import { z } from 'zod';
import { PASSWORD_MAX_LENGTH } from '../../auth/password';
import {
  addUser,
  changeRole,
  PUBLIC_USER_SELECT,
  resetPassword,
  roleSchema,
  setDisabled,
  userNameSchema,
} from '../../auth/users';
import { adminProcedure, createTRPCRouter, type Context } from '../trpc';

function who(ctx: Context) {
  return { actor: ctx.actor.name, clientAddress: ctx.clientAddress };
}

const idInput = z.object({ id: z.string().min(1).max(40) });

/** The admin users page. Every change writes an audit row in the same transaction. */
export const usersRouter = createTRPCRouter({
  list: adminProcedure.query(async ({ ctx }) => {
    const users = await ctx.db.user.findMany({ select: PUBLIC_USER_SELECT, orderBy: { name: 'asc' } });
    const active = await ctx.db.session.groupBy({
      by: ['userId'],
      where: { expiresAt: { gt: new Date() } },
      _count: { _all: true },
    });
    const counts = new Map(active.map((row) => [row.userId, row._count._all]));
    const keys = await ctx.db.apiKey.groupBy({ by: ['userId'], _count: { _all: true } });
    const keyCounts = new Map(keys.map((row) => [row.userId, row._count._all]));
    return users.map((user) => ({
      ...user,
      sessions: counts.get(user.id) ?? 0,
      apiKeys: keyCounts.get(user.id) ?? 0,
      isYou: user.name === ctx.actor.name,
    }));
  }),

  add: adminProcedure
    .input(z.object({ name: userNameSchema, role: roleSchema, password: z.string().max(PASSWORD_MAX_LENGTH + 1) }))
    .mutation(({ ctx, input }) => addUser({ db: ctx.db, ...input, audit: who(ctx) })),

  setRole: adminProcedure
    .input(idInput.extend({ role: roleSchema }))
    .mutation(({ ctx, input }) => changeRole({ db: ctx.db, userId: input.id, role: input.role, audit: who(ctx) })),

  setDisabled: adminProcedure
    .input(idInput.extend({ disabled: z.boolean() }))
    .mutation(({ ctx, input }) =>
      setDisabled({ db: ctx.db, userId: input.id, disabled: input.disabled, audit: who(ctx) }),
    ),

  /** Returns the new password once, for the admin to hand over; it is stored only as a hash. */
  resetPassword: adminProcedure
    .input(idInput)
    .mutation(({ ctx, input }) => resetPassword({ db: ctx.db, userId: input.id, audit: who(ctx) })),
});
