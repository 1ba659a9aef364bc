import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { fillStable, gotoReady } from './ready';

/**
 * The rough edges a newcomer met on a fresh clone (issue 13, section 5), each checked where it shows: in Chromium,
 * at phone width (375 px) and desktop width (1280 px), against the real app and the real libvirt test driver.
 */

const PHONE = { width: 375, height: 800 };
const DESKTOP = { width: 1280, height: 900 };

const NAV = [
  { label: 'Fleet', paths: ['/'] },
  { label: 'Hosts', paths: ['/hosts', '/hosts/demo'] },
  { label: 'Migrations', paths: ['/migrations'] },
  { label: 'Audit', paths: ['/audit'] },
] as const;

const COUNTED = /(\d[\d,]*) (VMs?|vCPUs?|disks?|rows?|migrations?|days?|aliases|alias)\b/g;

/** Every "<n> <noun>" in the text agrees in number ("1 VM", "2 VMs"), and no "(s)" is left anywhere. */
function expectCountsAgree(text: string) {
  expect(text).not.toMatch(/\w\((s|es)\)/);
  for (const [phrase, digits, noun] of text.matchAll(COUNTED)) {
    const isOne = Number(digits?.replace(/,/g, '')) === 1;
    const isPluralNoun = noun === 'aliases' || (noun !== 'alias' && noun?.endsWith('s'));
    expect(isPluralNoun, `"${phrase}"`).toBe(!isOne);
  }
}

function mainNav(page: Page) {
  return page.getByRole('navigation', { name: 'Main' });
}

test.describe('counts are written with the right plural', () => {
  test('fleet, migrate dialog, audit and history speak of 1 VM, 1 disk, n rows', async ({ page }) => {
    await gotoReady(page, '/');
    const demo = page.locator('section[data-host="demo"]');
    await expect(demo.locator('li[data-vm="test"]')).toBeVisible();
    await expect(demo.locator('header')).toContainText(/(?<!\d)1 VM · read in/);
    expectCountsAgree(await page.locator('main').innerText());

    await demo.getByRole('button', { name: 'Migrate test' }).click();
    const dialog = page.getByRole('dialog');
    await expect(dialog).toContainText('running · 2 vCPUs · 1 disk');
    expectCountsAgree(await dialog.innerText());
    await dialog.getByRole('button', { name: 'Close' }).click();

    await gotoReady(page, '/audit');
    await expect(page.locator('tr[data-audit-row]').first()).toBeVisible();
    await page.getByRole('button', { name: 'Verify chain' }).click();
    await expect(page.getByText(/Chain intact: [\d,]+ rows? checked/)).toBeVisible();
    expectCountsAgree(await page.locator('main').innerText());

    await gotoReady(page, '/migrations');
    await expect(page.getByText('Duration of successful migrations')).toBeVisible();
    await expect(page.getByText(/last 90 days/)).toBeVisible();
    expectCountsAgree(await page.locator('main').innerText());
  });

  test('importing one alias says "1 alias"', async ({ page }) => {
    await gotoReady(page, '/hosts');
    await fillStable(
      page.getByLabel('Paste a libvirt.conf'),
      'uri_aliases = [\n  "newcomer-one=test:///default",\n]\n',
    );
    await page.getByRole('button', { name: 'Import aliases' }).click();
    await expect(page.getByText('Imported 1 alias', { exact: true })).toBeVisible();
  });
});

test.describe('navigation', () => {
  test('marks the current section with aria-current="page", on every section and below it', async ({ page }) => {
    for (const section of NAV) {
      for (const path of section.paths) {
        await gotoReady(page, path);
        const nav = mainNav(page);
        await expect(nav.getByRole('link', { name: section.label, exact: true })).toHaveAttribute(
          'aria-current',
          'page',
        );
        await expect(nav.locator('[aria-current="page"]')).toHaveCount(1);
      }
    }
  });

  test('shows every link at phone width, nothing clipped and no sideways scrolling', async ({ page }) => {
    await page.setViewportSize(PHONE);
    for (const path of ['/', '/hosts', '/migrations', '/audit']) {
      await gotoReady(page, path);
      for (const { label } of NAV) {
        const link = mainNav(page).getByRole('link', { name: label, exact: true });
        await expect(link).toBeInViewport({ ratio: 1 });
      }
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `${path} scrolls sideways by ${overflow} px`).toBeLessThanOrEqual(0);
    }
  });
});

