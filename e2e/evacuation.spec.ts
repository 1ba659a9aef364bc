import { expect, test, type Page } from '@playwright/test';
import { trpcCall } from './auth';
import { ensureHost, lab, labHosts, virsh } from './lab-hosts';
import { gotoReady } from './ready';
import { createServerProcess } from './server-process';

/**
 * Draining hv1 (issue #12) on the lab, per-host limits 2 (the default): "Evacuate hv1" → plan (vm1, vm2, vm4 and
 * vm5 go to hv2; vm-shared, whose disk already sits in hv2's `dir` pool, and the stopped guests are reported and
 * skipped) → start → two run, two queue → kill -9 of Ferry mid-evacuation → restart → it finishes, all four on
 * hv2 → end maintenance → bring back → all four on hv1 again. One Ferry of this spec's own, so it can be killed.
 */

const { hv1, hv2 } = labHosts();
const PORT = Number(process.env.E2E_RESTART_PORT ?? Number(process.env.E2E_PORT ?? 3100) + 1000);
const DATABASE_URL = (process.env.E2E_DATABASE_URL ?? 'file:./data/e2e.db').replace(/\.db$/, '-evacuation.db');
const ADMIN = { name: 'evac-admin', password: 'evacuation admin password 1' };
const MOVING = ['vm1', 'vm2', 'vm4', 'vm5'];

const ferry = createServerProcess({
  port: PORT,
  databaseUrl: DATABASE_URL,
  // A restarted Ferry re-attaches jobs whose heartbeat (every 5 s) is older than this, and sweeps as often.
  env: { FERRY_STALE_HEARTBEAT_MS: '6000' },
});

test.describe.configure({ mode: 'serial' });
test.setTimeout(900_000);

test.beforeAll(() => {
  lab('reset');
  ferry.prepare(ADMIN);
});

test.afterAll(async () => {
  await ferry.stop();
  lab('heal');
  lab('reset');
});

const row = (page: Page, vm: string) => page.locator(`tr[data-evac-vm="${vm}"]`);

async function waitFinished(page: Page) {
  await expect(page.getByTestId('evacuation-state')).toHaveText('finished', { timeout: 420_000 });
}

test('evacuate hv1 through a kill -9 of Ferry, then bring every VM back', async ({ browser }) => {
  await ferry.start();
  const context = await ferry.signedInContext(browser, ADMIN);
  const page = await context.newPage();
  page.on('dialog', (dialog) => void dialog.accept());
  await ensureHost(page, { alias: 'hv1', uri: hv1.uri });
  await ensureHost(page, { alias: 'hv2', uri: hv2.uri });

  // The plan, from the host page.
  await gotoReady(page, '/hosts/hv1');
  await page.getByRole('link', { name: 'Evacuate hv1' }).click();
  const plan = page.getByRole('table', { name: 'Evacuation plan' });
  await expect(plan).toBeVisible({ timeout: 60_000 });
  for (const vm of MOVING) {
    const planned = plan.locator(`tr[data-plan-vm="${vm}"]`);
    await expect(planned).toHaveAttribute('data-plan-kind', 'move');
    await expect(planned.getByLabel(`Destination of ${vm}`)).toHaveValue(/.+/);
    await expect(planned).toContainText('most free memory after placement');
  }
  await expect(plan.locator('tr[data-plan-vm="vm-off"]')).toHaveAttribute('data-plan-kind', 'unmovable');
  await expect(plan.locator('tr[data-plan-vm="vm-off"]')).toContainText('it is shut off');
  const shared = plan.locator('tr[data-plan-vm="vm-shared"]');
  await expect(shared).toHaveAttribute('data-plan-kind', 'unmovable');
  await expect(shared).toContainText('already exists there in pool shared (dir), not on network storage');

  // Each guest's migration held to 24 MiB/s: uncapped, a lab migration takes ~4 s and its bar moves once or twice,
  // so the moment when both running bars show progress (when the kill below must happen) could be missed entirely.
  for (const vm of MOVING) expect(virsh(hv1, 'migrate-setspeed', '--domain', vm, '--bandwidth', '24').ok).toBe(true);

  // Start: two run (hv1's outgoing limit), two wait in the queue.
  await page.getByRole('button', { name: 'Start evacuation' }).click();
  await page.waitForURL(/\/evacuations\/[a-z0-9]+$/);
  const url = page.url();
  const counts = page.getByTestId('evacuation-counts');
  await expect(counts).toContainText('2 running · 2 queued', { timeout: 30_000 });
  await expect(row(page, 'vm-shared')).toHaveAttribute('data-evac-state', 'unmovable');

  // Maintenance: the badge on the fleet, and hv1 refused as a single migration's destination (the preflight's
  // sentence is covered in server/evacuation/run.test.ts).
  const fleet = await context.newPage();
  await gotoReady(fleet, '/');
  await expect(fleet.locator('[data-maintenance="hv1"]').first()).toBeVisible({ timeout: 30_000 });
  await fleet.close();

  // kill -9 while two jobs copy (past preflight, so hv1's libvirtd drives them); the restarted Ferry re-attaches
  // them and its sweep carries the evacuation on.
  // Both bars moved, at least one by the page's event stream (data-read-at: the server's read of a pushed percent;
  // a percent from the page's poll has none).
  const copying = page.locator('tr[data-evac-state="running"]');
  await expect(copying).toHaveCount(2, { timeout: 120_000 });
  await expect
    .poll(
      async () => {
        const bars = await copying.getByRole('progressbar').evaluateAll((elements) =>
          elements.map((bar) => ({
            value: Number(bar.getAttribute('aria-valuenow')),
            pushed: Number(bar.getAttribute('data-read-at')) > 0,
          })),
        );
        return bars.length === 2 && bars.every((bar) => bar.value >= 1) && bars.some((bar) => bar.pushed);
      },
      { timeout: 120_000, intervals: [100] },
    )
    .toBe(true);
  await ferry.kill9();
  await ferry.start();
  await page.goto(url);
  await waitFinished(page);
  for (const vm of MOVING) {
    await expect(row(page, vm)).toHaveAttribute('data-evac-state', 'succeeded');
    expect(virsh(hv2, 'domstate', vm)).toEqual({ ok: true, out: 'running' });
    expect(virsh(hv1, 'domstate', vm).ok).toBe(false);
  }
  await expect(page.getByTestId('evacuation-percent')).toHaveText('100%');

  // End maintenance, then bring them back as a new plan.
  await gotoReady(page, '/hosts/hv1');
  await page.getByRole('button', { name: 'End maintenance' }).click();
  await page.getByRole('link', { name: 'Bring them back' }).click();
  const back = page.getByRole('table', { name: 'Evacuation plan' });
  await expect(back).toBeVisible({ timeout: 60_000 });
  for (const vm of MOVING)
    await expect(back.locator(`tr[data-plan-vm="${vm}"]`)).toHaveAttribute('data-plan-kind', 'move');
  await page.getByRole('button', { name: 'Start bringing back' }).click();
  await page.waitForURL(/\/evacuations\/[a-z0-9]+$/);
  await waitFinished(page);
  for (const vm of MOVING) {
    await expect(row(page, vm)).toHaveAttribute('data-evac-state', 'succeeded');
    expect(virsh(hv1, 'domstate', vm)).toEqual({ ok: true, out: 'running' });
    expect(virsh(hv2, 'domstate', vm).ok).toBe(false);
  }
  await context.close();
});

