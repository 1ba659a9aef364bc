import { recordAudit } from '../audit/record';
import type { Db } from '../db';
import { verifyAgainstNothing, verifyPassword } from './password';
import { accountKey, addressKey, blockedFor, clearFailures, recordFailure, SIGN_IN_LIMITS } from './rate-limit';
import { isRole, type Role } from './roles';
import { createSession, type SessionPolicy } from './session';
import { USER_NAME_MAX } from './users';

/** The actor of an audit row written before anyone is signed in. */
export const ANONYMOUS = 'anonymous';

export type SignInOutcome =
  | { ok: true; token: string; expiresAt: Date; user: { name: string; role: Role } }
  | { ok: false; status: 401 | 429; message: string };

const WRONG = 'Wrong name or password.';

/**
 * Checks a name and password and opens a session. Every attempt writes an audit row (never the password); a
 * failed one counts against the account and the address, and past the limit no password is even checked.
 */
export async function signIn(options: {
  db: Db;
  name: string;
  password: string;
  clientAddress: string | null;
  userAgent: string | null;
  policy?: SessionPolicy;
  now?: Date;
}): Promise<SignInOutcome> {
  const { db, clientAddress } = options;
  const now = options.now ?? new Date();
  const account = options.name.trim().toLowerCase().slice(0, USER_NAME_MAX);
  const keys = { account: accountKey(account), address: addressKey(clientAddress) };

  const refuse = async (reason: string, outcome: Extract<SignInOutcome, { ok: false }>) => {
    await db.$transaction((tx) =>
      recordAudit(tx, {
        actor: ANONYMOUS,
        clientAddress,
        action: 'auth.sign-in',
        result: 'refused',
        details: { account, reason },
      }),
    );
    return outcome;
  };

  const waitMs = Math.max(
    await blockedFor({ db, key: keys.account, limit: SIGN_IN_LIMITS.account, now }),
    await blockedFor({ db, key: keys.address, limit: SIGN_IN_LIMITS.address, now }),
  );
  if (waitMs > 0) {
    const minutes = Math.ceil(waitMs / 60_000);
    return refuse('rate limited', {
      ok: false,
      status: 429,
      message: `Too many failed sign-ins. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
    });
  }

  const user = await db.user.findUnique({ where: { name: account } });
  const isMatch = user
    ? await verifyPassword(options.password, user.passwordHash)
    : await verifyAgainstNothing(options.password);
  if (!user || !isMatch) {
    await recordFailure({ db, key: keys.account, limit: SIGN_IN_LIMITS.account, now });
    await recordFailure({ db, key: keys.address, limit: SIGN_IN_LIMITS.address, now });
    return refuse(user ? 'wrong password' : 'no such account', { ok: false, status: 401, message: WRONG });
  }
  if (user.disabled || !isRole(user.role)) {
    return refuse('account disabled', { ok: false, status: 401, message: 'This account is disabled. Ask an admin.' });
  }

  await clearFailures({ db, key: keys.account });
  const session = await createSession({
    db,
    userId: user.id,
    userAgent: options.userAgent,
    clientAddress,
    policy: options.policy,
    now,
  });
  await db.$transaction((tx) =>
    recordAudit(tx, {
      actor: user.name,
      clientAddress,
      action: 'auth.sign-in',
      details: { session: session.sessionId },
    }),
  );
  return { ok: true, token: session.token, expiresAt: session.expiresAt, user: { name: user.name, role: user.role } };
}
