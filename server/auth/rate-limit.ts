import type { Db } from '../db';

/**
 * Fixed-window failure counters in the database (table RateLimit), so every replica counts the same attempts.
 * Only failures count; a success clears the account's counter, never the address's.
 */
export type Limit = { max: number; windowMs: number };

export const SIGN_IN_LIMITS = {
  /** Guessing one account's password: 5 wrong tries, then wait out the rest of 15 minutes. */
  account: { max: 5, windowMs: 15 * 60_000 },
  /** Spraying many accounts from one address. */
  address: { max: 20, windowMs: 15 * 60_000 },
} as const satisfies Record<string, Limit>;

export function accountKey(name: string): string {
  return `sign-in:account:${name.toLowerCase().slice(0, 64)}`;
}

export function addressKey(address: string | null): string {
  return `sign-in:address:${address ?? 'unknown'}`;
}

/** Milliseconds until the key may try again, or 0 when it may now. */
export async function blockedFor(options: { db: Db; key: string; limit: Limit; now?: Date }): Promise<number> {
  const now = (options.now ?? new Date()).getTime();
  const row = await options.db.rateLimit.findUnique({ where: { key: options.key } });
  if (!row) return 0;
  const windowEnd = row.windowStart.getTime() + options.limit.windowMs;
  if (windowEnd <= now || row.count < options.limit.max) return 0;
  return windowEnd - now;
}

export async function recordFailure(options: { db: Db; key: string; limit: Limit; now?: Date }): Promise<void> {
  const now = options.now ?? new Date();
  const { db, key, limit } = options;
  const row = await db.rateLimit.findUnique({ where: { key } });
  if (!row || row.windowStart.getTime() + limit.windowMs <= now.getTime()) {
    await db.rateLimit.upsert({
      where: { key },
      create: { key, count: 1, windowStart: now },
      update: { count: 1, windowStart: now },
    });
    return;
  }
  // An atomic increment: two replicas counting at once both land.
  await db.rateLimit.update({ where: { key }, data: { count: { increment: 1 } } });
}

export async function clearFailures(options: { db: Db; key: string }): Promise<void> {
  await options.db.rateLimit.deleteMany({ where: { key: options.key } });
}
