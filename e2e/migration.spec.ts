import { expect, test, type Page } from '@playwright/test';
import { API_HEADERS } from './auth';
import { fillStable, gotoReady } from './ready';
import { ensureHost, lab, labHosts, registerLabHosts, virsh } from './lab-hosts';

const { hv1, hv2 } = labHosts();

test.describe.configure({ mode: 'serial' });

test.beforeAll(async ({ browser }) => registerLabHosts(browser));

test.afterEach(() => {
  lab('heal');
  lab('reset');
});

async function openMigrateDialog(page: Page, vm: string) {
  await gotoReady(page, '/');
  await page.getByLabel('Auto-refresh').selectOption('0');
  const card = page.locator(`section[data-host="hv1"] li[data-vm="${vm}"]`);
  await expect(card).toContainText('running', { timeout: 30_000 });
  await card.getByRole('button', { name: `Migrate ${vm}` }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toBeVisible();
  return dialog;
}

async function startMigration(page: Page, options: { vm: string; bandwidth?: number }) {
  const dialog = await openMigrateDialog(page, options.vm);
  await dialog.getByRole('radio', { name: /hv2/ }).check();
  await expect(dialog.getByLabel('Storage')).toHaveValue('copy-all');
  if (options.bandwidth) await dialog.getByLabel('Bandwidth limit (MiB/s)').fill(String(options.bandwidth));
  await dialog.getByRole('button', { name: 'Run preflight' }).click();
  await expect(dialog.getByRole('list', { name: 'Preflight checklist' })).toBeVisible({ timeout: 30_000 });
  await expect(dialog.locator('[data-status="fail"]')).toHaveCount(0);
  await dialog.getByRole('button', { name: 'Start migration' }).click();
  await page.waitForURL(/\/migrations\/[a-z0-9]+$/);
  return page.url().split('/').pop() as string;
}

/** Samples the progress bar until the result box appears; returns every value seen, in order. */
async function watchProgress(page: Page, options: { until?: (values: number[]) => boolean; timeoutMs?: number } = {}) {
  const values: number[] = [];
  const bar = page.getByRole('progressbar', { name: 'Migration progress' });
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  while (Date.now() < deadline) {
    const now = Number(await bar.getAttribute('aria-valuenow'));
    if (values[values.length - 1] !== now) values.push(now);
    if (options.until?.(values)) return values;
    if ((await page.locator('section[aria-label="Result"]').count()) > 0) return values;
    await page.waitForTimeout(150);
  }
  throw new Error(`no result within the time limit; progress seen: ${values.join(', ')}`);
}

test('migrate a running guest hv1 → hv2 with copy-storage-all and watch it live', async ({ page }) => {
  await startMigration(page, { vm: 'vm1', bandwidth: 8 });
  const values = await watchProgress(page);
  const increasing = values.filter((value, index) => index === 0 || value > (values[index - 1] ?? -1));
  expect(
    new Set(increasing.filter((v) => v > 0 && v < 100)).size,
    `progress values seen: ${values.join(', ')}`,
  ).toBeGreaterThanOrEqual(5);

  const result = page.locator('section[aria-label="Result"]');
  await expect(result).toHaveAttribute('data-result', 'succeeded');
  await expect(result).toContainText('vm1 runs on hv2');
  await expect(page.getByTestId('duration')).not.toHaveText('—');
  await expect(page.getByTestId('disk-bytes')).toContainText('MiB');

  await gotoReady(page, '/migrations');
  const row = page.locator('tr', { hasText: 'vm1' }).first();
  await expect(row).toContainText('succeeded');

  await gotoReady(page, '/');
  await expect(page.locator('section[data-host="hv2"] li[data-vm="vm1"]')).toContainText('running', {
    timeout: 30_000,
  });
  await expect(page.locator('section[data-host="hv1"] li[data-vm="vm1"]')).toHaveCount(0);

  expect(virsh(hv2, 'domstate', 'vm1')).toEqual({ ok: true, out: 'running' });
  expect(virsh(hv1, 'domstate', 'vm1').out).toContain("failed to get domain 'vm1'");
});

test('cancel mid-way: the VM stays on hv1 and nothing is left on hv2', async ({ page }) => {
  await startMigration(page, { vm: 'vm1', bandwidth: 8 });
  await watchProgress(page, { until: (values) => values.some((v) => v >= 12) });
  await page.getByRole('button', { name: 'Cancel migration' }).click();
  await expect(page.locator('section[aria-label="Result"]')).toHaveAttribute('data-result', 'cancelled', {
    timeout: 60_000,
  });

  expect(virsh(hv1, 'domstate', 'vm1')).toEqual({ ok: true, out: 'running' });
  expect(virsh(hv2, 'domstate', 'vm1').ok).toBe(false);
  virsh(hv2, 'pool-refresh', 'default');
  expect(virsh(hv2, 'vol-list', 'default').out).not.toContain('vm1.qcow2');
});

test('destination libvirtd down: a clear error, the VM still runs on hv1, the row keeps libvirt’s text', async ({
  page,
}) => {
  const dialog = await openMigrateDialog(page, 'vm2');
  await dialog.getByRole('radio', { name: /hv2/ }).check();
  lab('stop', 'hv2', 'libvirtd');
  await dialog.getByRole('button', { name: 'Run preflight' }).click();
  const destinationCheck = dialog.locator('[data-check="destination-reachable"]');
  await expect(destinationCheck).toHaveAttribute('data-status', 'fail', { timeout: 30_000 });
  await expect(destinationCheck).toContainText(/libvirt-sock|connect/i);
  await expect(dialog.getByRole('button', { name: 'Start migration' })).toBeDisabled();
  expect(virsh(hv1, 'domstate', 'vm2')).toEqual({ ok: true, out: 'running' });
});

test('a migration whose destination dies mid-way fails with the libvirt text kept', async ({ page }) => {
  const id = await startMigration(page, { vm: 'vm2', bandwidth: 8 });
  await watchProgress(page, { until: (values) => values.some((v) => v >= 6) });
  lab('stop', 'hv2', 'libvirtd');
  const result = page.locator('section[aria-label="Result"]');
  await expect(result).toHaveAttribute('data-result', 'failed', { timeout: 90_000 });
  await expect(result).toContainText('vm2 is running on hv1');
  await expect(page.getByTestId('log')).toContainText('error:');
  expect(virsh(hv1, 'domstate', 'vm2')).toEqual({ ok: true, out: 'running' });
  await gotoReady(page, '/migrations');
  await expect(page.locator('tr', { hasText: 'vm2' }).first()).toContainText('failed');
  expect(id).toBeTruthy();
});

test('preflight blocks a name clash and a same-host move, with their reasons', async ({ page }) => {
  // Same host under a second alias, and a shut-off "vm-off" defined on hv2 too.
  await ensureHost(page, { alias: 'hv1-again', uri: hv1.uri });
  const xml = virsh(hv1, 'dumpxml', 'vm-off');
  expect(xml.ok).toBe(true);
  const { writeFileSync, mkdtempSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const file = join(mkdtempSync(join(tmpdir(), 'ferry-clash-')), 'vm-off.xml');
  writeFileSync(file, xml.out.replace(/<uuid>[^<]+<\/uuid>/, '<uuid>0badc0de-0000-4000-8000-000000000001</uuid>'));
  expect(virsh(hv2, 'define', file).ok).toBe(true);

  await gotoReady(page, '/');
  await expect(page.locator('section[data-host="hv2"] li[data-vm="vm-off"]')).toBeVisible({ timeout: 30_000 });
  await expect(page.locator('section[data-host="hv1-again"] li[data-vm="vm-off"]')).toBeVisible({ timeout: 30_000 });
  await page.getByLabel('Auto-refresh').selectOption('0');
  await page
    .locator('section[data-host="hv1"] li[data-vm="vm-off"]')
    .getByRole('button', { name: 'Migrate vm-off' })
    .click();
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByText('already has a VM named "vm-off"')).toBeVisible();
  await expect(dialog.getByText('same libvirt host as the source')).toBeVisible();
  await expect(dialog.getByRole('radio', { name: /hv2/ })).toBeDisabled();
  await expect(dialog.getByRole('radio', { name: /hv1-again/ })).toBeDisabled();

  // The server's preflight refuses both on its own, whatever the browser shows.
  const hosts = (await (await page.request.get('/api/trpc/host.list', { headers: API_HEADERS })).json()) as {
    result: { data: { json: { id: string; alias: string }[] } };
  };
  const idOf = (alias: string) => hosts.result.data.json.find((h) => h.alias === alias)?.id;
  for (const [destination, check, reason] of [
    ['hv2', 'name-free', /already has a domain "vm-off"/],
    ['hv1-again', 'same-host', /same libvirt host/],
  ] as const) {
    const response = await page.request.post('/api/trpc/migration.preflight', {
      headers: API_HEADERS,
      data: {
        json: {
          vmName: 'vm-off',
          sourceHostId: idOf('hv1'),
          destinationHostId: idOf(destination),
          options: { mode: 'offline', storage: 'shared', undefineSource: false },
        },
      },
    });
    const body = (await response.json()) as {
      result: { data: { json: { ok: boolean; checks: { id: string; status: string; reason: string }[] } } };
    };
    const report = body.result.data.json;
    expect(report.ok).toBe(false);
    const failed = report.checks.find((c) => c.id === check);
    expect(failed?.status).toBe('fail');
    expect(failed?.reason).toMatch(reason);
  }
});

test('reloading during a migration continues from where it was', async ({ page }) => {
  await startMigration(page, { vm: 'vm1', bandwidth: 8 });
  const before = await watchProgress(page, { until: (values) => values.some((v) => v >= 18) });
  const last = before[before.length - 1] as number;
  await page.reload();
  const bar = page.getByRole('progressbar', { name: 'Migration progress' });
  await expect(bar).toBeVisible();
  const first = Number(await bar.getAttribute('aria-valuenow'));
  expect(first).toBeGreaterThanOrEqual(last);
  const after = await watchProgress(page);
  expect(Math.min(...after)).toBeGreaterThanOrEqual(last);
  await expect(page.locator('section[aria-label="Result"]')).toHaveAttribute('data-result', 'succeeded');
});

test('the audit log shows the migrations: filter by VM, the URL reproduces the view, the CSV has the rows', async ({
  page,
  context,
}) => {
  await gotoReady(page, '/audit');
  await fillStable(page.getByLabel('VM', { exact: true }), 'vm1');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page).toHaveURL(/vm=vm1/);
  const rows = page.locator('tr[data-audit-row]');
  await expect(rows.filter({ hasText: 'migration.succeeded' }).first()).toBeVisible();
  await expect(rows.filter({ hasText: 'migration.start' }).first()).toBeVisible();
  await expect(rows.filter({ hasText: 'migration.cancel' }).first()).toBeVisible();
  for (const target of await rows.locator('td:nth-child(5)').allTextContents()) expect(target).toContain('vm1');
  const count = await rows.count();

  const copy = await context.newPage();
  await copy.goto(page.url());
  await expect(copy.locator('tr[data-audit-row]')).toHaveCount(count);

  const downloading = page.waitForEvent('download');
  await page.getByRole('link', { name: 'Export CSV' }).click();
  const download = await downloading;
  const { readFile } = await import('node:fs/promises');
  const lines = (await readFile((await download.path()) ?? '', 'utf8')).trimEnd().split('\r\n');
  expect(lines.length - 1).toBe(count);
  expect(lines.slice(1).every((line) => line.includes('vm1'))).toBe(true);
  expect(lines.some((line) => line.includes('migration.succeeded'))).toBe(true);
});

