import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountRouter } from '../api/routers/account';
import { usersRouter } from '../api/routers/users';
import { auditRouter } from '../api/routers/audit';
import { migrationRouter } from '../api/routers/migration';
import { createCallerFactory, createContextInner, createTRPCRouter, type Actor } from '../api/trpc';
import { createTestDb, type TestDb } from '../testing/test-db';
import { verifyAuditChain } from '../audit/verify';
import { hashPassword, verifyPassword } from './password';
import { addressKey, recordFailure, SIGN_IN_LIMITS } from './rate-limit';
import { createSession, hashSessionToken, readSessionToken, resolveSession, sessionCookie } from './session';
import { signIn } from './sign-in';
import { addUser } from './users';

const router = createTRPCRouter({
  account: accountRouter,
  users: usersRouter,
  audit: auditRouter,
  migration: migrationRouter,
});
const createCaller = createCallerFactory(router);
const PASSWORD = 'correct horse battery';
const CLI = { actor: 'cli:test', clientAddress: null };

let t: TestDb;

beforeAll(async () => {
  t = createTestDb();
  await addUser({ db: t.db, name: 'alice', role: 'admin', password: PASSWORD, audit: CLI });
  await addUser({ db: t.db, name: 'victor', role: 'viewer', password: PASSWORD, audit: CLI });
  await addUser({ db: t.db, name: 'olga', role: 'operator', password: PASSWORD, audit: CLI });
});
afterAll(() => t.cleanup());

async function actorOf(name: string): Promise<Actor> {
  const outcome = await signIn({ db: t.db, name, password: PASSWORD, clientAddress: '192.0.2.1', userAgent: 'test' });
  if (!outcome.ok) throw new Error(outcome.message);
  const user = await resolveSession({ db: t.db, token: outcome.token });
  if (!user) throw new Error('no session');
  return { name: user.name, role: user.role, userId: user.userId, sessionId: user.sessionId };
}

function callerAs(actor: Actor | null) {
  return createCaller(createContextInner({ db: t.db, actor, clientAddress: '192.0.2.1' }));
}

async function trpcError(promise: Promise<unknown>): Promise<TRPCError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TRPCError);
  return error as TRPCError;
}

describe('passwords', () => {
  it('hashes with scrypt and a per-hash salt, and verifies only the right password', async () => {
    const first = await hashPassword(PASSWORD);
    const second = await hashPassword(PASSWORD);
    expect(first).toMatch(/^scrypt\$32768\$8\$3\$[\w-]{22}\$[\w-]{43}$/);
    expect(first).not.toBe(second);
    expect(await verifyPassword(PASSWORD, first)).toBe(true);
    expect(await verifyPassword('correct horse batterY', first)).toBe(false);
    expect(await verifyPassword(PASSWORD, 'garbage')).toBe(false);
  });
});

