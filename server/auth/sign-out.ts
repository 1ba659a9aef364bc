import type { RequestContext } from '../api/trpc';
import { recordAudit } from '../audit/record';
import { forgetCachedSessions } from './session';

/** Ends the caller's session, if it has one, with an audit row. Signing out twice is not an error. */
export async function signOut(ctx: RequestContext): Promise<void> {
  const { actor } = ctx;
  if (!actor?.sessionId) return;
  const sessionId = actor.sessionId;
  await ctx.db.$transaction(async (tx) => {
    const { count } = await tx.session.deleteMany({ where: { id: sessionId } });
    if (count > 0) {
      await recordAudit(tx, {
        actor: actor.name,
        clientAddress: ctx.clientAddress,
        action: 'auth.sign-out',
        details: { session: sessionId },
      });
    }
  });
  forgetCachedSessions();
}
