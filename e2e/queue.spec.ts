import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import { API_HEADERS, trpcCall as call } from './auth';
import { ensureHost, lab, labHosts, registerLabHosts, virsh } from './lab-hosts';
import { fillStable, gotoReady } from './ready';
import { createServerProcess } from './server-process';

/**
 * Per-host limits and the queue on the lab's two real hypervisors: hv1 runs vm1, vm2 and vm4, three running
 * guests, so three migrations from hv1 meet its outgoing limit.
 */

const { hv1, hv2 } = labHosts();

test.describe.configure({ mode: 'serial' });

test.beforeAll(async ({ browser }) => registerLabHosts(browser));

test.afterEach(() => {
  lab('heal');
  lab('reset');
});

async function startFromDialog(page: Page, vm: string) {
  const dialog = page.getByRole('dialog');
  // While two TCG guests arrive on hv2, reading it can take longer than the 8 s host timeout on a busy
  // machine; the dialog then (rightly) disables it as a destination. A fresh page reads the fleet again.
  await expect(async () => {
    await gotoReady(page, '/');
    await page.getByLabel('Auto-refresh').selectOption('0');
    const card = page.locator(`section[data-host="hv1"] li[data-vm="${vm}"]`);
    await expect(card).toContainText('running', { timeout: 30_000 });
    await card.getByRole('button', { name: `Migrate ${vm}` }).click();
    await expect(dialog.getByRole('radio', { name: /hv2/ })).toBeEnabled({ timeout: 1_000 });
  }).toPass({ timeout: 120_000 });
  await dialog.getByRole('radio', { name: /hv2/ }).check();
  await dialog.getByRole('button', { name: 'Run preflight' }).click();
  await expect(dialog.getByRole('list', { name: 'Preflight checklist' })).toBeVisible({ timeout: 30_000 });
  await expect(dialog.locator('[data-status="fail"]')).toHaveCount(0);
  await dialog.getByRole('button', { name: 'Start migration' }).click();
  await page.waitForURL(/\/migrations\/[a-z0-9]+$/);
  return page.url().split('/').pop() as string;
}

type Row = { id: string; vmName: string; state: string };

async function migrationRow(request: APIRequestContext, id: string) {
  const query = encodeURIComponent(JSON.stringify({ json: { id } }));
  const response = await request.get(`/api/trpc/migration.get?input=${query}`, { headers: API_HEADERS });
  return ((await response.json()) as { result: { data: { json: unknown } } }).result.data.json as Row & {
    output: string;
  };
}

test('two clicks on one VM make one migration; the second start points to the first', async ({ page }) => {
  const hosts = await call<{ id: string; alias: string }[]>(page.request, 'host.list');
  const idOf = (alias: string) => hosts.find((host) => host.alias === alias)?.id;
  const request = {
    vmName: 'vm2',
    sourceHostId: idOf('hv1'),
    destinationHostId: idOf('hv2'),
    options: { bandwidthMiBps: 16 },
  };
  const [a, b] = await Promise.all([
    call<{ id: string; existing: boolean }>(page.request, 'migration.start', request),
    call<{ id: string; existing: boolean }>(page.request, 'migration.start', request),
  ]);
  expect(b.id).toBe(a.id);
  expect([a.existing, b.existing].sort()).toEqual([false, true]);
  await gotoReady(page, `/migrations/${a.id}`);
  await expect(page.locator('section[aria-label="Result"]')).toHaveAttribute('data-result', 'succeeded', {
    timeout: 90_000,
  });
  expect(virsh(hv2, 'domstate', 'vm2')).toEqual({ ok: true, out: 'running' });
});

