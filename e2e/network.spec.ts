import http from 'node:http';
import { expect, test, type Page } from '@playwright/test';
import { gotoReady } from './ready';

const PORT = Number(process.env.E2E_PORT ?? 3100);

/** A request from another loopback address: the server listens on 127.0.0.1, the kernel lets us pick 127.0.0.2. */
function requestFrom(
  localAddress: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port: PORT, path: '/sign-in', localAddress, headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
    request.setTimeout(15_000, () => request.destroy(new Error('timeout')));
  });
}

/** Collects CSP violations as the page reports them (the DOM event) and as Chromium logs them. */
async function watchCsp(page: Page): Promise<string[]> {
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  await page.exposeFunction('reportCspViolation', (text: string) => violations.push(text));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      (window as unknown as { reportCspViolation: (text: string) => void }).reportCspViolation(
        `${event.violatedDirective} blocked ${event.blockedURI} (${event.sourceFile}:${event.lineNumber})`,
      );
    });
  });
  return violations;
}

test('every page renders under the CSP without a violation, with the security headers', async ({ page }) => {
  const violations = await watchCsp(page);
  for (const path of ['/', '/hosts', '/hosts/demo', '/migrations', '/audit', '/settings']) {
    const response = await page.goto(path);
    await page.locator('html[data-hydrated="true"]').waitFor({ state: 'attached' });
    const headers = response?.headers() ?? {};
    expect(headers['content-security-policy'], path).toContain("frame-ancestors 'none'");
    expect(headers['content-security-policy'], path).toMatch(
      /script-src 'self' 'nonce-[A-Za-z0-9+/=]+' 'strict-dynamic'/,
    );
    expect(headers['x-content-type-options'], path).toBe('nosniff');
    expect(headers['referrer-policy'], path).toBe('no-referrer');
    // Hydrated: the nav works as a client-side app (scripts ran under the policy).
    await expect(page.getByRole('link', { name: 'Settings' })).toBeVisible();
  }
  // A toast (sonner inserts its styles at run time) must not trip the policy either.
  await gotoReady(page, '/settings');
  await expect(page.getByLabel('Allowed addresses')).not.toHaveValue('');
  await page.getByRole('button', { name: 'Save allow-list' }).click();
  await expect(page.getByText('Allow-list saved')).toBeVisible();
  expect(violations).toEqual([]);
});

test('the IP allow-list refuses other addresses with 403, ignores forged X-Forwarded-For, and guards against lock-out', async ({
  page,
}) => {
  await gotoReady(page, '/settings');
  await expect(page.locator('[data-your-address]')).toHaveText('127.0.0.1');
  const allowList = page.getByLabel('Allowed addresses');

  // Lock-out guard: a list without the admin's own address is not saved without confirmation.
  await allowList.fill('10.0.0.0/8\n2001:db8::/32');
  await page.getByRole('button', { name: 'Save allow-list' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'Your address' })).toContainText(
    'Your address (127.0.0.1) is not in this list',
  );
  expect((await requestFrom('127.0.0.1')).status).toBe(200);

  // A bad entry is one sentence about that entry.
  await allowList.fill('127.0.0.1/33');
  await page.getByRole('button', { name: 'Save allow-list' }).click();
  await expect(page.getByText('"127.0.0.1/33" has a prefix length outside 0–32.')).toBeVisible();

  // Only 127.0.0.1: another loopback address is refused before any work, whatever it claims to be.
  await allowList.fill('127.0.0.1/32\n::1');
  await page.getByRole('button', { name: 'Save allow-list' }).click();
  await expect(page.getByText('Allow-list saved')).toBeVisible();
  const refused = await requestFrom('127.0.0.2');
  expect(refused.status).toBe(403);
  expect(refused.body).toContain('not on the allow-list');
  expect((await requestFrom('127.0.0.2', { 'X-Forwarded-For': '127.0.0.1' })).status).toBe(403);
  expect((await requestFrom('127.0.0.1')).status).toBe(200);

  // The refusal and the saves are in the audit log with the real client address.
  await gotoReady(page, '/audit?action=settings.allow-list');
  await expect(page.getByText('settings.allow-list').first()).toBeVisible();

  // Put the default back for the specs that follow.
  await gotoReady(page, '/settings');
  await allowList.fill('127.0.0.0/8\n::1/128');
  await page.getByRole('button', { name: 'Save allow-list' }).click();
  await expect(page.getByText('Allow-list saved')).toBeVisible();
  expect((await requestFrom('127.0.0.2')).status).toBe(200);
});
