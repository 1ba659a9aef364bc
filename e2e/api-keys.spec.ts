import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { keygenSigner, signRequestHeaders, type RequestSigner } from '../server/signed-api/testing';
import { addUserWithCli } from './auth';
import { fillStable, gotoReady } from './ready';

/**
 * API keys end to end: registered in the real pages (My account, Users), then used by a client that is not a
 * browser (Node's fetch, signing with the real ssh-keygen) against the production server, which answers by
 * key, refuses a replay, a disabled user and a removed key, and audits all of it.
 */
const BASE = `http://127.0.0.1:${process.env.E2E_PORT ?? 3100}`;
const dir = mkdtempSync(path.join(tmpdir(), 'ferry-e2e-keys-'));
let namespace = '';

function makeKey(name: string, type: string[]): { signer: RequestSigner; file: string } {
  const file = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', ...type, '-N', '', '-C', `${name}@e2e`, '-f', file]);
  return { signer: keygenSigner(file), file };
}

/** A signed API call as the CLI makes it: no cookie, no Origin, no x-ferry-request. */
function signedHeaders(signer: RequestSigner, method: string, target: string, body?: string) {
  return signRequestHeaders({ signer, namespace, method, target, body });
}

async function call(headers: Record<string, string>, target: string, init: RequestInit = {}) {
  const response = await fetch(`${BASE}${target}`, { ...init, headers: { ...headers, ...init.headers } });
  return { status: response.status, text: await response.text() };
}

async function pasteKey(page: Page, form: ReturnType<Page['getByRole']>, line: string) {
  await fillStable(form.getByLabel('Public key'), line);
  await form.getByRole('button', { name: 'Add key' }).click();
}

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  addUserWithCli({ name: 'kim', role: 'viewer', password: 'a long e2e password' });
  const response = await fetch(`${BASE}/api/signed-api`);
  namespace = ((await response.json()) as { namespace: string }).namespace;
  expect(namespace).toBe('ferry-api@ferry');
});
test.afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('a key added on My account signs API calls; a replay is refused; removing it ends it', async ({ page }) => {
  const { signer } = makeKey('admin-laptop', ['-t', 'ed25519']);
  await gotoReady(page, '/account');
  const form = page.getByRole('form', { name: 'Add an API key' });

  // Clear refusals first, inline under the field.
  const dsa = makeKey('old-dsa', ['-t', 'dsa']);
  await pasteKey(page, form, readFileSync(`${dsa.file}.pub`, 'utf8'));
  await expect(form.locator('[data-field-error="my-key-public-key"]')).toHaveText(
    'DSA keys are not accepted (OpenSSH itself dropped them); use an ed25519 key.',
  );
  await pasteKey(page, form, 'not a key');
  await expect(form.locator('[data-field-error="my-key-public-key"]')).toContainText('not an OpenSSH public key');

  await pasteKey(page, form, signer.publicKeyLine);
  const row = page.locator(`tr[data-api-key="${signer.fingerprint}"]`);
  await expect(row).toContainText('admin-laptop@e2e');
  await expect(row).toContainText('ssh-ed25519');
  // The page shows the fingerprint, never the key material.
  await expect(page.getByText(signer.publicKeyLine.split(' ')[1] ?? '')).toHaveCount(0);

  await pasteKey(page, form, signer.publicKeyLine);
  await expect(form.locator('[data-field-error="my-key-public-key"]')).toHaveText(
    `This key (${signer.fingerprint}) is already registered for e2e-admin.`,
  );

  const headers = signedHeaders(signer, 'GET', '/api/trpc/apiKeys.mine');
  const first = await call(headers, '/api/trpc/apiKeys.mine');
  expect(first.status).toBe(200);
  expect(first.text).toContain(signer.fingerprint);
  const replay = await call(headers, '/api/trpc/apiKeys.mine');
  expect(replay.status).toBe(401);
  expect(JSON.parse(replay.text)).toEqual({
    error: { message: 'Refused: nonce already used; every request must be signed afresh.' },
  });
  // Re-signed, the same call goes through again; an admin's key may call admin procedures.
  const users = await call(signedHeaders(signer, 'GET', '/api/trpc/users.list'), '/api/trpc/users.list');
  expect(users.status).toBe(200);
  expect(users.text).toContain('"kim"');

  // A signed mutation, with a body, through Ferry's own server (serve.ts) and Next.
  const body = JSON.stringify({ json: { publicKey: makeKey('second', ['-t', 'ecdsa']).signer.publicKeyLine } });
  const added = await call(
    signedHeaders(signer, 'POST', '/api/trpc/apiKeys.addMine', body),
    '/api/trpc/apiKeys.addMine',
    {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    },
  );
  expect(added.status).toBe(200);
  await gotoReady(page, '/account');
  await expect(page.locator('tr[data-api-key]')).toHaveCount(2);

  await page.getByRole('button', { name: 'Remove key admin-laptop@e2e' }).click();
  await expect(row).toHaveCount(0);
  const gone = await call(signedHeaders(signer, 'GET', '/api/trpc/apiKeys.mine'), '/api/trpc/apiKeys.mine');
  expect(gone.status).toBe(401);
  expect(gone.text).toContain(`unknown key ${signer.fingerprint}`);
});

test('an admin adds a key for a user on the Users page; the key has that user’s role and dies with the user', async ({
  page,
}) => {
  const { signer } = makeKey('kim-ci', ['-t', 'ecdsa', '-b', '384']);
  await gotoReady(page, '/users');
  await page.getByRole('button', { name: 'API keys of kim' }).click();
  const panel = page.locator('[data-api-keys-of="kim"]');
  const form = panel.getByRole('form', { name: 'Add an API key' });
  await fillStable(form.getByLabel('Comment'), 'kim on CI');
  await pasteKey(page, form, signer.publicKeyLine);
  await expect(panel.locator(`tr[data-api-key="${signer.fingerprint}"]`)).toContainText('kim on CI');

  const viewerCall = await call(signedHeaders(signer, 'GET', '/api/trpc/apiKeys.mine'), '/api/trpc/apiKeys.mine');
  expect(viewerCall.status).toBe(200);
  const adminCall = await call(signedHeaders(signer, 'GET', '/api/trpc/users.list'), '/api/trpc/users.list');
  expect(adminCall.status).toBe(403);
  expect(adminCall.text).toContain('This needs the admin role; you are viewer.');
  const exportCall = await call(
    signedHeaders(signer, 'GET', '/api/audit/export?format=jsonl&action=apikey.add'),
    '/api/audit/export?format=jsonl&action=apikey.add',
  );
  expect(exportCall.status).toBe(200);
  expect(exportCall.text).toContain(signer.fingerprint);

  await page.locator('tr[data-user-row="kim"]').getByRole('button', { name: 'Disable' }).click();
  await expect(page.locator('tr[data-user-row="kim"] [data-testid="user-status"]')).toHaveText('disabled');
  const disabled = await call(signedHeaders(signer, 'GET', '/api/trpc/apiKeys.mine'), '/api/trpc/apiKeys.mine');
  expect(disabled.status).toBe(401);
  expect(JSON.parse(disabled.text)).toEqual({ error: { message: "Refused: the key's user is disabled." } });

  // Every signed request is in the audit log with its user and its key.
  await gotoReady(page, '/audit?action=api.request');
  await expect(page.locator('tr[data-audit-row]').filter({ hasText: 'kim' }).first()).toContainText(signer.fingerprint);
});