test('queued migrations survive a restart of Ferry and both run afterwards', async ({ browser }) => {
  test.setTimeout(300_000);
  const admin = { name: 'queue-admin', password: 'queue admin password 1' };
  const server = createServerProcess({ port: 3144, databaseUrl: 'file:./data/e2e-queue-restart.db' });
  server.prepare(admin);
  await server.start();
  try {
    let context = await server.signedInContext(browser, admin);
    let page = await context.newPage();
    await ensureHost(page, { alias: 'hv1', uri: hv1.uri });
    await ensureHost(page, { alias: 'hv2', uri: hv2.uri });
    const hosts = await call<{ id: string; alias: string }[]>(page.request, 'host.list');
    const idOf = (alias: string) => hosts.find((host) => host.alias === alias)?.id ?? '';
    await call(page.request, 'host.setLimits', {
      id: idOf('hv1'),
      maxOutgoingMigrations: 1,
      maxIncomingMigrations: 2,
      bandwidthCapMiBps: null,
    });

    const start = (vmName: string, options: Record<string, unknown> = {}) =>
      call<{ id: string; queuePosition: number | null }>(page.request, 'migration.start', {
        vmName,
        sourceHostId: idOf('hv1'),
        destinationHostId: idOf('hv2'),
        options,
      });
    const running = await start('vm1', { bandwidthMiBps: 16 });
    expect(running.queuePosition).toBeNull();
    const firstQueued = await start('vm2');
    const secondQueued = await start('vm4');
    expect([firstQueued.queuePosition, secondQueued.queuePosition]).toEqual([1, 2]);

    await context.close();
    await server.kill9();
    await server.start();
    context = await server.signedInContext(browser, admin);
    page = await context.newPage();

    // Still there after the restart, in the same order.
    const active = await call<(Row & { queue: { position: number } | null })[]>(page.request, 'migration.active');
    const queued = active.filter((row) => row.state === 'queued').map((row) => [row.vmName, row.queue?.position]);
    expect(queued).toEqual([
      ['vm2', 1],
      ['vm4', 2],
    ]);

    // vm1's job is closed with what the hosts say once its dead owner is recognised; then the queue moves.
    for (const job of [firstQueued, secondQueued]) {
      await expect
        .poll(async () => (await migrationRow(page.request, job.id)).state, { timeout: 180_000, intervals: [1_000] })
        .toBe('succeeded');
    }
    expect(virsh(hv2, 'domstate', 'vm2')).toEqual({ ok: true, out: 'running' });
    expect(virsh(hv2, 'domstate', 'vm4')).toEqual({ ok: true, out: 'running' });
    const interrupted = await migrationRow(page.request, running.id);
    expect(['succeeded', 'failed']).toContain(interrupted.state);
    // Whatever Ferry recorded for vm1 is where vm1 is.
    const vm1Host = interrupted.state === 'succeeded' ? hv2 : hv1;
    expect(virsh(vm1Host, 'domstate', 'vm1')).toEqual({ ok: true, out: 'running' });
    await context.close();
  } finally {
    await server.stop();
  }
});

