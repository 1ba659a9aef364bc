import { z } from 'zod';
import { recordAudit } from '../../audit/record';
import { forgetCachedSessions } from '../../auth/session';
import { changeOwnPassword } from '../../auth/users';
import { PASSWORD_MAX_LENGTH } from '../../auth/password';
import { UserError } from '../../errors';
import { createTRPCRouter, publicProcedure, viewerProcedure, type Context } from '../trpc';

function who(ctx: Context) {
  return { actor: ctx.actor.name, clientAddress: ctx.clientAddress };
}

function requireUserId(ctx: Context): string {
  if (!ctx.actor.userId) throw new UserError({ message: 'This caller is not a signed-in user.' });
  return ctx.actor.userId;
}

export const accountRouter = createTRPCRouter({
  /**
   * What the sign-in page and the user menu need before and after sign-in: whether anyone can sign in yet
   * (a fresh Ferry has no users) and who this browser is.
   */
  status: publicProcedure.query(async ({ ctx }) => {
    const signedIn = ctx.actor ? { name: ctx.actor.name, role: ctx.actor.role } : null;
    const hasUsers = signedIn !== null || (await ctx.db.user.count({ take: 1 })) > 0;
    return { hasUsers, signedIn };
  }),

  /** This user's sessions, this browser's first. */
  sessions: viewerProcedure.query(async ({ ctx }) => {
    const sessions = await ctx.db.session.findMany({
      where: { userId: requireUserId(ctx) },
      orderBy: { lastSeenAt: 'desc' },
      select: { id: true, createdAt: true, lastSeenAt: true, expiresAt: true, userAgent: true, clientAddress: true },
    });
    return sessions
      .map((session) => ({ ...session, isCurrent: session.id === ctx.actor.sessionId }))
      .sort((a, b) => Number(b.isCurrent) - Number(a.isCurrent));
  }),

  changePassword: viewerProcedure
    .input(z.object({ current: z.string().max(PASSWORD_MAX_LENGTH), next: z.string().max(PASSWORD_MAX_LENGTH + 1) }))
    .mutation(async ({ ctx, input }) => {
      await changeOwnPassword({
        db: ctx.db,
        userId: requireUserId(ctx),
        sessionId: ctx.actor.sessionId ?? null,
        current: input.current,
        next: input.next,
        audit: who(ctx),
      });
      return { ok: true as const };
    }),

  /** Ends one of this user's other sessions. */
  revokeSession: viewerProcedure.input(z.object({ id: z.string().min(1).max(40) })).mutation(async ({ ctx, input }) => {
    const userId = requireUserId(ctx);
    const result = await ctx.db.$transaction(async (tx) => {
      const { count } = await tx.session.deleteMany({ where: { id: input.id, userId } });
      if (count === 0) throw new UserError({ code: 'NOT_FOUND', message: 'That session has already ended.' });
      await recordAudit(tx, { ...who(ctx), action: 'auth.session-revoke', details: { session: input.id } });
      return { ok: true as const };
    });
    forgetCachedSessions();
    return result;
  }),

  /** "Sign out everywhere": every session of this user ends, this one included. */
  signOutEverywhere: viewerProcedure.mutation(async ({ ctx }) => {
    const userId = requireUserId(ctx);
    const result = await ctx.db.$transaction(async (tx) => {
      const { count } = await tx.session.deleteMany({ where: { userId } });
      await recordAudit(tx, { ...who(ctx), action: 'auth.sign-out-everywhere', details: { sessionsRevoked: count } });
      return { sessionsRevoked: count };
    });
    forgetCachedSessions();
    return result;
  }),
});
