import { z } from 'zod';
import { recordAudit } from '../audit/record';
import type { Db } from '../db';
import { UserError } from '../errors';
import { generatePassword, hashPassword, passwordProblem, verifyPassword } from './password';
import { ROLES, type Role } from './roles';
import { forgetCachedSessions } from './session';

/** Who did it, for the audit row. */
export type AuditWho = { actor: string; clientAddress: string | null };

export const USER_NAME_MAX = 64;

export const userNameSchema = z
  .string()
  .trim()
  .toLowerCase()
  .min(1, 'Give the user a name.')
  .max(USER_NAME_MAX, `A user name is at most ${USER_NAME_MAX} characters.`)
  .regex(/^[a-z][a-z0-9._-]*$/, 'A user name starts with a letter and has only letters, digits, ".", "_" and "-".');

export const roleSchema = z.enum(ROLES);

/** What the users page shows: never the hash. */
export const PUBLIC_USER_SELECT = {
  id: true,
  name: true,
  role: true,
  disabled: true,
  createdAt: true,
  passwordChangedAt: true,
} as const;

function checkPassword(password: string, field: string) {
  const problem = passwordProblem(password);
  if (problem) throw new UserError({ message: problem, field });
}

async function findUser(db: Db, userId: string) {
  const user = await db.user.findUnique({ where: { id: userId } });
  if (!user) throw new UserError({ code: 'NOT_FOUND', message: 'That user no longer exists.' });
  return user;
}

/** Refuses a change that would leave nobody able to manage users. */
async function keepAnAdmin(db: Db, user: { id: string; role: string; disabled: boolean }) {
  if (user.role !== 'admin' || user.disabled) return;
  const others = await db.user.count({ where: { role: 'admin', disabled: false, id: { not: user.id } } });
  if (others === 0) {
    throw new UserError({ code: 'CONFLICT', message: 'Ferry needs at least one enabled admin; add another first.' });
  }
}

export async function addUser(options: { db: Db; name: string; role: Role; password: string; audit: AuditWho }) {
  const { db, audit } = options;
  const name = userNameSchema.parse(options.name);
  checkPassword(options.password, 'password');
  if (await db.user.findUnique({ where: { name }, select: { id: true } })) {
    throw new UserError({ code: 'CONFLICT', message: `A user named "${name}" already exists.`, field: 'name' });
  }
  const passwordHash = await hashPassword(options.password);
  return db.$transaction(async (tx) => {
    const user = await tx.user.create({ data: { name, role: options.role, passwordHash }, select: PUBLIC_USER_SELECT });
    await recordAudit(tx, { ...audit, action: 'user.add', details: { user: name, role: options.role } });
    return user;
  });
}

export async function changeRole(options: { db: Db; userId: string; role: Role; audit: AuditWho }) {
  const { db, audit, role } = options;
  const user = await findUser(db, options.userId);
  if (user.role === role) return db.user.findUniqueOrThrow({ where: { id: user.id }, select: PUBLIC_USER_SELECT });
  if (role !== 'admin') await keepAnAdmin(db, user);
  const updated = await db.$transaction(async (tx) => {
    const changed = await tx.user.update({ where: { id: user.id }, data: { role }, select: PUBLIC_USER_SELECT });
    await recordAudit(tx, { ...audit, action: 'user.role', details: { user: user.name, from: user.role, to: role } });
    return changed;
  });
  forgetCachedSessions();
  return updated;
}

/** Disabling signs the user out everywhere at once: their sessions are deleted with the change. */
export async function setDisabled(options: { db: Db; userId: string; disabled: boolean; audit: AuditWho }) {
  const { db, audit, disabled } = options;
  const user = await findUser(db, options.userId);
  if (disabled) await keepAnAdmin(db, user);
  const result = await db.$transaction(async (tx) => {
    const updated = await tx.user.update({ where: { id: user.id }, data: { disabled }, select: PUBLIC_USER_SELECT });
    const revoked = disabled ? (await tx.session.deleteMany({ where: { userId: user.id } })).count : 0;
    await recordAudit(tx, {
      ...audit,
      action: disabled ? 'user.disable' : 'user.enable',
      details: { user: user.name, sessionsRevoked: revoked },
    });
    return updated;
  });
  forgetCachedSessions();
  return result;
}

/**
 * An admin's reset: a new random password, shown once to the admin to hand over, and every session of the
 * user ends. Only its hash is stored.
 */
export async function resetPassword(options: { db: Db; userId: string; audit: AuditWho }) {
  const { db, audit } = options;
  const user = await findUser(db, options.userId);
  const password = generatePassword();
  const passwordHash = await hashPassword(password);
  await db.$transaction(async (tx) => {
    await tx.user.update({ where: { id: user.id }, data: { passwordHash, passwordChangedAt: new Date() } });
    const revoked = (await tx.session.deleteMany({ where: { userId: user.id } })).count;
    await recordAudit(tx, {
      ...audit,
      action: 'user.reset-password',
      details: { user: user.name, sessionsRevoked: revoked },
    });
  });
  forgetCachedSessions();
  return { name: user.name, password };
}

/** Changing one's own password keeps this browser signed in and signs every other session out. */
export async function changeOwnPassword(options: {
  db: Db;
  userId: string;
  sessionId: string | null;
  current: string;
  next: string;
  audit: AuditWho;
}) {
  const { db, audit } = options;
  const user = await findUser(db, options.userId);
  if (!(await verifyPassword(options.current, user.passwordHash))) {
    await db.$transaction((tx) =>
      recordAudit(tx, {
        ...audit,
        action: 'account.password-change',
        result: 'refused',
        details: { reason: 'current password was wrong' },
      }),
    );
    throw new UserError({ message: 'The current password is wrong.', field: 'current' });
  }
  checkPassword(options.next, 'next');
  if (options.next === options.current) {
    throw new UserError({ message: 'The new password is the same as the current one.', field: 'next' });
  }
  const passwordHash = await hashPassword(options.next);
  await db.$transaction(async (tx) => {
    await tx.user.update({ where: { id: user.id }, data: { passwordHash, passwordChangedAt: new Date() } });
    const revoked = (
      await tx.session.deleteMany({
        where: { userId: user.id, ...(options.sessionId ? { id: { not: options.sessionId } } : {}) },
      })
    ).count;
    await recordAudit(tx, { ...audit, action: 'account.password-change', details: { otherSessionsRevoked: revoked } });
  });
  forgetCachedSessions();
}