test('hv1 allows 2 outgoing: the third migration waits with its position, starts by itself, all three arrive', async ({
  page,
}) => {
  test.setTimeout(360_000);

  // The limits on hv1's page: a bad value is refused with its reason; 2 outgoing and a 6 MiB/s shared cap saved.
  await gotoReady(page, '/hosts/hv1');
  const limits = page.getByRole('region', { name: 'Migration limits' });
  await fillStable(limits.getByLabel('Outgoing at once'), '0');
  await limits.getByRole('button', { name: 'Save limits' }).click();
  await expect(limits.locator('[data-field-error="limit-out"]')).toHaveText(
    'Outgoing migrations must be at least 1 (0 would queue every migration forever).',
  );
  await fillStable(limits.getByLabel('Outgoing at once'), '2');
  // Slow enough that the third start, the fleet page and the history are all seen while two copies run.
  await fillStable(limits.getByLabel('Bandwidth cap (MiB/s)'), '6');
  await limits.getByRole('button', { name: 'Save limits' }).click();
  await expect(limits).toContainText('At most 2 migrations leave hv1 and 2 arrive at once');
  await expect(limits).toContainText('share 6 MiB/s');

  // vm1 from the dialog; vm2 and vm4 right after through the same API call the dialog makes, so the third start
  // is sure to find both of hv1's outgoing slots taken (a busy lab can take a minute to render a dialog).
  const first = await startFromDialog(page, 'vm1');
  const hosts = await call<{ id: string; alias: string }[]>(page.request, 'host.list');
  const idOf = (alias: string) => hosts.find((host) => host.alias === alias)?.id;
  const startApi = (vmName: string) =>
    call<{ id: string; queuePosition: number | null }>(page.request, 'migration.start', {
      vmName,
      sourceHostId: idOf('hv1'),
      destinationHostId: idOf('hv2'),
      options: {},
    });
  const secondStart = await startApi('vm2');
  const thirdStart = await startApi('vm4');
  const second = secondStart.id;
  const third = thirdStart.id;
  expect([secondStart.queuePosition, thirdStart.queuePosition]).toEqual([null, 1]);
  // vm1 started alone with all 6 MiB/s; now it shares them with vm2: libvirt on hv1 reports 3 for vm1.
  await expect.poll(() => virsh(hv1, 'migrate-getspeed', '--domain', 'vm1').out, { timeout: 30_000 }).toBe('3');

  await gotoReady(page, `/migrations/${third}`);
  const queue = page.getByRole('status', { name: 'Queue' });
  await expect(queue).toContainText('Queued · position 1');
  await expect(queue).toContainText('waiting for a free outgoing slot on hv1 (2 of 2 in use)');
  await expect(queue).toHaveAttribute('data-queue-position', '1');

  await expect(async () => {
    await gotoReady(page, '/');
    await page.getByLabel('Auto-refresh').selectOption('0');
    const card = page.locator('section[data-host="hv1"] li[data-vm="vm4"]');
    await expect(card.locator('[data-vm-job="queued"]')).toHaveText('Queued for hv2, 1st in line', {
      timeout: 20_000,
    });
    await expect(page.locator('section[data-host="hv1"] li[data-vm="vm1"] [data-vm-job]')).toContainText(
      'Migrating to hv2',
    );
    // libvirt shows the arriving domain on hv2 (paused) while it is copied; its card there says where it comes from.
    const arriving = page.locator('section[data-host="hv2"] li[data-vm="vm1"]');
    await expect(arriving).toHaveAttribute('data-vm-state', 'paused');
    await expect(arriving.locator('[data-vm-job-side="destination"]')).toContainText('Arriving from hv1: running');
  }).toPass({ timeout: 60_000 });
  await gotoReady(page, '/migrations');
  await expect(page.locator(`tr[data-migration-row="${third}"]`)).toContainText('#1 in queue');

  // It starts by itself once vm1 or vm2 is done, and arrives.
  await gotoReady(page, `/migrations/${third}`);
  await expect(page.getByRole('status', { name: 'Queue' })).toHaveCount(0, { timeout: 120_000 });
  await expect(page.locator('section[aria-label="Result"]')).toHaveAttribute('data-result', 'succeeded', {
    timeout: 200_000,
  });

  for (const id of [first, second, third]) expect((await migrationRow(page.request, id)).state).toBe('succeeded');
  for (const vm of ['vm1', 'vm2', 'vm4']) {
    expect(virsh(hv2, 'domstate', vm)).toEqual({ ok: true, out: 'running' });
    expect(virsh(hv1, 'domstate', vm).ok).toBe(false);
  }
  // Each ran with its share of the cap: vm2 started beside vm1 with 3 MiB/s.
  await gotoReady(page, `/migrations/${second}`);
  await expect(page.getByTestId('log')).toContainText('--bandwidth 3');

  await gotoReady(page, '/hosts/hv1');
  await fillStable(limits.getByLabel('Bandwidth cap (MiB/s)'), '');
  await limits.getByRole('button', { name: 'Save limits' }).click();
  await expect(limits).toContainText('No bandwidth cap.');
});
