import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { addUserWithCli, API_HEADERS, E2E_ADMIN, signInWithPage } from './auth';
import { fillStable, gotoReady } from './ready';

const PASSWORD = 'a long e2e password';
const SIGNED_OUT = { storageState: { cookies: [], origins: [] } };

/** A browser of its own, signed out (the specs' default is the admin). */
async function freshPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext(SIGNED_OUT);
  return context.newPage();
}

/** The sign-in form's own message (Next's route announcer is an alert too). */
function signInError(page: Page) {
  return page.locator('form').getByRole('alert');
}

async function submitSignIn(page: Page, name: string, password: string) {
  await gotoReady(page, '/sign-in');
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

test.describe.configure({ mode: 'serial' });

test.beforeAll(() => {
  addUserWithCli({ name: 'vera', role: 'viewer', password: PASSWORD });
  addUserWithCli({ name: 'otto', role: 'operator', password: PASSWORD });
  addUserWithCli({ name: 'locky', role: 'viewer', password: PASSWORD });
  addUserWithCli({ name: 'sam', role: 'viewer', password: PASSWORD });
});

test('a signed-out browser sees only the sign-in page; sign-in, then sign-out', async ({ browser }) => {
  const page = await freshPage(browser);
  await gotoReady(page, '/migrations');
  await expect(page).toHaveURL(/\/sign-in\?next=%2Fmigrations$/);
  await expect(page.getByText('No user exists yet.')).toHaveCount(0);
  // The API gives a signed-out browser nothing either, and says why.
  const fleet = await page.request.get('/api/trpc/fleet.list', { headers: API_HEADERS });
  expect(fleet.status()).toBe(401);
  expect(await fleet.text()).toContain('Sign in first.');
  expect((await page.request.get('/api/audit/export?format=csv')).status()).toBe(401);

  await page.getByLabel('Name').fill('vera');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/migrations$/);
  await expect(page.getByTestId('signed-in-as')).toHaveText('vera');

  const cookie = (await page.context().cookies()).find((c) => c.name === 'ferry-session');
  expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });

  await gotoReady(page, '/');
  await expect(page.locator('section[data-host="demo"]')).toBeVisible();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await gotoReady(page, '/');
  await expect(page).toHaveURL(/\/sign-in$/);
  await page.context().close();
});

test('a wrong password is refused with one sentence, and the attempt is audited', async ({ browser, page }) => {
  const other = await freshPage(browser);
  await submitSignIn(other, 'vera', 'not the password at all');
  await expect(signInError(other)).toHaveText('Wrong name or password.');
  await expect(other).toHaveURL(/\/sign-in$/);
  await other.context().close();

  await gotoReady(page, '/audit?action=auth.sign-in&result=refused');
  const row = page.locator('tbody tr').first();
  await expect(row).toContainText('anonymous');
  await expect(row).toContainText('wrong password');
  await expect(row).not.toContainText('not the password');
});

test('five wrong passwords lock the account, even against the right one', async ({ browser }) => {
  const page = await freshPage(browser);
  for (let attempt = 1; attempt <= 5; attempt++) {
    await submitSignIn(page, 'locky', `wrong guess number ${attempt}`);
    await expect(signInError(page)).toHaveText('Wrong name or password.');
  }
  await submitSignIn(page, 'locky', PASSWORD);
  await expect(signInError(page)).toHaveText(/Too many failed sign-ins\. Try again in \d+ minutes\./);
  await expect(page).toHaveURL(/\/sign-in$/);
  await page.context().close();
});