describe('sign-in', () => {
  it('opens a session stored only as a hash, and audits it', async () => {
    const outcome = await signIn({
      db: t.db,
      name: ' Alice ',
      password: PASSWORD,
      clientAddress: '192.0.2.9',
      userAgent: 'ua',
    });
    if (!outcome.ok) throw new Error(outcome.message);
    expect(outcome.user).toEqual({ name: 'alice', role: 'admin' });
    const row = await t.db.session.findFirstOrThrow({ where: { tokenHash: hashSessionToken(outcome.token) } });
    expect(JSON.stringify(row)).not.toContain(outcome.token);
    const audit = await t.db.auditEvent.findFirstOrThrow({ where: { action: 'auth.sign-in', actor: 'alice' } });
    expect(audit).toMatchObject({ result: 'ok', clientAddress: '192.0.2.9' });
  });

  it('refuses a wrong password and an unknown name with the same sentence, audited without the password', async () => {
    const wrong = await signIn({
      db: t.db,
      name: 'victor',
      password: 'not the password',
      clientAddress: '192.0.2.2',
      userAgent: null,
    });
    const unknown = await signIn({
      db: t.db,
      name: 'mallory',
      password: 'not the password',
      clientAddress: '192.0.2.2',
      userAgent: null,
    });
    expect(wrong).toEqual({ ok: false, status: 401, message: 'Wrong name or password.' });
    expect(unknown).toEqual(wrong);
    const rows = await t.db.auditEvent.findMany({ where: { action: 'auth.sign-in', result: 'refused' } });
    expect(rows.map((row) => JSON.parse(row.details) as unknown)).toEqual([
      { account: 'victor', reason: 'wrong password' },
      { account: 'mallory', reason: 'no such account' },
    ]);
    expect(rows.every((row) => !row.details.includes('not the password') && row.actor === 'anonymous')).toBe(true);
  });

  it('locks an account after 5 failures, even against the right password, then counts per address too', async () => {
    await addUser({ db: t.db, name: 'target', role: 'viewer', password: PASSWORD, audit: CLI });
    for (let attempt = 0; attempt < SIGN_IN_LIMITS.account.max; attempt++) {
      const outcome = await signIn({
        db: t.db,
        name: 'target',
        password: `guess ${attempt}`,
        clientAddress: `198.51.100.${attempt}`,
        userAgent: null,
      });
      expect(outcome).toMatchObject({ ok: false, status: 401 });
    }
    const locked = await signIn({
      db: t.db,
      name: 'target',
      password: PASSWORD,
      clientAddress: '198.51.100.99',
      userAgent: null,
    });
    expect(locked).toMatchObject({ ok: false, status: 429, message: expect.stringMatching(/Try again in 15 minutes/) });
    const later = new Date(Date.now() + SIGN_IN_LIMITS.account.windowMs + 1000);
    const after = await signIn({
      db: t.db,
      name: 'target',
      password: PASSWORD,
      clientAddress: '198.51.100.99',
      userAgent: null,
      now: later,
    });
    expect(after.ok).toBe(true);
    const counters = await t.db.rateLimit.findMany();
    expect(counters.map((row) => row.key)).toContain('sign-in:address:198.51.100.0');
  });

  it('refuses any account from an address past its limit', async () => {
    // All but the last failure counted directly (each real attempt costs a password hash), then one for real.
    const key = addressKey('203.0.113.5');
    for (let attempt = 1; attempt < SIGN_IN_LIMITS.address.max; attempt++) {
      await recordFailure({ db: t.db, key, limit: SIGN_IN_LIMITS.address });
    }
    const last = await signIn({
      db: t.db,
      name: 'nobody',
      password: 'x',
      clientAddress: '203.0.113.5',
      userAgent: null,
    });
    expect(last).toMatchObject({ ok: false, status: 401 });
    const outcome = await signIn({
      db: t.db,
      name: 'olga',
      password: PASSWORD,
      clientAddress: '203.0.113.5',
      userAgent: null,
    });
    expect(outcome).toMatchObject({ ok: false, status: 429 });
  });
});

