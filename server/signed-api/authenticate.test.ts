import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, changeRole, setDisabled } from '../auth/users';
import { createTestDb, type TestDb } from '../testing/test-db';
import { authenticateSignedRequest, type SignedAuthOutcome } from './authenticate';
import { addApiKey, removeApiKey } from './keys';
import { apiNamespace } from './protocol';
import { cryptoSigner, keygenSigner, newNonce, signedRequest, type RequestSigner } from './testing';

/**
 * The request layer of the signed API against real SQLite, with keys made by the real ssh-keygen: every
 * refusal the issue lists, each with its sentence, and what an accepted request leaves behind.
 */
const NAMESPACE = apiNamespace('unit');
const URL_BASE = 'http://127.0.0.1:3111';
const CLI = { actor: 'cli:test', clientAddress: null };
const PASSWORD = 'correct horse battery';

let t: TestDb;
const dir = mkdtempSync(path.join(tmpdir(), 'ferry-auth-sig-'));
const signers: Record<string, RequestSigner> = {};
const userIds: Record<string, string> = {};

function makeKey(name: string, type: string[]): string {
  const file = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', ...type, '-N', '', '-C', `${name}@test`, '-f', file]);
  return file;
}

beforeAll(async () => {
  t = createTestDb();
  for (const [name, role] of [
    ['alice', 'admin'],
    ['olga', 'operator'],
    ['vera', 'viewer'],
  ] as const) {
    const user = await addUser({ db: t.db, name, role, password: PASSWORD, audit: CLI });
    userIds[name] = user.id;
  }
  signers.alice = keygenSigner(makeKey('alice', ['-t', 'ed25519']));
  signers.olga = cryptoSigner(readFileSync(makeKey('olga', ['-t', 'ecdsa', '-b', '384']), 'utf8'));
  signers.vera = keygenSigner(makeKey('vera', ['-t', 'rsa', '-b', '2048']));
  signers.stranger = keygenSigner(makeKey('stranger', ['-t', 'ed25519']));
  for (const name of ['alice', 'olga', 'vera']) {
    await addApiKey({
      db: t.db,
      userId: userIds[name] ?? '',
      publicKey: signers[name]?.publicKeyLine ?? '',
      audit: CLI,
    });
  }
});
afterAll(async () => {
  await t.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

function signer(name: string): RequestSigner {
  const value = signers[name];
  if (!value) throw new Error(`no signer ${name}`);
  return value;
}

function authenticate(request: Request, now?: Date): Promise<SignedAuthOutcome> {
  return authenticateSignedRequest({ db: t.db, request, clientAddress: '192.0.2.7', namespace: NAMESPACE, now });
}

function sign(
  name: string,
  options: {
    path?: string;
    body?: string;
    method?: string;
    timestamp?: number;
    nonce?: string;
    namespace?: string;
  } = {},
) {
  return signedRequest({
    signer: signer(name),
    namespace: options.namespace ?? NAMESPACE,
    url: `${URL_BASE}${options.path ?? '/api/trpc/apiKeys.mine'}`,
    body: options.body,
    method: options.method,
    timestamp: options.timestamp,
    nonce: options.nonce,
  });
}

/** A copy of `request` with one thing changed after signing: what an attacker on the path could do. */
function altered(request: Request, change: { url?: string; body?: string; method?: string }): Request {
  return new Request(change.url ?? request.url, {
    method: change.method ?? request.method,
    headers: request.headers,
    body: change.body,
  });
}

function refusal(outcome: SignedAuthOutcome): string {
  if (outcome.ok) throw new Error('expected a refusal');
  expect(outcome.status).toBe(401);
  return outcome.message;
}

describe('an accepted signed request', () => {
  it('acts as the key’s user with the user’s role, stores the nonce, and audits user and fingerprint', async () => {
    const nonce = newNonce();
    const outcome = await authenticate(sign('olga', { nonce }));
    expect(outcome).toEqual({
      ok: true,
      actor: {
        name: 'olga',
        role: 'operator',
        userId: userIds.olga,
        sessionId: null,
        keyFingerprint: signer('olga').fingerprint,
      },
    });
    expect(await t.db.apiNonce.count({ where: { nonce, fingerprint: signer('olga').fingerprint } })).toBe(1);
    const row = await t.db.auditEvent.findFirstOrThrow({ where: { action: 'api.request' }, orderBy: { id: 'desc' } });
    expect(row).toMatchObject({ actor: 'olga', result: 'ok', clientAddress: '192.0.2.7' });
    expect(JSON.parse(row.details)).toEqual({
      fingerprint: signer('olga').fingerprint,
      request: 'GET /api/trpc/apiKeys.mine',
    });
    const key = await t.db.apiKey.findUniqueOrThrow({ where: { fingerprint: signer('olga').fingerprint } });
    expect(key.lastUsedAt).not.toBeNull();
  });

  it('accepts every key type, a POST body, and a query the client ordered differently', async () => {
    const body = JSON.stringify({ json: { publicKey: 'x' } });
    expect((await authenticate(sign('alice', { path: '/api/trpc/apiKeys.addMine', body }))).ok).toBe(true);
    expect((await authenticate(sign('vera', { path: '/api/audit/export?format=csv&actor=olga' }))).ok).toBe(true);
    const request = sign('vera', { path: '/api/audit/export?actor=olga&format=csv' });
    expect(
      (await authenticate(altered(request, { url: `${URL_BASE}/api/audit/export?format=csv&actor=olga` }))).ok,
    ).toBe(true);
  });

  it('follows the user’s current role', async () => {
    await changeRole({ db: t.db, userId: userIds.vera ?? '', role: 'operator', audit: CLI });
    const outcome = await authenticate(sign('vera'));
    expect(outcome.ok && outcome.actor.role).toBe('operator');
    await changeRole({ db: t.db, userId: userIds.vera ?? '', role: 'viewer', audit: CLI });
    const again = await authenticate(sign('vera'));
    expect(again.ok && again.actor.role).toBe('viewer');
  });

  it('leaves the body readable for the handler', async () => {
    const body = JSON.stringify({ json: { hello: 'world' } });
    const request = sign('alice', { path: '/api/trpc/apiKeys.addMine', body });
    expect((await authenticate(request)).ok).toBe(true);
    expect(await request.text()).toBe(body);
  });
});

describe('refusals', () => {
  it('wrong namespace', async () => {
    const message = refusal(await authenticate(sign('alice', { namespace: apiNamespace('elsewhere') })));
    expect(message).toBe('Refused: wrong namespace; sign with "ferry-api@unit" (GET /api/signed-api says which).');
  });

  it('a signature for another purpose (git) does not verify as an API request', async () => {
    expect(refusal(await authenticate(sign('alice', { namespace: 'git' })))).toMatch(/wrong namespace/);
  });

  it('tampered body', async () => {
    const request = sign('alice', { path: '/api/trpc/apiKeys.addMine', body: '{"json":{"id":"a"}}' });
    const message = refusal(await authenticate(altered(request, { body: '{"json":{"id":"b"}}' })));
    expect(message).toBe('Refused: the signature does not verify.');
  });

  it('tampered path, query and method', async () => {
    const request = sign('alice', { path: '/api/trpc/apiKeys.mine?x=1' });
    for (const change of [
      { url: `${URL_BASE}/api/trpc/users.list?x=1` },
      { url: `${URL_BASE}/api/trpc/apiKeys.mine?x=2` },
      { url: `${URL_BASE}/api/trpc/apiKeys.mine` },
      { method: 'DELETE' },
    ]) {
      expect(refusal(await authenticate(altered(request, change)))).toBe('Refused: the signature does not verify.');
    }
  });

  it('a key that signs for another key’s fingerprint', async () => {
    const request = sign('stranger');
    const headers = new Headers(request.headers);
    headers.set('x-ferry-key', signer('alice').fingerprint);
    const message = refusal(await authenticate(new Request(request.url, { headers })));
    expect(message).toBe('Refused: the signature does not verify.');
  });

  it('reused nonce: the same captured request twice', async () => {
    const request = sign('alice');
    const replay = altered(request, {});
    expect((await authenticate(request)).ok).toBe(true);
    expect(refusal(await authenticate(replay))).toBe(
      'Refused: nonce already used; every request must be signed afresh.',
    );
    const row = await t.db.auditEvent.findFirstOrThrow({ where: { action: 'api.request' }, orderBy: { id: 'desc' } });
    expect(row).toMatchObject({ actor: 'alice', result: 'refused' });
    expect(JSON.parse(row.details)).toMatchObject({ fingerprint: signer('alice').fingerprint });
  });

  it('the same nonce re-signed by another key is that key’s own nonce', async () => {
    const nonce = newNonce();
    expect((await authenticate(sign('alice', { nonce }))).ok).toBe(true);
    expect((await authenticate(sign('olga', { nonce }))).ok).toBe(true);
  });

  it('stale or future timestamp (outside ±60 s)', async () => {
    // The server's clock is pinned: ssh-keygen may take seconds on a loaded machine.
    const now = Math.floor(Date.now() / 1000);
    const serverNow = new Date(now * 1000);
    for (const timestamp of [now - 61, now + 61]) {
      const message = refusal(await authenticate(sign('alice', { timestamp }), serverNow));
      expect(message).toBe("Refused: the timestamp is outside ±60 s of the server's clock; check this machine's time.");
    }
    expect((await authenticate(sign('alice', { timestamp: now - 60 }), serverNow)).ok).toBe(true);
    expect((await authenticate(sign('alice', { timestamp: now + 60 }), serverNow)).ok).toBe(true);
  });

  it('unknown key', async () => {
    const message = refusal(await authenticate(sign('stranger')));
    expect(message).toBe(`Refused: unknown key ${signer('stranger').fingerprint}; register it under My account first.`);
  });

  it('expired key', async () => {
    const fingerprint = signer('olga').fingerprint;
    const past = new Date(Date.now() - 1000);
    await t.db.apiKey.update({ where: { fingerprint }, data: { expiresAt: past } });
    try {
      expect(refusal(await authenticate(sign('olga')))).toBe(`Refused: the key expired on ${past.toISOString()}.`);
    } finally {
      await t.db.apiKey.update({ where: { fingerprint }, data: { expiresAt: null } });
    }
  });

  it('disabled user; enabled again, the key works again', async () => {
    await setDisabled({ db: t.db, userId: userIds.olga ?? '', disabled: true, audit: CLI });
    expect(refusal(await authenticate(sign('olga')))).toBe("Refused: the key's user is disabled.");
    await setDisabled({ db: t.db, userId: userIds.olga ?? '', disabled: false, audit: CLI });
    expect((await authenticate(sign('olga'))).ok).toBe(true);
  });

  it('a removed key is unknown at once', async () => {
    const extra = keygenSigner(makeKey('extra', ['-t', 'ecdsa', '-b', '256']));
    const key = await addApiKey({ db: t.db, userId: userIds.vera ?? '', publicKey: extra.publicKeyLine, audit: CLI });
    const request = (nonce: string) =>
      signedRequest({ signer: extra, namespace: NAMESPACE, url: `${URL_BASE}/api/trpc/apiKeys.mine`, nonce });
    expect((await authenticate(request(newNonce()))).ok).toBe(true);
    await removeApiKey({ db: t.db, keyId: key.id, audit: CLI });
    expect(refusal(await authenticate(request(newNonce())))).toMatch(/^Refused: unknown key /);
  });

  it('malformed or missing headers, each with its sentence', async () => {
    const good = sign('alice');
    const cases: [string, string | null, RegExp][] = [
      ['x-ferry-nonce', null, /needs all of/],
      ['x-ferry-key', 'MD5:aa:bb', /x-ferry-key must be/],
      ['x-ferry-timestamp', '17e8', /unix seconds/],
      ['x-ferry-nonce', 'short', /x-ferry-nonce must be/],
      ['x-ferry-signature', 'not base64!', /base64 of an SSHSIG blob/],
      ['x-ferry-signature', Buffer.from('SSHSIG garbage').toString('base64'), /not an SSHSIG signature/],
    ];
    for (const [name, value, expected] of cases) {
      const headers = new Headers(good.headers);
      if (value === null) headers.delete(name);
      else headers.set(name, value);
      expect(refusal(await authenticate(new Request(good.url, { headers })))).toMatch(expected);
    }
  });

  it('refuses an oversized body with 413 before hashing it', async () => {
    const body = 'x'.repeat(1024 * 1024 + 1);
    const outcome = await authenticate(sign('alice', { path: '/api/trpc/apiKeys.addMine', body }));
    expect(outcome).toMatchObject({ ok: false, status: 413 });
  });
});

describe('nonce store', () => {
  it('forgets nonces whose window has passed', async () => {
    const old = Math.floor(Date.now() / 1000);
    expect((await authenticate(sign('vera', { timestamp: old }))).ok).toBe(true);
    const later = new Date((old + 10 * 60) * 1000);
    expect((await authenticate(sign('vera', { timestamp: old + 10 * 60 }), later)).ok).toBe(true);
    const left = await t.db.apiNonce.findMany({ where: { expiresAt: { lt: later } } });
    expect(left).toEqual([]);
  });
});