test('a viewer is refused admin and operator actions with a reason, never an empty list', async ({ browser, page }) => {
  const viewer = await freshPage(browser);
  await signInWithPage(viewer, { name: 'vera', password: PASSWORD });

  await gotoReady(viewer, '/users');
  await expect(
    viewer.getByRole('alert').filter({ hasText: 'This needs the admin role; you are viewer.' }),
  ).toBeVisible();
  await expect(viewer.getByRole('table', { name: 'Users' })).toHaveCount(0);

  await gotoReady(viewer, '/hosts');
  await expect(viewer.locator('tr[data-host-row="demo"]')).toBeVisible();
  await fillStable(viewer.getByLabel('Alias', { exact: true }), 'viewer-host');
  await fillStable(viewer.getByLabel('libvirt URI or imported alias'), 'test:///default');
  await viewer.getByRole('button', { name: 'Add host' }).click();
  await expect(viewer.getByRole('alert').filter({ hasText: 'needs the admin role' })).toBeVisible();

  // What the migrate button sends, from the viewer's own page: 403 with the missing role named.
  const cancel = await viewer.evaluate(async (headers) => {
    const response = await fetch('/api/trpc/migration.cancel', {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ json: { id: 'any' } }),
    });
    return { status: response.status, body: await response.text() };
  }, API_HEADERS);
  expect(cancel.status).toBe(403);
  expect(cancel.body).toContain('This needs the operator role; you are viewer.');
  await viewer.context().close();

  await gotoReady(page, '/audit?action=access.refused&actor=vera');
  await expect(page.locator('tbody tr')).toHaveCount(3);
  await expect(page.locator('tbody tr').first()).toContainText('migration.cancel');
});

test('an operator is refused the users page and host changes', async ({ browser }) => {
  const operator = await freshPage(browser);
  await signInWithPage(operator, { name: 'otto', password: PASSWORD });
  await expect(operator.getByRole('link', { name: 'Users' })).toHaveCount(0);
  await gotoReady(operator, '/users');
  await expect(
    operator.getByRole('alert').filter({ hasText: 'This needs the admin role; you are operator.' }),
  ).toBeVisible();
  const remove = await operator.evaluate(async (headers) => {
    const response = await fetch('/api/trpc/host.remove', {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ json: { id: 'any' } }),
    });
    return response.status;
  }, API_HEADERS);
  expect(remove).toBe(403);
  await operator.context().close();
});

test('the users page adds, changes role, disables, enables and resets a user', async ({ browser, page }) => {
  await gotoReady(page, '/users');
  await fillStable(page.getByLabel('User name'), 'Erin');
  await page.getByLabel('Role', { exact: true }).selectOption('viewer');
  await fillStable(page.getByLabel('Initial password'), PASSWORD);
  await page.getByRole('button', { name: 'Add user' }).click();
  const row = page.locator('tr[data-user-row="erin"]');
  await expect(row).toBeVisible();

  await row.getByLabel('Role of erin').selectOption('operator');
  await expect(row.getByLabel('Role of erin')).toHaveValue('operator');
  await row.getByRole('button', { name: 'Disable' }).click();
  await expect(row.getByTestId('user-status')).toHaveText('disabled');

  const erin = await freshPage(browser);
  await submitSignIn(erin, 'erin', PASSWORD);
  await expect(signInError(erin)).toHaveText('This account is disabled. Ask an admin.');

  await row.getByRole('button', { name: 'Enable' }).click();
  await expect(row.getByTestId('user-status')).toHaveText('enabled');
  await row.getByRole('button', { name: 'Reset password' }).click();
  const issued = (await page.getByTestId('issued-password').textContent()) ?? '';
  expect(issued).toHaveLength(20);

  await submitSignIn(erin, 'erin', PASSWORD);
  await expect(signInError(erin)).toHaveText('Wrong name or password.');
  await signInWithPage(erin, { name: 'erin', password: issued });
  await expect(erin.getByTestId('user-menu')).toContainText('operator');
  await erin.context().close();

  await gotoReady(
    page,
    '/audit?actor=e2e-admin&action=user.add&action=user.role&action=user.disable&action=user.enable&action=user.reset-password',
  );
  await expect(page.locator('tbody tr')).toHaveCount(5);
});

test('changing a password signs the other sessions out; "sign out everywhere" ends them all', async ({ browser }) => {
  const here = await freshPage(browser);
  const there = await freshPage(browser);
  await signInWithPage(here, { name: 'sam', password: PASSWORD });
  await signInWithPage(there, { name: 'sam', password: PASSWORD });

  await gotoReady(here, '/account');
  const sessions = here.getByRole('table', { name: 'Active sessions' }).locator('tbody tr');
  await expect(sessions).toHaveCount(2);
  await here.getByLabel('Current password').fill(PASSWORD);
  await here.getByLabel('New password', { exact: true }).fill('a brand new password');
  await here.getByLabel('New password again').fill('a brand new password');
  await here.getByRole('button', { name: 'Change password' }).click();
  await expect(here.getByText('Password changed; your other sessions are signed out.')).toBeVisible();
  await expect(sessions).toHaveCount(1);

  // The other browser's next call finds its session gone and lands on sign-in.
  await gotoReady(there, '/');
  await expect(there).toHaveURL(/\/sign-in/);

  await signInWithPage(there, { name: 'sam', password: 'a brand new password' });
  await gotoReady(here, '/account');
  await expect(sessions).toHaveCount(2);
  await here.getByRole('button', { name: 'Sign out everywhere' }).click();
  await expect(here).toHaveURL(/\/sign-in$/);
  await gotoReady(there, '/hosts');
  await expect(there).toHaveURL(/\/sign-in\?next=%2Fhosts$/);
  await here.context().close();
  await there.context().close();
});

