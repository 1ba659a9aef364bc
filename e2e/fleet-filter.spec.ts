import path from 'node:path';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { registerHosts, writeGeneratedFleet } from './generated-fleet';
import { fillStable, gotoReady } from './ready';
import { createServerProcess } from './server-process';

/**
 * The fleet page's filter bar and virtual list (issue #11, "10 000 VMs on one page"), on a Ferry of its own
 * with 20 generated test-driver hosts of 50 VMs (plus the seeded demo host's one): no lab needed. Its own
 * server and database keep the other specs' fleet small and their counts exact.
 */

const PORT = Number(process.env.E2E_FLEET_PORT ?? Number(process.env.E2E_PORT ?? 3100) + 2000);
const DATABASE_URL = (process.env.E2E_DATABASE_URL ?? 'file:./data/e2e.db').replace(/\.db$/, '-fleet.db');
const TEST_DRIVER_DIR = path.resolve(process.env.FERRY_TEST_DRIVER_DIR ?? 'data/e2e-test-hosts');
const ADMIN = { name: 'fleet-admin', password: 'fleet admin password 1' };
const HOSTS = 20;
const VMS_PER_HOST = 50;
const TOTAL = `${HOSTS * VMS_PER_HOST + 1}`.replace(/\B(?=(\d{3})+(?!\d))/g, '\u00a0');

const ferry = createServerProcess({
  port: PORT,
  databaseUrl: DATABASE_URL,
  // The first read of 20 generated hosts shares two cores with everything else: no host should time out.
  env: { FERRY_HOST_TIMEOUT_MS: '60000' },
});

test.describe.configure({ mode: 'serial' });
test.setTimeout(240_000);

let context: BrowserContext;

test.beforeAll(async ({ browser }) => {
  test.setTimeout(300_000);
  ferry.prepare(ADMIN);
  await ferry.start();
  context = await ferry.signedInContext(browser, ADMIN);
  const hosts = await writeGeneratedFleet({
    dir: path.join(TEST_DRIVER_DIR, 'fleet-filter'),
    prefix: 'gen',
    hosts: HOSTS,
    vmsPerHost: VMS_PER_HOST,
  });
  await registerHosts(context.request, hosts);
});

test.afterAll(async () => {
  await context?.close();
  await ferry.stop();
});

const count = (page: Page) => page.getByTestId('fleet-match-count');

async function openFleet(page: Page, url = '/') {
  await gotoReady(page, url);
  // Cold reads of 1 000 VMs take a while on a busy machine; the count appears with the first answer.
  await expect(count(page)).toBeVisible({ timeout: 180_000 });
  await page.getByLabel('Auto-refresh').selectOption('0');
}

/** The cards in the DOM, in DOM order (the list renders rows in order). */
function cardNames(page: Page) {
  return page.locator('li[data-vm]').evaluateAll((cards) => cards.map((card) => card.getAttribute('data-vm')));
}

