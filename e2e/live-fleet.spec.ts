import { expect, test, type Page } from '@playwright/test';
import { gotoReady } from './ready';
import { lab, labHosts, registerLabHosts, startPlainMigration, virsh } from './lab-hosts';

/**
 * The fleet page follows libvirt's own events: changes made with plain virsh on a lab host appear on an open page
 * with its auto-refresh off (no fleet.list request is made), and a libvirtd restart shows as "reconnecting", then
 * "live", with the inventory re-read. The guests end where `lab.sh reset` puts them.
 */

const { hv1, hv2 } = labHosts();

test.describe.configure({ mode: 'serial' });

test.beforeAll(async ({ browser }) => registerLabHosts(browser));

test.afterEach(() => {
  lab('heal');
  lab('reset');
});

/** Opens the fleet with polling off; returns the number of full reads (fleet.list) the page asks for from then on. */
async function openFleetWithoutPolling(page: Page): Promise<() => number> {
  await gotoReady(page, '/');
  await page.getByLabel('Auto-refresh').selectOption('0');
  let fullReads = 0;
  page.on('request', (request) => {
    if (request.url().includes('/api/trpc/fleet.list')) fullReads++;
  });
  await expect(streamBadge(page)).toHaveAttribute('data-stream-state', 'live', { timeout: 45_000 });
  return () => fullReads;
}

const streamBadge = (page: Page, host = 'hv1') =>
  page.locator(`section[data-host="${host}"]`).getByTestId('host-stream');
const card = (page: Page, vm: string) => page.locator(`section[data-host="hv1"] li[data-vm="${vm}"]`);

test('a guest started, reset and destroyed with virsh on hv1 changes on the open page, without polling', async ({
  page,
}) => {
  const fullReads = await openFleetWithoutPolling(page);
  await expect(card(page, 'vm-off')).toContainText('shutoff');

  expect(virsh(hv1, 'start', 'vm-off').ok).toBe(true);
  await expect(card(page, 'vm-off')).toContainText('running', { timeout: 10_000 });

  // The lab's guests have no ACPI, so `virsh reboot` asks a guest that never answers; `virsh reset` is the reboot
  // that happens (a 'reboot' event). The card is re-read: the page's "Updated" time moves, the guest stays running.
  const updated = page.getByTestId('fleet-updated');
  const before = await updated.textContent();
  await page.waitForTimeout(1100);
  expect(virsh(hv1, 'reset', 'vm-off').ok).toBe(true);
  await expect(updated).not.toHaveText(before ?? '', { timeout: 10_000 });
  await expect(card(page, 'vm-off')).toContainText('running');

  expect(virsh(hv1, 'destroy', 'vm-off').ok).toBe(true);
  await expect(card(page, 'vm-off')).toContainText('shutoff', { timeout: 10_000 });
  expect(fullReads()).toBe(0);
});

test('libvirtd restarted on hv1: the host shows "reconnecting", then "live", and the inventory is right', async ({
  page,
}) => {
  const fullReads = await openFleetWithoutPolling(page);
  lab('stop', 'hv1', 'libvirtd');
  await expect(streamBadge(page)).toHaveAttribute('data-stream-state', 'reconnecting', { timeout: 30_000 });
  await expect(streamBadge(page)).toContainText(/reconnecting since \d/);
  lab('heal');
  await expect(streamBadge(page)).toHaveAttribute('data-stream-state', 'live', { timeout: 60_000 });

  // Events in the gap are lost; the re-list after the reconnect is what makes the page match the host.
  const names = virsh(hv1, 'list', '--all', '--name').out.split('\n').filter(Boolean);
  expect(names.length).toBeGreaterThan(0);
  for (const name of names) {
    const state = virsh(hv1, 'domstate', name).out === 'shut off' ? 'shutoff' : virsh(hv1, 'domstate', name).out;
    await expect(card(page, name)).toContainText(state, { timeout: 15_000 });
  }
  await expect(page.locator('section[data-host="hv1"] li[data-vm]')).toHaveCount(names.length);
  expect(fullReads()).toBe(0);
});

test('a guest arriving on hv2 by a migration started with virsh shows there, paused, while hv2 keeps answering', async ({
  page,
}) => {
  test.setTimeout(120_000);
  const fullReads = await openFleetWithoutPolling(page);
  await expect(streamBadge(page, 'hv2')).toHaveAttribute('data-stream-state', 'live', { timeout: 45_000 });
  // 2 MiB/s: vm1's 64 MiB of memory alone takes half a minute, far longer than the checks below. While it runs,
  // libvirt holds the arriving domain's job: a read that waits for that job (domstats without --nowait) hangs.
  const migration = startPlainMigration({ from: hv1, to: hv2, vm: 'vm1', bandwidthMiBps: 2 });
  let exitCode: number | null = null;
  const arriving = page.locator('section[data-host="hv2"] li[data-vm="vm1"]');
  try {
    await expect(arriving).toContainText('paused', { timeout: 20_000 });
    await expect(page.locator('section[data-host="hv2"] [role="alert"]')).toHaveCount(0);
    await expect(card(page, 'vm1')).toContainText('running');
    // Seen while the migration still ran, not after it.
    expect(virsh(hv1, 'domjobinfo', '--domain', 'vm1').out).toMatch(/Job type:\s+Unbounded/);
  } finally {
    exitCode = await migration.abort();
  }
  expect(exitCode).not.toBe(0);
  await expect(arriving).toHaveCount(0, { timeout: 15_000 });
  await expect(card(page, 'vm1')).toContainText('running');
  await expect(streamBadge(page, 'hv2')).toHaveAttribute('data-stream-state', 'live');
  expect(fullReads()).toBe(0);
});