/** Another origin on the same machine: same site (so the Strict cookie still goes along), different port. */
async function startAttackerSite(target: string): Promise<{ origin: string; close: () => Promise<void> }> {
  const pages: Record<string, string> = {
    '/form': `<form id="f" method="POST" action="${target}/api/trpc/users.add" enctype="text/plain">
      <input name='{"json":{"name":"mallory","role":"admin","password":"mallory password 1","x":"' value='"}}'>
      </form><script>document.getElementById('f').submit()</script>`,
    '/multipart': `<form id="f" method="POST" action="${target}/api/trpc/host.add" enctype="multipart/form-data">
      <input name="alias" value="evil"><input name="reference" value="test:///default"></form>
      <script>document.getElementById('f').submit()</script>`,
    '/no-cors': `<script>
      window.done = fetch('${target}/api/auth/sign-out', { method: 'POST', mode: 'no-cors', credentials: 'include' })
        .then(() => fetch('${target}/api/trpc/users.add', { method: 'POST', mode: 'no-cors', credentials: 'include',
          headers: { 'content-type': 'text/plain' },
          body: JSON.stringify({ json: { name: 'mallory', role: 'admin', password: 'mallory password 1' } }) }))
        .then(() => 'sent', (error) => String(error));
      </script>`,
  };
  const server = http.createServer((request, response) => {
    response.setHeader('content-type', 'text/html');
    response.end(pages[request.url ?? ''] ?? 'attacker');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

test('cross-site form, multipart and no-cors requests are refused and change nothing', async ({ page, baseURL }) => {
  const attacker = await startAttackerSite(baseURL ?? '');
  try {
    for (const [path, endpoint] of [
      ['/form', '/api/trpc/users.add'],
      ['/multipart', '/api/trpc/host.add'],
    ] as const) {
      const refused = page.waitForResponse((response) => response.url().includes(endpoint));
      await page.goto(`${attacker.origin}${path}`);
      const response = await refused;
      expect(response.status()).toBe(403);
      await expect(page.locator('body')).toContainText('Refused: this request came from another site.');
    }

    const statuses: number[] = [];
    page.on('response', (response) => {
      if (response.url().startsWith(baseURL ?? '')) statuses.push(response.status());
    });
    await page.goto(`${attacker.origin}/no-cors`);
    expect(await page.evaluate(() => (window as unknown as { done: Promise<string> }).done)).toBe('sent');
    await expect.poll(() => statuses.length).toBe(2);
    expect(statuses).toEqual([403, 403]);
  } finally {
    await attacker.close();
  }

  // Nothing happened: the admin is still signed in, no user "mallory", no host "evil".
  await gotoReady(page, '/users');
  await expect(page.getByTestId('signed-in-as')).toHaveText(E2E_ADMIN.name);
  await expect(page.locator('tr[data-user-row]').first()).toBeVisible();
  await expect(page.locator('tr[data-user-row="mallory"]')).toHaveCount(0);
  await gotoReady(page, '/hosts');
  await expect(page.locator('tr[data-host-row="demo"]')).toBeVisible();
  await expect(page.locator('tr[data-host-row="evil"]')).toHaveCount(0);
});

test('a request under another host name (DNS rebinding) gets nothing', async ({ baseURL }) => {
  const url = new URL(baseURL ?? '');
  const status = await new Promise<number>((resolve, reject) => {
    http
      .get(
        {
          host: url.hostname,
          port: url.port,
          path: '/api/trpc/fleet.list',
          headers: { host: `rebind.attacker.test:${url.port}` },
        },
        (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        },
      )
      .on('error', reject);
  });
  expect(status).toBe(421);
});