test('pre-created destination volumes and opt-in deletion of the source volumes', async ({ page }) => {
  const dialog = await openMigrateDialog(page, 'vm2');
  await dialog.getByRole('radio', { name: /hv2/ }).check();
  await dialog.getByLabel('Pre-create destination volumes').check();
  await dialog.getByLabel('Delete source volumes after success').check();
  await dialog.getByRole('button', { name: 'Run preflight' }).click();
  await expect(dialog.getByRole('list', { name: 'Preflight checklist' })).toBeVisible({ timeout: 30_000 });
  await dialog.getByRole('button', { name: 'Start migration' }).click();
  await page.waitForURL(/\/migrations\/[a-z0-9]+$/);
  const result = page.locator('section[aria-label="Result"]');
  await expect(result).toHaveAttribute('data-result', 'succeeded', { timeout: 90_000 });
  await expect(page.getByTestId('log')).toContainText('Created /var/lib/libvirt/images/vm2.qcow2');
  await expect(result).toContainText('deleted /var/lib/libvirt/images/vm2.qcow2 on hv1');

  expect(virsh(hv2, 'domstate', 'vm2')).toEqual({ ok: true, out: 'running' });
  virsh(hv1, 'pool-refresh', 'default');
  expect(virsh(hv1, 'vol-list', 'default').out).not.toContain('vm2.qcow2');
  expect(virsh(hv2, 'vol-info', '/var/lib/libvirt/images/vm2.qcow2').out).toMatch(/Capacity:\s+256\.00 MiB/);
});
