import { readFile } from 'node:fs/promises';
import { expect, test, type Page } from '@playwright/test';
import { fillStable, gotoReady } from './ready';

/**
 * The audit page against the real app and a real libvirt test-driver host. Host events only for now:
 * migration rows join this spec when it runs on the lab (see migration.spec.ts for the lab set-up).
 */

const ALIAS = 'audit-e2e';

async function addHost(page: Page, options: { alias: string; reference: string }) {
  await gotoReady(page, '/hosts');
  // The host list arrives through tRPC once the page is hydrated; typing before that would be lost.
  await expect(page.locator('tr[data-host-row="demo"]')).toBeVisible();
  await fillStable(page.getByLabel('Alias', { exact: true }), options.alias);
  await fillStable(page.getByLabel('libvirt URI or imported alias'), options.reference);
  await page.getByRole('button', { name: 'Add host' }).click();
}

function auditRows(page: Page) {
  return page.locator('tr[data-audit-row]');
}

async function rowIds(page: Page): Promise<string[]> {
  return auditRows(page).evaluateAll((rows) => rows.map((row) => row.getAttribute('data-audit-row') ?? ''));
}

test.describe.configure({ mode: 'serial' });

test.beforeAll(async ({ browser }) => {
  const page = await browser.newPage();
  await addHost(page, { alias: ALIAS, reference: 'test:///default' });
  await expect(page.locator(`tr[data-host-row="${ALIAS}"]`)).toBeVisible();
  // The same alias again is refused, and the refusal is audited too.
  await addHost(page, { alias: ALIAS, reference: 'test:///default' });
  await expect(page.getByText(`A host with alias "${ALIAS}" already exists.`)).toBeVisible();
  await page.close();
});

test('the audit page shows the host that was just added, newest first', async ({ page }) => {
  await gotoReady(page, '/audit');
  await expect(page.getByRole('heading', { name: 'Audit log' })).toBeVisible();
  const first = auditRows(page).first();
  await expect(first).toContainText('host.add');
  await expect(first).toContainText(ALIAS);
  await expect(first).toContainText('refused');
  const resultCell = (text: string) => page.locator('td:nth-child(6)', { hasText: new RegExp(`^${text}$`) });
  await expect(
    auditRows(page)
      .filter({ hasText: ALIAS })
      .filter({ has: resultCell('ok') }),
  ).toHaveCount(1);
});

test('a filter narrows the rows, lives in the URL, and the URL reproduces the view in a new page', async ({
  page,
  context,
}) => {
  await gotoReady(page, '/audit');
  await expect(auditRows(page).first()).toBeVisible();
  const before = await auditRows(page).count();

  await fillStable(page.getByLabel('Host', { exact: true }), ALIAS);
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page).toHaveURL(new RegExp(`host=${ALIAS}`));
  await expect(auditRows(page)).toHaveCount(2);
  for (const target of await auditRows(page).locator('td:nth-child(5)').allTextContents())
    expect(target).toContain(ALIAS);
  expect(before).toBeGreaterThan(2);

  await page.getByLabel('Result', { exact: true }).selectOption('refused');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page).toHaveURL(/result=refused/);
  await expect(auditRows(page)).toHaveCount(1);
  const ids = await rowIds(page);

  const copy = await context.newPage();
  await copy.goto(page.url());
  await expect(auditRows(copy)).toHaveCount(1);
  expect(await rowIds(copy)).toEqual(ids);
  await expect(copy.getByLabel('Host', { exact: true })).toHaveValue(ALIAS);
  await expect(copy.getByLabel('Result', { exact: true })).toHaveValue('refused');
});

test('a row opens a drawer with its full details', async ({ page }) => {
  await gotoReady(page, `/audit?host=${ALIAS}&result=ok`);
  await auditRows(page).first().click();
  const drawer = page.getByRole('dialog');
  await expect(drawer).toBeVisible();
  await expect(drawer.getByTestId('audit-details')).toContainText('"displayUri": "test:///default"');
  await expect(drawer).toContainText(/[0-9a-f]{64}/);
  await page.keyboard.press('Escape');
  await expect(drawer).toBeHidden();
});

test('the CSV download contains the filtered rows', async ({ page }) => {
  await gotoReady(page, `/audit?host=${ALIAS}`);
  await expect(auditRows(page)).toHaveCount(2);
  const ids = await rowIds(page);
  const downloading = page.waitForEvent('download');
  await page.getByRole('link', { name: 'Export CSV' }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^ferry-audit-.*\.csv$/);
  const lines = (await readFile((await download.path()) ?? '', 'utf8')).trimEnd().split('\r\n');
  expect(lines[0]).toBe('id,at,actor,clientAddress,action,result,hostAlias,vmName,migrationId,details,prevHash,hash');
  expect(lines.slice(1).map((line) => line.split(',')[0])).toEqual(ids);
  for (const line of lines.slice(1)) expect(line).toContain(`,host.add,`);
});

test('an admin verifies the chain from the page', async ({ page }) => {
  await gotoReady(page, '/audit');
  await page.getByRole('button', { name: 'Verify chain' }).click();
  await expect(page.getByText(/Chain intact: \d+ rows checked/)).toBeVisible();
});

test('an empty result says what to do', async ({ page }) => {
  await gotoReady(page, '/audit?vm=no-such-vm-anywhere');
  await expect(page.getByText('No audit rows match these filters.')).toBeVisible();
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await expect(page).toHaveURL(/\/audit$/);
  await expect(auditRows(page).first()).toBeVisible();
});

test('the migrations page keeps its filter in the URL and exports that filter', async ({ page }) => {
  await gotoReady(page, '/migrations?state=failed&host=hv1');
  await expect(page.getByRole('heading', { name: 'Migrations' })).toBeVisible();
  await expect(page.getByLabel('failed', { exact: true })).toBeChecked();
  await expect(page.getByLabel('Host (source or destination)')).toHaveValue('hv1');
  await expect(page.getByRole('link', { name: 'Export CSV' })).toHaveAttribute(
    'href',
    '/api/migrations/export?format=csv&state=failed&host=hv1',
  );
  await expect(page.getByText('Migrations per day by outcome')).toBeVisible();
});
