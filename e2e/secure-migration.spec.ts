import { expect, test, type Locator, type Page } from '@playwright/test';
import { fillStable, gotoReady } from './ready';
import { lab, labHosts, virsh, type LabHost } from './lab-hosts';

/**
 * Encrypted and shared-storage migrations on the secure lab (`lab.sh up --secure`, e2e/lab/tls.sh): a lab CA,
 * libvirtd on TLS 16514 and QEMU's migration TLS on both hosts, a shared pool with vm-shared (running) and
 * vm-busy (shut off; its boot sector rewrites 16 MiB of memory forever, so at 1 MiB/s the pre-copy never ends by
 * itself). The hosts are registered here through the host form as qemu+tls:// (sec1, sec2, TLS-capable) and
 * qemu+ssh:// (plain2, not TLS-capable); the lab's bind-mounted shared directory is not NFS to libvirt's statfs
 * check, so shared-storage runs need --unsafe with its confirmation, as the dialog asks.
 */

type SecureHost = LabHost & { tlsUri?: string };
const { hv1, hv2 } = labHosts() as { hv1: SecureHost; hv2: SecureHost };

test.describe.configure({ mode: 'serial' });

test.beforeAll(async ({ browser }) => {
  if (!hv1.tlsUri || !hv2.tlsUri)
    throw new Error('the lab is not up with --secure: run lab.sh down && lab.sh up --secure');
  lab('reset');
  const page = await browser.newPage();
  await addHost(page, { alias: 'sec1', uri: hv1.tlsUri, tlsCapable: true, migrationAddress: hv1.ip });
  await addHost(page, { alias: 'sec2', uri: hv2.tlsUri, tlsCapable: true, migrationAddress: hv2.ip });
  await addHost(page, { alias: 'plain2', uri: hv2.uri, tlsCapable: false, migrationAddress: hv2.ip });
  await page.close();
});

test.afterEach(() => {
  lab('heal');
  lab('reset');
});

async function addHost(
  page: Page,
  options: { alias: string; uri: string; tlsCapable: boolean; migrationAddress: string },
) {
  await gotoReady(page, '/hosts');
  if ((await page.locator(`tr[data-host-row="${options.alias}"]`).count()) > 0) return;
  const form = page.getByRole('form', { name: 'Add host' });
  await fillStable(form.getByLabel('Alias', { exact: true }), options.alias);
  await fillStable(form.getByLabel('libvirt URI or imported alias'), options.uri);
  await fillStable(form.getByLabel('Migration address'), options.migrationAddress);
  if (options.tlsCapable) await form.getByLabel('Native TLS migration capable').check();
  await form.getByRole('button', { name: 'Add host' }).click();
  await page.locator(`tr[data-host-row="${options.alias}"]`).waitFor();
}

