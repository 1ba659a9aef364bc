import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../db';
import { env } from '../env';
import { isRole, type Role } from './roles';

/**
 * Sessions live in the database (any replica can check or revoke one). The cookie holds 32 random bytes; the
 * row holds their SHA-256, so reading the table does not let anyone sign in as its users.
 */
export const SESSION_COOKIE = 'ferry-session';
/** Over HTTPS the `__Host-` prefix makes the browser refuse the cookie unless it is Secure, host-only, Path=/. */
export const SECURE_SESSION_COOKIE = '__Host-ferry-session';

/** lastSeenAt is written at most this often: one UPDATE per minute per session, not one per call. */
const TOUCH_INTERVAL_MS = 60_000;

/**
 * A resolved session is reused for one second, so a page's burst of calls costs one database read. A change in
 * this process (sign-out, revoke, role, disable, password) clears it at once; another replica's change shows
 * here within that second.
 */
const CACHE_TTL_MS = 1_000;
const CACHE_MAX_ENTRIES = 10_000;
const sessionCache = new Map<string, { user: SignedInUser; until: number }>();

export function forgetCachedSessions(): void {
  sessionCache.clear();
}

export type SessionPolicy = { idleMs: number; maxMs: number };

export function sessionPolicy(): SessionPolicy {
  return {
    idleMs: env.FERRY_SESSION_IDLE_MINUTES * 60_000,
    maxMs: env.FERRY_SESSION_MAX_HOURS * 3_600_000,
  };
}

export type SignedInUser = {
  sessionId: string;
  userId: string;
  name: string;
  role: Role;
};

export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

export async function createSession(options: {
  db: Db;
  userId: string;
  userAgent: string | null;
  clientAddress: string | null;
  policy?: SessionPolicy;
  now?: Date;
}): Promise<{ token: string; sessionId: string; expiresAt: Date }> {
  const now = options.now ?? new Date();
  const policy = options.policy ?? sessionPolicy();
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + policy.maxMs);
  const session = await options.db.session.create({
    data: {
      tokenHash: hashSessionToken(token),
      userId: options.userId,
      createdAt: now,
      lastSeenAt: now,
      expiresAt,
      userAgent: options.userAgent?.slice(0, 300) ?? null,
      clientAddress: options.clientAddress,
    },
    select: { id: true },
  });
  return { token, sessionId: session.id, expiresAt };
}

/**
 * The signed-in user behind a cookie token, or null when the token is unknown, past its idle or absolute
 * timeout, or its user is disabled. One indexed read per call; a write at most once a minute.
 */
export async function resolveSession(options: {
  db: Db;
  token: string | null;
  policy?: SessionPolicy;
  now?: Date;
}): Promise<SignedInUser | null> {
  const { db, token } = options;
  if (!token || token.length > 100) return null;
  const tokenHash = hashSessionToken(token);
  // Callers that pass their own clock (tests of the timeouts) always read the row.
  const isLive = options.now === undefined;
  const cached = isLive ? sessionCache.get(tokenHash) : undefined;
  if (cached && cached.until > Date.now()) return cached.user;
  const now = options.now ?? new Date();
  const policy = options.policy ?? sessionPolicy();
  const session = await db.session.findUnique({
    where: { tokenHash },
    select: {
      id: true,
      lastSeenAt: true,
      expiresAt: true,
      user: { select: { id: true, name: true, role: true, disabled: true } },
    },
  });
  if (!session) return null;
  const idleEnd = session.lastSeenAt.getTime() + policy.idleMs;
  if (session.expiresAt.getTime() <= now.getTime() || idleEnd <= now.getTime()) {
    await db.session.deleteMany({ where: { id: session.id } });
    return null;
  }
  if (session.user.disabled || !isRole(session.user.role)) return null;
  if (now.getTime() - session.lastSeenAt.getTime() >= TOUCH_INTERVAL_MS) {
    await db.session.updateMany({ where: { id: session.id }, data: { lastSeenAt: now } });
  }
  const user = { sessionId: session.id, userId: session.user.id, name: session.user.name, role: session.user.role };
  if (isLive) {
    if (sessionCache.size >= CACHE_MAX_ENTRIES) sessionCache.clear();
    sessionCache.set(tokenHash, { user, until: Date.now() + CACHE_TTL_MS });
  }
  return user;
}

/** The session token from a Cookie header (either cookie name). */
export function readSessionToken(cookieHeader: string | null): string | null {
  if (!cookieHeader) return null;
  for (const part of cookieHeader.split(';')) {
    const separator = part.indexOf('=');
    if (separator < 0) continue;
    const name = part.slice(0, separator).trim();
    if (name === SECURE_SESSION_COOKIE || name === SESSION_COOKIE) {
      const value = part.slice(separator + 1).trim();
      return value === '' ? null : value;
    }
  }
  return null;
}

/**
 * Set-Cookie for a new session: HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it),
 * Secure and `__Host-` over HTTPS. Max-Age matches the absolute timeout.
 */
export function sessionCookie(options: { token: string; isSecure: boolean; maxAgeSeconds: number }): string {
  const name = options.isSecure ? SECURE_SESSION_COOKIE : SESSION_COOKIE;
  const attributes = [`${name}=${options.token}`, 'Path=/', 'HttpOnly', 'SameSite=Strict'];
  attributes.push(`Max-Age=${Math.max(0, Math.floor(options.maxAgeSeconds))}`);
  if (options.isSecure) attributes.push('Secure');
  return attributes.join('; ');
}

export function clearSessionCookie(options: { isSecure: boolean }): string {
  return sessionCookie({ token: '', isSecure: options.isSecure, maxAgeSeconds: 0 });
}

/** HTTPS is decided by the configured public origin, or the URL the server saw. */
export function isSecureRequest(request: Request): boolean {
  return env.FERRY_PUBLIC_ORIGIN.startsWith('https:') || new URL(request.url).protocol === 'https:';
}