test.describe('charts on the migrations page', () => {
  for (const viewport of [PHONE, DESKTOP]) {
    test(`say "no data yet" when empty and keep labels below the page text at ${viewport.width} px`, async ({
      page,
    }) => {
      await page.setViewportSize(viewport);
      // A host no migration touched: the charts are empty whatever other specs ran before.
      await gotoReady(page, '/migrations?host=newcomer-no-such-host');
      await expect(page.getByText('No migrations in this range yet.')).toBeVisible();
      await expect(page.getByText('No successful migrations in this range yet.')).toBeVisible();
      await expect(page.getByText('No failed migrations in this range.')).toBeVisible();

      // What the eye sees: the height of the glyphs of the first line of text (a range around the first text node;
      // its box follows the font, not the line height), which an SVG viewBox would scale with the column while
      // the computed font-size stayed at 10 px.
      const glyphHeights = (els: Element[]) =>
        els.flatMap((el) => {
          const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT, (node) =>
            node.textContent?.trim() ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_SKIP,
          );
          const text = walker.nextNode();
          if (!text) return [];
          const range = document.createRange();
          range.selectNodeContents(text);
          return [range.getClientRects()[0]?.height ?? 0];
        });
      const [pageTextHeight] = await page
        .getByText('Every migration Ferry ran or tried, newest first.')
        .evaluateAll(glyphHeights);
      const ticks = page.locator('[data-chart-tick]');
      expect(await ticks.count()).toBeGreaterThan(8);
      const tickHeights = await ticks.evaluateAll(glyphHeights);
      expect(pageTextHeight).toBeGreaterThan(0);
      for (const height of tickHeights) {
        expect(height).toBeLessThan(pageTextHeight ?? 0);
        expect(height).toBeGreaterThanOrEqual(10);
      }
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(0);
    });
  }
});

test.describe('audit page', () => {
  for (const viewport of [PHONE, DESKTOP]) {
    test(`"Verify chain" moves no button at ${viewport.width} px`, async ({ page }) => {
      await page.setViewportSize(viewport);
      await gotoReady(page, '/audit');
      const buttons = [
        page.getByRole('link', { name: 'Export CSV' }),
        page.getByRole('link', { name: 'Export JSONL' }),
        page.getByRole('button', { name: 'Verify chain' }),
      ];
      await expect(buttons[2]!).toBeVisible();
      const before = await Promise.all(buttons.map((button) => button.boundingBox()));
      await buttons[2]!.click();
      await expect(page.getByText(/Chain intact/)).toBeVisible();
      const after = await Promise.all(buttons.map((button) => button.boundingBox()));
      expect(after).toEqual(before);
    });
  }
});

test.describe('unknown addresses', () => {
  test('an unknown host or migration answers 404 with a way back', async ({ page }) => {
    for (const path of ['/hosts/newcomer-no-such-host', '/migrations/no-such-migration']) {
      const response = await page.goto(path);
      expect(response?.status(), path).toBe(404);
      await expect(page.getByRole('heading', { name: 'Nothing here' })).toBeVisible();
      await expect(page.getByRole('main').getByRole('link', { name: 'Hosts' })).toBeVisible();
    }
    const known = await page.goto('/hosts/demo');
    expect(known?.status()).toBe(200);
  });
});

