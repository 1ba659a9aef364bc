import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GuardedHandler } from '../auth/route-guard';
import type { SqliteFile } from '../audit/sqlite-file';
import { signInCookie, TEST_USER_PASSWORD } from '../testing/session-cookie';
import { apiNamespace } from './protocol';
import { keygenSigner, signedRequest, type RequestSigner } from './testing';

/**
 * The real route handlers (tRPC's fetch adapter behind guardRoute, the audit export, GET /api/signed-api) on a
 * real, migrated SQLite file, called with requests signed by keys from the real ssh-keygen. The handlers use
 * the process-wide database client, so DATABASE_URL points at the test file before anything that reads the
 * environment is imported: only pure modules are imported statically here.
 */
const BASE = 'http://127.0.0.1:3111';
const DEPLOYMENT = 'route-test';
const CLI = { actor: 'cli:test', clientAddress: null };

let t: { filePath: string; raw: SqliteFile };
let trpc: GuardedHandler;
let auditExport: GuardedHandler;
let describeApi: GuardedHandler;
let sessionCookie = '';
const dir = mkdtempSync(path.join(tmpdir(), 'ferry-signed-route-'));
const signers: Record<'admin' | 'viewer', RequestSigner> = {} as Record<'admin' | 'viewer', RequestSigner>;

beforeAll(async () => {
  const { applyMigrationFiles, openSqliteFile } = await import('../audit/sqlite-file');
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'ferry-signed-route-db-')), 'test.db');
  const raw = openSqliteFile(file);
  applyMigrationFiles(raw);
  t = { filePath: file, raw };
  // A client another test file of this worker left on globalThis would point at its own database.
  delete (globalThis as { ferryPrisma?: unknown }).ferryPrisma;
  process.env.DATABASE_URL = `file:${t.filePath}`;
  process.env.FERRY_DEPLOYMENT_NAME = DEPLOYMENT;
  const { addUser } = await import('../auth/users');
  const { addApiKey } = await import('./keys');
  trpc = (await import('../../app/api/trpc/[trpc]/route')).POST as GuardedHandler;
  auditExport = (await import('../../app/api/audit/export/route')).GET;
  describeApi = (await import('../../app/api/signed-api/route')).GET;
  const { db } = await import('../db');
  for (const [name, role] of [
    ['ada', 'admin'],
    ['vic', 'viewer'],
  ] as const) {
    const user = await addUser({ db, name, role, password: TEST_USER_PASSWORD, audit: CLI });
    const file = path.join(dir, name);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${name}@laptop`, '-f', file]);
    const signer = keygenSigner(file);
    signers[role] = signer;
    await addApiKey({ db, userId: user.id, publicKey: signer.publicKeyLine, audit: CLI });
  }
  sessionCookie = await signInCookie(db, 'vic');
});
afterAll(async () => {
  const { db } = await import('../db');
  await db.$disconnect();
  t.raw.close();
  rmSync(path.dirname(t.filePath), { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

const NAMESPACE = apiNamespace(DEPLOYMENT);

function signed(role: 'admin' | 'viewer', pathAndQuery: string, body?: string, headers?: Record<string, string>) {
  return signedRequest({ signer: signers[role], namespace: NAMESPACE, url: `${BASE}${pathAndQuery}`, body, headers });
}

/** The same bytes sent again: what someone who captured the request on the wire would do. */
async function replayOf(request: Request): Promise<Request> {
  const body = request.method === 'GET' ? undefined : await request.clone().text();
  return new Request(request.url, { method: request.method, headers: request.headers, body });
}

async function json(response: Response): Promise<{ result?: { data: { json: unknown } }; error?: unknown }> {
  return (await response.json()) as { result?: { data: { json: unknown } }; error?: unknown };
}

describe('signed requests through the real handlers', () => {
  it('GET /api/signed-api tells a client the namespace and the skew, without a session', async () => {
    const response = await describeApi(new Request(`${BASE}/api/signed-api`, { headers: { host: '127.0.0.1:3111' } }));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      namespace: 'ferry-api@route-test',
      maxClockSkewSeconds: 60,
      messageVersion: 'ferry-api-v1',
    });
  });

  it('a signed mutation runs as the key’s user without cookie, Origin or x-ferry-request', async () => {
    const other = path.join(dir, 'second');
    execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-N', '', '-C', 'second@ci', '-f', other]);
    const body = JSON.stringify({ json: { publicKey: keygenSigner(other).publicKeyLine, comment: 'ci runner' } });
    const response = await trpc(signed('viewer', '/api/trpc/apiKeys.addMine', body));
    expect(response.status).toBe(200);
    expect((await json(response)).result?.data.json).toMatchObject({
      comment: 'ci runner',
      type: 'ecdsa-sha2-nistp256',
    });
    const { db } = await import('../db');
    const rows = await db.auditEvent.findMany({ where: { actor: 'vic' }, orderBy: { id: 'asc' } });
    const request = rows.find((row) => row.action === 'api.request');
    expect(JSON.parse(request?.details ?? '{}')).toEqual({
      fingerprint: signers.viewer.fingerprint,
      request: 'POST /api/trpc/apiKeys.addMine',
    });
    expect(rows.map((row) => row.action)).toContain('apikey.add');
  });

  it('a captured request replayed is refused; the same request re-signed succeeds', async () => {
    const first = signed('viewer', '/api/trpc/apiKeys.mine');
    const replay = await replayOf(first);
    expect((await trpc(first)).status).toBe(200);
    const refused = await trpc(replay);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({
      error: { message: 'Refused: nonce already used; every request must be signed afresh.' },
    });
    const resigned = await trpc(signed('viewer', '/api/trpc/apiKeys.mine'));
    expect(resigned.status).toBe(200);
    expect((await json(resigned)).result?.data.json).toHaveLength(2);
  });

  it('goes through the same role checks: a viewer’s key cannot list users, an admin’s can', async () => {
    const refused = await trpc(signed('viewer', '/api/trpc/users.list'));
    expect(refused.status).toBe(403);
    expect(JSON.stringify(await refused.json())).toMatch(/This needs the admin role; you are viewer\./);
    const allowed = await trpc(signed('admin', '/api/trpc/users.list'));
    expect(allowed.status).toBe(200);
  });

  it('refuses a request that carries both a session cookie and a signature', async () => {
    const response = await trpc(signed('viewer', '/api/trpc/apiKeys.mine', undefined, { cookie: sessionCookie }));
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      error: { message: 'Refused: send either a session cookie or a signature, not both.' },
    });
  });

  it('a request re-aimed at another procedure does not verify', async () => {
    const request = signed('admin', '/api/trpc/apiKeys.mine');
    const reaimed = new Request(`${BASE}/api/trpc/users.list`, { headers: request.headers });
    const response = await trpc(reaimed);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: { message: 'Refused: the signature does not verify.' } });
  });

  it('the audit export streams for a signed viewer, and shows each signed request’s fingerprint', async () => {
    const response = await auditExport(signed('viewer', '/api/audit/export?format=jsonl&action=api.request'));
    expect(response.status).toBe(200);
    const lines = (await response.text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const line of lines) {
      expect(line.action).toBe('api.request');
      expect((line.details as { fingerprint?: string }).fingerprint).toMatch(/^SHA256:/);
    }
  });

  it('a browser’s cookie request still needs the browser checks', async () => {
    const response = await trpc(
      new Request(`${BASE}/api/trpc/apiKeys.mine`, {
        method: 'GET',
        headers: { host: '127.0.0.1:3111', cookie: sessionCookie },
      }),
    );
    expect(response.status).toBe(403);
  });
});