test('typing filters the list and the URL; the URL opened in a new page shows the same view', async () => {
  const page = await context.newPage();
  await openFleet(page);
  await expect(count(page)).toHaveText(`${TOTAL} VMs`);

  await fillStable(page.getByLabel('Search VMs'), 'gen07-vm01');
  await expect(count(page)).toHaveText(`10 of ${TOTAL} VMs`);
  await expect(page).toHaveURL(/[?&]q=gen07-vm01(&|$)/);
  // Grouped: only gen07's section is left, with its header counting the matches.
  await expect(page.locator('section[data-host]')).toHaveCount(1);
  const section = page.locator('section[data-host="gen07"]');
  await expect(section.locator('li[data-vm]')).toHaveCount(10);
  await expect(section.getByTestId('host-vm-count')).toContainText('10 of 50 VMs');

  await page.getByLabel('Filter by state').selectOption('running');
  await page.getByLabel('Sort by').selectOption('memory');
  await page.getByLabel('Sort order').selectOption('desc');
  await page.getByLabel('Group VMs').selectOption('flat');
  await expect(page).toHaveURL(/[?&]state=running(&|$)/);
  await expect(page).toHaveURL(/[?&]group=flat(&|$)/);
  await expect(page).toHaveURL(/[?&]sort=memory(&|$)/);
  await expect(page).toHaveURL(/[?&]order=desc(&|$)/);
  // Flat: no host sections; each card says its host.
  await expect(page.locator('section[data-host]')).toHaveCount(0);
  const matchText = (await count(page).textContent()) ?? '';
  expect(matchText).toMatch(new RegExp(`^\\d+ of ${TOTAL} VMs$`));
  const shown = await cardNames(page);
  expect(shown.length).toBeGreaterThan(0);
  expect(shown.length).toBeLessThan(10);
  for (const name of shown) expect(name).toMatch(/^gen07-vm01\d$/);
  await expect(page.locator('li[data-vm]').first().getByTestId('vm-host')).toHaveText('on gen07');
  await expect(page.locator('li[data-vm]').first()).toContainText('running');
  // Memory, largest first.
  const memory = await page
    .locator('li[data-vm] [data-testid="memory"]')
    .evaluateAll((cells) => cells.map((cell) => cell.textContent ?? ''));
  const bytes = memory.map((text) => {
    const [value, unit] = text.split(' ');
    return Number(value) * 1024 ** ['B', 'KiB', 'MiB', 'GiB'].indexOf(unit ?? 'B');
  });
  expect(bytes).toEqual([...bytes].sort((a, b) => b - a));

  const url = page.url();
  const again = await context.newPage();
  await openFleet(again, url);
  await expect(count(again)).toHaveText(matchText);
  await expect(again.getByLabel('Search VMs')).toHaveValue('gen07-vm01');
  await expect(again.getByLabel('Filter by state')).toHaveValue('running');
  await expect(again.getByLabel('Sort by')).toHaveValue('memory');
  await expect(again.getByLabel('Sort order')).toHaveValue('desc');
  await expect(again.getByLabel('Group VMs')).toHaveValue('flat');
  await expect(again.locator('section[data-host]')).toHaveCount(0);
  expect(await cardNames(again)).toEqual(shown);

  // Back to grouped in the new page: the same VMs, now under their host.
  await again.getByLabel('Group VMs').selectOption('host');
  await expect(again).not.toHaveURL(/group=/);
  await expect(again.locator('section[data-host="gen07"] li[data-vm]')).toHaveCount(shown.length);
  await again.close();
  await page.close();
});

test('free text matches the host alias and a disk path; clearing shows everyone', async () => {
  const page = await context.newPage();
  await openFleet(page, '/?host=gen03');
  await expect(count(page)).toHaveText(`50 of ${TOTAL} VMs`);
  await expect(page.getByLabel('Filter by host')).toHaveValue('gen03');
  await expect(page.locator('section[data-host]')).toHaveCount(1);

  await page.getByLabel('Filter by host').selectOption('');
  await fillStable(page.getByLabel('Search VMs'), '/var/lib/libvirt/images/gen11/vm7-0.qcow2');
  await expect(count(page)).toHaveText(`1 of ${TOTAL} VMs`);
  await expect(page.locator('li[data-vm]')).toHaveCount(1);
  await expect(page.locator('section[data-host="gen11"] li[data-vm="gen11-vm007"]')).toBeVisible();

  await fillStable(page.getByLabel('Search VMs'), 'no such vm anywhere');
  await expect(count(page)).toHaveText(`0 of ${TOTAL} VMs`);
  await expect(page.getByTestId('fleet-no-match')).toBeVisible();

  await page.getByRole('button', { name: 'Clear filters' }).click();
  await expect(count(page)).toHaveText(`${TOTAL} VMs`);
  await expect(page).toHaveURL(/\/$/);
  await page.close();
});

test('the list is virtualised: far fewer cards in the DOM than VMs, and the last VM is reached by scrolling', async () => {
  const page = await context.newPage();
  await page.setViewportSize({ width: 1280, height: 800 });
  await openFleet(page);
  await expect(count(page)).toHaveText(`${TOTAL} VMs`);
  await expect(page.locator('section[data-host="demo"] li[data-vm="test"]')).toBeVisible();
  const inDom = await page.locator('li[data-vm]').count();
  expect(inDom).toBeGreaterThan(0);
  expect(inDom).toBeLessThan(100);

  // Sorted by name within hosts in alias order: the last card is gen19's last VM.
  const last = page.locator('section[data-host="gen19"] li[data-vm="gen19-vm049"]');
  await expect(async () => {
    await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
    await expect(last).toBeInViewport({ timeout: 1_000 });
  }).toPass({ timeout: 30_000 });
  // The first host's cards left the DOM on the way down.
  await expect(page.locator('li[data-vm="test"]')).toHaveCount(0);
  expect(await page.locator('li[data-vm]').count()).toBeLessThan(100);

  // Flat, by name descending: demo's `test` sorts after every `gen…` VM, so it comes first.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.getByLabel('Group VMs').selectOption('flat');
  await page.getByLabel('Sort order').selectOption('desc');
  await expect(page.locator('li[data-vm]').first()).toHaveAttribute('data-vm', 'test');
  await page.close();
});