test.describe('editing a host', () => {
  const ALIAS = 'newcomer-keep';
  // Port 1 is closed: reads fail fast. The keyfile is what must never reach the browser.
  // The URI policy wants key files under the server's key directory (e2e/serve.sh: the lab's keys).
  const KEY_DIR = process.env.FERRY_KEY_DIR ?? path.join(process.env.FERRY_LAB_DIR ?? path.resolve('.lab'), 'keys');
  const KEY_FILE = path.join(KEY_DIR, 'newcomer_secret_key');
  const URI = `qemu+ssh://root@127.0.0.1:1/system?keyfile=${KEY_FILE}`;
  test.beforeAll(() => {
    mkdirSync(KEY_DIR, { recursive: true });
    writeFileSync(KEY_FILE, 'not a real key\n', { mode: 0o600 });
  });
  test.afterAll(() => rmSync(KEY_FILE, { force: true }));

  test('keeps the current URI without retyping it, and the stored URI never reaches the browser', async ({ page }) => {
    const sent: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/api/trpc/')) sent.push(`${request.url()} ${request.postData() ?? ''}`);
    });

    await gotoReady(page, '/hosts');
    await expect(page.locator('tr[data-host-row="demo"]')).toBeVisible();
    await fillStable(page.getByLabel('Alias', { exact: true }), ALIAS);
    await fillStable(page.getByLabel('libvirt URI or imported alias'), URI);
    await page.getByRole('button', { name: 'Add host' }).click();
    const row = page.locator(`tr[data-host-row="${ALIAS}"]`);
    await expect(row).toBeVisible();
    const displayUri = (await row.locator('td').nth(1).innerText()).trim();
    expect(displayUri).not.toContain('newcomer_secret_key');
    const sentWhileAdding = sent.length;

    await gotoReady(page, `/hosts/${ALIAS}`);
    await page.getByRole('button', { name: 'Edit', exact: true }).click();
    const form = page.getByRole('form', { name: 'Edit host' });
    const keep = form.getByRole('checkbox', { name: /Keep the current URI/ });
    await expect(keep).toBeChecked();
    await expect(form.getByText(displayUri, { exact: true })).toBeVisible();
    await fillStable(form.getByLabel('Display name'), 'Kept URI');
    const saved = page.waitForResponse((response) => response.url().includes('host.update'));
    await form.getByRole('button', { name: 'Save host' }).click();
    expect((await saved).ok()).toBe(true);
    await expect(page.getByText(`Host ${ALIAS} saved`)).toBeVisible();
    await expect(page.getByRole('heading', { name: 'Kept URI' })).toBeVisible();

    // The form said "unchanged"; the URI travelled once, when it was typed into the add form, and never back.
    const update = sent.slice(sentWhileAdding).find((request) => request.includes('host.update'));
    expect(update).toContain('"unchanged":true');
    expect(sent.slice(sentWhileAdding).join('\n')).not.toContain('newcomer_secret_key');
    // Nor in anything shown, though the host's error box is up (port 1 is closed).
    await expect(page.getByRole('alert').filter({ hasText: 'is not answering' })).toBeVisible();
    expect(await page.content()).not.toContain('newcomer_secret_key');

    // Saved with the stored URI: the host list still shows the same display URI.
    await gotoReady(page, '/hosts');
    await expect(page.locator(`tr[data-host-row="${ALIAS}"] td`).nth(1)).toHaveText(displayUri);

    await gotoReady(page, `/hosts/${ALIAS}`);
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Remove' }).click();
    await page.waitForURL(/\/hosts$/);
  });
});

test.describe('the Migrate dialog on the demo host', () => {
  for (const viewport of [PHONE, DESKTOP]) {
    test(`says up front that the test driver cannot migrate and how to get two real hosts at ${viewport.width} px`, async ({
      page,
    }) => {
      await page.setViewportSize(viewport);
      await gotoReady(page, '/');
      await page.getByLabel('Auto-refresh').selectOption('0');
      const demo = page.locator('section[data-host="demo"]');
      await demo.getByRole('button', { name: 'Migrate test' }).click();
      const dialog = page.getByRole('dialog');
      const note = dialog.getByRole('note').filter({ hasText: 'test driver' });
      await expect(note).toBeVisible();
      await expect(note).toContainText('cannot migrate');
      await expect(note.locator('code')).toHaveText('npm run lab:up -- --register');
      // Up front: the note comes before the destination list and the options.
      const noteBox = await note.boundingBox();
      const destinationBox = await dialog.getByText('Destination', { exact: true }).boundingBox();
      expect(noteBox && destinationBox && noteBox.y < destinationBox.y).toBe(true);
      await expect(note).toBeInViewport({ ratio: 1 });
    });
  }
});