describe('sessions', () => {
  it('end after the idle timeout and after the absolute timeout, and the row is removed', async () => {
    const user = await t.db.user.findUniqueOrThrow({ where: { name: 'victor' } });
    // lastSeenAt is written at most once a minute, so the idle timeout is longer than that.
    const policy = { idleMs: 300_000, maxMs: 3_600_000 };
    const start = new Date('2026-01-01T00:00:00Z');
    const session = await createSession({
      db: t.db,
      userId: user.id,
      userAgent: null,
      clientAddress: null,
      policy,
      now: start,
    });
    const at = (ms: number) => new Date(start.getTime() + ms);
    expect(await resolveSession({ db: t.db, token: session.token, policy, now: at(301_000) })).toBeNull();
    expect(await t.db.session.count({ where: { id: session.sessionId } })).toBe(0);

    const active = await createSession({
      db: t.db,
      userId: user.id,
      userAgent: null,
      clientAddress: null,
      policy,
      now: start,
    });
    for (let ms = 50_000; ms < 3_600_000; ms += 200_000) {
      if (!(await resolveSession({ db: t.db, token: active.token, policy, now: at(ms) })))
        throw new Error(`ended at ${ms}`);
    }
    expect(await resolveSession({ db: t.db, token: active.token, policy, now: at(3_600_000) })).toBeNull();
  });

  it('reads the token from either cookie name and writes a Strict, HttpOnly cookie (Secure over HTTPS)', () => {
    expect(readSessionToken('a=1; ferry-session=abc; b=2')).toBe('abc');
    expect(readSessionToken('__Host-ferry-session=xyz')).toBe('xyz');
    expect(readSessionToken('other=1')).toBeNull();
    expect(sessionCookie({ token: 't', isSecure: false, maxAgeSeconds: 60 })).toBe(
      'ferry-session=t; Path=/; HttpOnly; SameSite=Strict; Max-Age=60',
    );
    expect(sessionCookie({ token: 't', isSecure: true, maxAgeSeconds: 60 })).toBe(
      '__Host-ferry-session=t; Path=/; HttpOnly; SameSite=Strict; Max-Age=60; Secure',
    );
  });
});

describe('authorisation on every call', () => {
  it('refuses a signed-out caller with 401 and writes nothing', async () => {
    const before = await t.db.auditEvent.count();
    const error = await trpcError(callerAs(null).users.list());
    expect(error.code).toBe('UNAUTHORIZED');
    expect(await t.db.auditEvent.count()).toBe(before);
    expect(await callerAs(null).account.status()).toEqual({ hasUsers: true, signedIn: null });
  });

  it('refuses a viewer an operator call and an operator an admin call, naming the role, audited once each', async () => {
    const viewer = await actorOf('victor');
    const operator = await actorOf('olga');
    const refusedStart = await trpcError(callerAs(viewer).migration.cancel({ id: 'nonexistent' }));
    expect(refusedStart).toMatchObject({ code: 'FORBIDDEN', message: 'This needs the operator role; you are viewer.' });
    const refusedUsers = await trpcError(callerAs(operator).users.list());
    expect(refusedUsers).toMatchObject({ code: 'FORBIDDEN', message: 'This needs the admin role; you are operator.' });
    const rows = await t.db.auditEvent.findMany({ where: { action: 'access.refused' }, orderBy: { id: 'asc' } });
    expect(rows.map((row) => [row.actor, row.result, JSON.parse(row.details)])).toEqual([
      ['victor', 'refused', { target: 'migration.cancel', needs: 'operator', role: 'viewer' }],
      ['olga', 'refused', { target: 'users.list', needs: 'admin', role: 'operator' }],
    ]);
  });

  it('hides virsh output from viewers but not from operators', async () => {
    const migration = await t.db.migration.create({
      data: {
        vmName: 'vm1',
        sourceAlias: 'hv1',
        sourceUri: 'qemu+ssh://root@hv1/system?keyfile=/etc/ferry/key',
        destinationAlias: 'hv2',
        destinationUri: 'qemu+ssh://root@hv2/system',
        options: '{}',
        actor: 'olga',
        state: 'failed',
        output: 'error: /etc/ferry/secret contents',
        rawError: 'error: /etc/ferry/secret contents',
      },
    });
    const asViewer = await callerAs(await actorOf('victor')).migration.get({ id: migration.id });
    expect(asViewer).toMatchObject({ output: '', rawError: null });
    expect(JSON.stringify(asViewer)).not.toMatch(/keyfile|secret/);
    const asOperator = await callerAs(await actorOf('olga')).migration.get({ id: migration.id });
    expect(asOperator.rawError).toContain('secret');
    expect(JSON.stringify(asOperator)).not.toContain('keyfile');
  });
});

