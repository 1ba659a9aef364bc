import { TRPCError } from '@trpc/server';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeysRouter } from '../api/routers/api-keys';
import { createCallerFactory, createContextInner, createTRPCRouter, type Actor } from '../api/trpc';
import { addUser } from '../auth/users';
import { UserError } from '../errors';
import { createTestDb, type TestDb } from '../testing/test-db';
import { addApiKey, parsePublicKeyLine, removeApiKey } from './keys';

/** Registering keys: what a pasted line may be, the sentences for what it may not, and the audit trail. */
const dir = mkdtempSync(path.join(tmpdir(), 'ferry-keys-test-'));
const CLI = { actor: 'cli:test', clientAddress: null };
let t: TestDb;
const users: Record<string, Actor & { userId: string }> = {};

function keygen(name: string, args: string[]): { line: string; fingerprint: string; privateKey: string } {
  const file = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', ...args, '-N', '', '-C', `${name} comment`, '-f', file]);
  const fingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${file}.pub`], { encoding: 'utf8' });
  return {
    line: readFileSync(`${file}.pub`, 'utf8'),
    fingerprint: fingerprint.split(' ')[1] ?? '',
    privateKey: readFileSync(file, 'utf8'),
  };
}

beforeAll(async () => {
  t = createTestDb();
  for (const [name, role] of [
    ['root', 'admin'],
    ['val', 'viewer'],
    ['otto', 'operator'],
  ] as const) {
    const user = await addUser({ db: t.db, name, role, password: 'correct horse battery', audit: CLI });
    users[name] = { name, role, userId: user.id, sessionId: null };
  }
});
afterAll(async () => {
  await t.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

function problemOf(text: string): string {
  try {
    parsePublicKeyLine(text);
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).field).toBe('publicKey');
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('parsing a pasted public key', () => {
  it.each([
    ['ed25519', ['-t', 'ed25519'], 'ssh-ed25519'],
    ['ecdsa-256', ['-t', 'ecdsa', '-b', '256'], 'ecdsa-sha2-nistp256'],
    ['ecdsa-384', ['-t', 'ecdsa', '-b', '384'], 'ecdsa-sha2-nistp384'],
    ['ecdsa-521', ['-t', 'ecdsa', '-b', '521'], 'ecdsa-sha2-nistp521'],
    ['rsa-2048', ['-t', 'rsa', '-b', '2048'], 'ssh-rsa'],
  ])('%s: the fingerprint is what ssh-keygen -l prints; the comment is kept apart', (name, args, type) => {
    const key = keygen(name, args);
    const parsed = parsePublicKeyLine(`  ${key.line}\n`);
    expect(parsed.type).toBe(type);
    expect(parsed.fingerprint).toBe(key.fingerprint);
    expect(parsed.comment).toBe(`${name} comment`);
    expect(parsed.line).toBe(key.line.split(' ').slice(0, 2).join(' '));
  });

  it('refuses what is not an acceptable key, each with a sentence saying why', () => {
    const ed = keygen('refusals', ['-t', 'ed25519']);
    const [, base64] = ed.line.split(' ');
    expect(problemOf('')).toMatch(/^Paste an OpenSSH public key/);
    expect(problemOf('hello world')).toMatch(/not an OpenSSH public key Ferry accepts/);
    expect(problemOf(ed.privateKey)).toMatch(/^That is a private key/);
    expect(problemOf(keygen('dsa', ['-t', 'dsa']).line)).toMatch(/^DSA keys are not accepted/);
    expect(problemOf(keygen('rsa-1024', ['-t', 'rsa', '-b', '1024']).line)).toBe(
      'This RSA key has 1024 bits; Ferry needs at least 2048 (or use ed25519).',
    );
    expect(problemOf(`sk-ssh-ed25519@openssh.com ${base64}`)).toMatch(/^Security-key/);
    expect(problemOf(`ssh-ed25519-cert-v01@openssh.com ${base64}`)).toMatch(/^SSH certificates/);
    expect(problemOf(`from="10.0.0.1",no-pty ${ed.line}`)).toMatch(/without authorized_keys options/);
    expect(problemOf(`ssh-rsa ${base64}`)).toMatch(/^The key says "ssh-rsa" but its data is a ssh-ed25519 key\.$/);
    expect(problemOf('ssh-ed25519 AAAA!!!')).toMatch(/^That is not a valid ssh-ed25519 public key/);
    expect(problemOf(`${ed.line.trim()}\n${ed.line.trim()}`)).toBe('Paste one key: a single line.');
  });
});

describe('the registry', () => {
  it('adds a key with the line’s comment, refuses the same key twice (for anyone), audits add and remove', async () => {
    const key = keygen('registry', ['-t', 'ed25519']);
    const added = await addApiKey({ db: t.db, userId: users.val?.userId ?? '', publicKey: key.line, audit: CLI });
    expect(added).toMatchObject({ fingerprint: key.fingerprint, type: 'ssh-ed25519', comment: 'registry comment' });
    expect(Object.keys(added).sort()).toEqual([
      'comment',
      'createdAt',
      'expiresAt',
      'fingerprint',
      'id',
      'lastUsedAt',
      'type',
    ]);
    for (const userId of [users.val?.userId ?? '', users.otto?.userId ?? '']) {
      await expect(addApiKey({ db: t.db, userId, publicKey: key.line, audit: CLI })).rejects.toThrow(
        `This key (${key.fingerprint}) is already registered`,
      );
    }
    await removeApiKey({ db: t.db, keyId: added.id, audit: CLI });
    const rows = await t.db.auditEvent.findMany({
      where: { action: { startsWith: 'apikey.' } },
      orderBy: { id: 'asc' },
    });
    expect(rows.map((row) => [row.action, JSON.parse(row.details).fingerprint])).toEqual([
      ['apikey.add', key.fingerprint],
      ['apikey.remove', key.fingerprint],
    ]);
    expect(JSON.parse(rows[0]?.details ?? '{}')).toMatchObject({ user: 'val', type: 'ssh-ed25519' });
  });

  it('refuses an expiry in the past and a comment with control characters', async () => {
    const key = keygen('expiry', ['-t', 'ed25519']);
    const base = { db: t.db, userId: users.val?.userId ?? '', publicKey: key.line, audit: CLI };
    await expect(addApiKey({ ...base, expiresAt: new Date(Date.now() - 1000) })).rejects.toMatchObject({
      field: 'expiresAt',
    });
    await expect(addApiKey({ ...base, comment: 'a\u001b[31mred' })).rejects.toMatchObject({ field: 'comment' });
    const later = new Date(Date.now() + 86_400_000);
    const added = await addApiKey({ ...base, comment: '  ci  ', expiresAt: later });
    expect(added).toMatchObject({ comment: 'ci', expiresAt: later });
  });
});

describe('the api keys router', () => {
  const caller = createCallerFactory(createTRPCRouter({ apiKeys: apiKeysRouter }));
  const as = (name: string) =>
    caller(createContextInner({ db: t.db, actor: users[name] ?? null, clientAddress: '192.0.2.3' }));

  it('lets anyone manage their own keys and only their own', async () => {
    const mine = keygen('otto-own', ['-t', 'ecdsa', '-b', '256']);
    const added = await as('otto').apiKeys.addMine({ publicKey: mine.line });
    expect((await as('otto').apiKeys.mine()).map((key) => key.fingerprint)).toContain(mine.fingerprint);
    const error = await as('val')
      .apiKeys.removeMine({ id: added.id })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TRPCError);
    expect((error as TRPCError).message).toBe('That key is no longer registered.');
    expect(await as('otto').apiKeys.removeMine({ id: added.id })).toEqual({ ok: true });
    const row = await t.db.auditEvent.findFirstOrThrow({ where: { action: 'apikey.remove' }, orderBy: { id: 'desc' } });
    expect(row).toMatchObject({ actor: 'otto', clientAddress: '192.0.2.3' });
  });

  it('keeps other users’ keys to admins', async () => {
    const error = await as('otto')
      .apiKeys.list({ userId: users.val?.userId ?? '' })
      .catch((caught: unknown) => caught);
    expect((error as TRPCError).code).toBe('FORBIDDEN');
    const key = keygen('for-val', ['-t', 'ed25519']);
    const added = await as('root').apiKeys.add({
      userId: users.val?.userId ?? '',
      publicKey: key.line,
      comment: 'laptop',
    });
    expect((await as('root').apiKeys.list({ userId: users.val?.userId ?? '' })).map((k) => k.id)).toContain(added.id);
    expect((await as('val').apiKeys.mine()).map((k) => k.comment)).toContain('laptop');
    await as('root').apiKeys.remove({ id: added.id });
    const row = await t.db.auditEvent.findFirstOrThrow({ where: { action: 'apikey.remove' }, orderBy: { id: 'desc' } });
    expect(row.actor).toBe('root');
  });
});