test('a guest stopped mid-way is reported with its cause; the other three still move', async ({ browser }) => {
  lab('reset');
  const context = await ferry.signedInContext(browser, ADMIN);
  const page = await context.newPage();
  page.on('dialog', (dialog) => void dialog.accept());
  // hv1's outgoing cap, shared by its two jobs, makes each copy last long enough to stop its guest during it.
  const hosts = await trpcCall<{ id: string; alias: string }[]>(page.request, 'host.list');
  const hv1Id = hosts.find((host) => host.alias === 'hv1')?.id ?? '';
  await trpcCall(page.request, 'host.setLimits', {
    id: hv1Id,
    maxOutgoingMigrations: 2,
    maxIncomingMigrations: 2,
    bandwidthCapMiBps: 16,
  });

  await gotoReady(page, '/hosts/hv1');
  await page.getByRole('link', { name: 'Evacuate hv1' }).click();
  const plan = page.getByRole('table', { name: 'Evacuation plan' });
  for (const vm of MOVING)
    await expect(plan.locator(`tr[data-plan-vm="${vm}"]`)).toHaveAttribute('data-plan-kind', 'move', {
      timeout: 60_000,
    });
  await page.getByRole('button', { name: 'Start evacuation' }).click();
  await page.waitForURL(/\/evacuations\/[a-z0-9]+$/);

  // The first guest seen copying is stopped on hv1 (as if it crashed there): its migration fails mid-way.
  const copying = page.locator('tr[data-evac-state="running"]');
  await expect
    .poll(
      async () =>
        copying.evaluateAll((rows) =>
          rows.some((row) => Number(row.querySelector('[role="progressbar"]')?.getAttribute('aria-valuenow')) >= 1),
        ),
      { timeout: 120_000 },
    )
    .toBe(true);
  const victim = await copying.evaluateAll(
    (rows) =>
      rows
        .find((row) => Number(row.querySelector('[role="progressbar"]')?.getAttribute('aria-valuenow')) >= 1)
        ?.getAttribute('data-evac-vm') ?? '',
  );
  expect(MOVING).toContain(victim);
  expect(virsh(hv1, 'destroy', victim).ok).toBe(true);

  await waitFinished(page);
  await expect(row(page, victim)).toHaveAttribute('data-evac-state', 'failed');
  // Its cause, on its row: where it was going and what libvirt said, not a generic "failed".
  await expect(row(page, victim)).toContainText(/To hv2: .+/);
  expect(virsh(hv2, 'domstate', victim).ok).toBe(false);
  for (const vm of MOVING.filter((name) => name !== victim)) {
    await expect(row(page, vm)).toHaveAttribute('data-evac-state', 'succeeded');
    expect(virsh(hv2, 'domstate', vm)).toEqual({ ok: true, out: 'running' });
  }
  await expect(page.getByTestId('evacuation-counts')).toContainText('3 of 4 moved');
  await expect(page.getByTestId('evacuation-counts')).toContainText('1 failed');
  await context.close();
});