async function openMigrateDialog(page: Page, options: { host: string; vm: string }) {
  await gotoReady(page, '/');
  await page.getByLabel('Auto-refresh').selectOption('0');
  const card = page.locator(`section[data-host="${options.host}"] li[data-vm="${options.vm}"]`);
  await expect(card).toContainText('running', { timeout: 30_000 });
  await card.getByRole('button', { name: `Migrate ${options.vm}` }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toBeVisible();
  return dialog;
}

async function preflightAndStart(page: Page, dialog: Locator) {
  await dialog.getByRole('button', { name: 'Run preflight' }).click();
  await expect(dialog.getByRole('list', { name: 'Preflight checklist' })).toBeVisible({ timeout: 30_000 });
  await expect(dialog.locator('[data-status="fail"]')).toHaveCount(0);
  await dialog.getByRole('button', { name: 'Start migration' }).click();
  await page.waitForURL(/\/migrations\/[a-z0-9]+$/);
}

async function chooseSharedUnsafe(dialog: Locator) {
  await dialog.getByLabel('Storage').selectOption('shared');
  await dialog.getByLabel('Unsafe (--unsafe)').check();
  await dialog.getByText('I understand --unsafe').click();
}

function result(page: Page) {
  return page.locator('section[aria-label="Result"]');
}

function expectOn(host: SecureHost, vm: string) {
  expect(virsh(host, 'domstate', vm)).toEqual({ ok: true, out: 'running' });
}

test('a qemu+tls:// host is registered with Ferry’s client certificate and refreshed', async ({ page }) => {
  await gotoReady(page, '/hosts/sec2');
  const facts = page.locator('dl[aria-label="Host facts"]');
  await expect(facts).toContainText(hv2.hostUuid, { timeout: 30_000 });
  await expect(facts).toContainText('9.0.0');
  await expect(facts).toContainText(/Native TLS\s*yes/);
  await expect(page.getByText('qemu+tls://10.77.77.12/system', { exact: false }).first()).toBeVisible();
  // The certificate directory is a path on Ferry's box: it never reaches the browser.
  await expect(page.locator('body')).not.toContainText('/pki/ferry');

  await gotoReady(page, '/');
  await page.getByLabel('Auto-refresh').selectOption('0');
  await page.getByRole('button', { name: 'Refresh now' }).click();
  const section = page.locator('section[data-host="sec1"]');
  await expect(section.locator('li[data-vm="vm1"]')).toContainText('running', { timeout: 30_000 });
  await expect(section.locator('li[data-vm="vm-shared"]')).toContainText('running');
});

test('the dialog says which host is not TLS-capable and falls back to plain TCP; TLS when both are', async ({
  page,
}) => {
  const dialog = await openMigrateDialog(page, { host: 'sec1', vm: 'vm2' });
  const note = dialog.getByRole('note', { name: 'Encryption' });

  await dialog.getByRole('radio', { name: /plain2/ }).check();
  await expect(dialog.getByLabel('Native TLS (--tls)')).not.toBeChecked();
  await expect(note).toHaveAttribute('data-status', 'warn');
  await expect(note).toContainText('plain2 is not TLS-capable, so memory and disk data will travel unencrypted');

  await dialog.getByRole('radio', { name: /sec2/ }).check();
  await expect(dialog.getByLabel('Native TLS (--tls)')).toBeChecked();
  await expect(note).toHaveAttribute('data-status', 'pass');
  await expect(note).toContainText('Native TLS: QEMU encrypts memory and disks from sec1 to sec2');

  // Forcing TLS towards the host that is not capable is allowed, with the warning preflight repeats.
  await dialog.getByRole('radio', { name: /plain2/ }).check();
  await expect(dialog.getByLabel('Native TLS (--tls)')).not.toBeChecked();
  await dialog.getByLabel('Native TLS (--tls)').check();
  // The admin chose the transport: another destination no longer changes it.
  await dialog.getByRole('radio', { name: /sec2/ }).check();
  await dialog.getByRole('radio', { name: /plain2/ }).check();
  await expect(dialog.getByLabel('Native TLS (--tls)')).toBeChecked();
  await expect(note).toContainText('plain2 is not TLS-capable: QEMU there may have no migration certificates');
  await dialog.getByRole('button', { name: 'Run preflight' }).click();
  const encryption = dialog.locator('[data-check="encryption"]');
  await expect(encryption).toHaveAttribute('data-status', 'warn', { timeout: 30_000 });
  await expect(encryption).toContainText('plain2 is not TLS-capable');
});

test('native TLS: vm1 moves sec1 → sec2 with its disk, QEMU’s stream encrypted', async ({ page }) => {
  const dialog = await openMigrateDialog(page, { host: 'sec1', vm: 'vm1' });
  await dialog.getByRole('radio', { name: /sec2/ }).check();
  await expect(dialog.getByLabel('Native TLS (--tls)')).toBeChecked();
  await preflightAndStart(page, dialog);
  await expect(result(page)).toHaveAttribute('data-result', 'succeeded', { timeout: 90_000 });
  await expect(page.getByTestId('log')).toContainText('--tls');
  expectOn(hv2, 'vm1');
  expect(virsh(hv1, 'domstate', 'vm1').ok).toBe(false);
});

test('a certificate the destination does not trust: failed, with the cause named, VM still on the source', async ({
  page,
}) => {
  lab('tls-rogue', 'hv1');
  const dialog = await openMigrateDialog(page, { host: 'sec1', vm: 'vm1' });
  await dialog.getByRole('radio', { name: /sec2/ }).check();
  await expect(dialog.getByLabel('Native TLS (--tls)')).toBeChecked();
  await preflightAndStart(page, dialog);
  await expect(result(page)).toHaveAttribute('data-result', 'failed', { timeout: 90_000 });
  await expect(result(page)).toContainText("The destination does not trust the source's TLS certificate");
  // Peer-to-peer (the default here): hv2's libvirtd refuses hv1's libvirtd before any QEMU stream starts, so the
  // cause named is libvirt's client certificate (QEMU's own TLS refusals are classified from captured fixtures).
  await expect(result(page)).toContainText('/etc/pki/libvirt/clientcert.pem');
  await expect(page.getByTestId('log')).toContainText('Unable to read TLS confirmation');
  expectOn(hv1, 'vm1');
  expect(virsh(hv2, 'domstate', 'vm1').ok).toBe(false);
});

test('shared storage: vm-shared moves live sec1 → sec2 without copying its disk', async ({ page }) => {
  const dialog = await openMigrateDialog(page, { host: 'sec1', vm: 'vm-shared' });
  await dialog.getByRole('radio', { name: /sec2/ }).check();
  await chooseSharedUnsafe(dialog);
  await preflightAndStart(page, dialog);
  await expect(result(page)).toHaveAttribute('data-result', 'succeeded', { timeout: 90_000 });
  await expect(page.getByTestId('log')).not.toContainText('--copy-storage');
  expectOn(hv2, 'vm-shared');
  expect(virsh(hv2, 'domblklist', 'vm-shared').out).toContain('/var/lib/libvirt/shared/vm-shared.qcow2');
});

test('tunnelled: vm-shared travels inside the source libvirtd’s own TLS connection to sec2', async ({ page }) => {
  const dialog = await openMigrateDialog(page, { host: 'sec1', vm: 'vm-shared' });
  await dialog.getByRole('radio', { name: /sec2/ }).check();
  await dialog.getByLabel('Native TLS (--tls)').uncheck();
  await dialog.getByLabel('Tunnelled (--p2p --tunnelled)').check();
  await chooseSharedUnsafe(dialog);
  await expect(dialog.getByRole('note', { name: 'Encryption' })).toContainText('inside the source');
  await preflightAndStart(page, dialog);
  await expect(result(page)).toHaveAttribute('data-result', 'succeeded', { timeout: 90_000 });
  const log = page.getByTestId('log');
  await expect(log).toContainText('--p2p --tunnelled');
  // hv1's libvirtd opens the destination with hv1's certificate, not with Ferry's directory.
  await expect(log).toContainText('--desturi qemu+tls://10.77.77.12/system\n');
  expectOn(hv2, 'vm-shared');
});

test('post-copy: a guest that never converges is switched from the migration page and lands on sec2', async ({
  page,
}) => {
  expect(virsh(hv1, 'start', 'vm-busy').ok).toBe(true);
  const dialog = await openMigrateDialog(page, { host: 'sec1', vm: 'vm-busy' });
  await dialog.getByRole('radio', { name: /sec2/ }).check();
  await chooseSharedUnsafe(dialog);
  await dialog.getByLabel('Allow post-copy').check();
  await dialog.getByLabel('Bandwidth limit (MiB/s)').fill('1');
  await preflightAndStart(page, dialog);

  // Pre-copy at 1 MiB/s against 16 MiB rewritten forever: it stays in the memory phase until switched.
  const bar = page.getByRole('progressbar', { name: 'Migration progress' });
  await expect
    .poll(async () => Number(await bar.getAttribute('aria-valuenow')), { timeout: 60_000 })
    .toBeGreaterThan(1);
  await page.getByRole('button', { name: 'Switch to post-copy' }).click();
  await expect(page.getByText('Switched to post-copy').first()).toBeVisible({ timeout: 30_000 });
  await expect(result(page)).toHaveAttribute('data-result', 'succeeded', { timeout: 90_000 });
  await expect(page.getByTestId('log')).toContainText('Switched to post-copy by');
  expectOn(hv2, 'vm-busy');
});