describe('my account and the users page', () => {
  it('changes a password, keeps this session and signs the others out', async () => {
    await addUser({ db: t.db, name: 'carol', role: 'viewer', password: PASSWORD, audit: CLI });
    const here = await actorOf('carol');
    const elsewhere = await actorOf('carol');
    const caller = callerAs(here);
    expect((await caller.account.sessions()).map((s) => s.isCurrent)).toEqual([true, false]);
    const wrong = await trpcError(
      caller.account.changePassword({ current: 'nope nope nope', next: 'a new password 1' }),
    );
    expect(wrong).toMatchObject({ code: 'BAD_REQUEST', message: 'The current password is wrong.' });
    await caller.account.changePassword({ current: PASSWORD, next: 'a new password 1' });
    expect(await t.db.session.count({ where: { id: elsewhere.sessionId ?? '' } })).toBe(0);
    expect(await t.db.session.count({ where: { id: here.sessionId ?? '' } })).toBe(1);
    const outcome = await signIn({
      db: t.db,
      name: 'carol',
      password: 'a new password 1',
      clientAddress: null,
      userAgent: null,
    });
    expect(outcome.ok).toBe(true);
    const actions = (await t.db.auditEvent.findMany({ where: { action: 'account.password-change' } })).map(
      (row) => row.result,
    );
    expect(actions).toEqual(['refused', 'ok']);
  });

  it('signs out everywhere, including this browser', async () => {
    const carol = await actorOf('carol').catch(() => null);
    const user = await t.db.user.findUniqueOrThrow({ where: { name: 'carol' } });
    const actor: Actor = carol ?? { name: 'carol', role: 'viewer', userId: user.id, sessionId: null };
    const result = await callerAs(actor).account.signOutEverywhere();
    expect(result.sessionsRevoked).toBeGreaterThan(0);
    expect(await t.db.session.count({ where: { userId: user.id } })).toBe(0);
  });

  it('lets an admin add, change role, disable and reset, each audited; keeps one admin', async () => {
    const admin = callerAs(await actorOf('alice'));
    const dave = await admin.users.add({ name: 'Dave', role: 'viewer', password: PASSWORD });
    expect(dave).toMatchObject({ name: 'dave', role: 'viewer' });
    expect(dave).not.toHaveProperty('passwordHash');
    await admin.users.setRole({ id: dave.id, role: 'operator' });
    const daveSession = await actorOf('dave');
    await admin.users.setDisabled({ id: dave.id, disabled: true });
    expect(await t.db.session.count({ where: { id: daveSession.sessionId ?? '' } })).toBe(0);
    expect(
      await signIn({ db: t.db, name: 'dave', password: PASSWORD, clientAddress: null, userAgent: null }),
    ).toMatchObject({
      ok: false,
      message: expect.stringMatching(/disabled/),
    });
    await admin.users.setDisabled({ id: dave.id, disabled: false });
    const reset = await admin.users.resetPassword({ id: dave.id });
    expect(reset.password).toHaveLength(20);
    expect(
      (await signIn({ db: t.db, name: 'dave', password: reset.password, clientAddress: null, userAgent: null })).ok,
    ).toBe(true);

    const alice = await t.db.user.findUniqueOrThrow({ where: { name: 'alice' } });
    const lastAdmin = await trpcError(admin.users.setRole({ id: alice.id, role: 'viewer' }));
    expect(lastAdmin).toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/at least one enabled admin/) });
    const list = await admin.users.list();
    expect(list.find((user) => user.name === 'alice')?.isYou).toBe(true);
    const actions = (
      await t.db.auditEvent.findMany({ where: { action: { startsWith: 'user.' } }, orderBy: { id: 'asc' } })
    )
      .map((row) => row.action)
      .filter((action) => action !== 'user.add' || true);
    expect(actions.slice(-5)).toEqual(['user.add', 'user.role', 'user.disable', 'user.enable', 'user.reset-password']);
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true });
  });
});
