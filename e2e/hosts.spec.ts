import { expect, test, type Page } from '@playwright/test';
import { fillStable, gotoReady } from './ready';
import net from 'node:net';
import path from 'node:path';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { planTestHost, writeTestHost, testHostUri } from '../server/testing/test-host-xml';

/** The server's FERRY_TEST_DRIVER_DIR, as e2e/serve.sh sets it. */
const TEST_DRIVER_DIR = path.resolve(process.env.FERRY_TEST_DRIVER_DIR ?? 'data/e2e-test-hosts');

async function addHost(page: Page, options: { alias: string; reference: string }) {
  await gotoReady(page, '/hosts');
  await fillStable(page.getByLabel('Alias', { exact: true }), options.alias);
  await fillStable(page.getByLabel('libvirt URI or imported alias'), options.reference);
  await page.getByRole('button', { name: 'Add host' }).click();
}

function hostSection(page: Page, alias: string) {
  return page.locator(`section[data-host="${alias}"]`);
}

test('the demo host (real libvirt test driver) shows its VM as a card on first start', async ({ page }) => {
  await gotoReady(page, '/');
  const demo = hostSection(page, 'demo');
  await expect(demo).toBeVisible();
  const card = demo.locator('li[data-vm="test"]');
  await expect(card).toContainText('running');
  await expect(card.getByTestId('vcpus')).toHaveText('2');
  await expect(card).toContainText('/guest/diskimage1');
});

test('add a host by URI: a generated 50-VM test host renders every VM with its details', async ({ page }) => {
  // Under the server's FERRY_TEST_DRIVER_DIR (e2e/serve.sh): a test:/// file anywhere else is refused.
  await mkdir(TEST_DRIVER_DIR, { recursive: true });
  const dir = await mkdtemp(path.join(TEST_DRIVER_DIR, 'ferry-e2e-'));
  const options = { hostName: 'rack50', vmCount: 50, seed: 7, hasHostileNames: true };
  const file = await writeTestHost({ dir, ...options });
  const plan = planTestHost(options);

  await addHost(page, { alias: 'rack50', reference: testHostUri(file) });
  await expect(page.locator('tr[data-host-row="rack50"]')).toBeVisible();

  await gotoReady(page, '/');
  const section = hostSection(page, 'rack50');
  await expect(section.locator('li[data-vm]')).toHaveCount(50);
  // Hostile names arrive as names: quoted, option-like and shell-looking ones all have their own card.
  for (const name of ['--help', '$(touch ferry-pwned)', `it's "quoted"`]) {
    await expect(section.locator(`li[data-vm="${name.replace(/"/g, '\\"')}"]`)).toHaveCount(1);
  }
  const sample = plan.vms.find((vm) => vm.state === 'running' && vm.disks.length > 0);
  if (!sample) throw new Error('the generated plan has no running VM with disks');
  const card = section.locator(`li[data-vm="${sample.name.replace(/"/g, '\\"')}"]`);
  await expect(card).toContainText('running');
  await expect(card.getByTestId('vcpus')).toHaveText(String(sample.vcpus));
  await expect(card).toContainText(sample.disks[0]!.path);
});

test('add a host by an alias imported from libvirt.conf', async ({ page }) => {
  await gotoReady(page, '/hosts');
  await fillStable(
    page.getByLabel('Paste a libvirt.conf'),
    `# from /etc/libvirt/libvirt.conf
uri_aliases = [
  "sandbox=test:///default",
]
`,
  );
  await page.getByRole('button', { name: 'Import aliases' }).click();
  await expect(page.getByRole('table', { name: 'Imported aliases' })).toContainText('sandbox');

  await addHost(page, { alias: 'sandbox-host', reference: 'sandbox' });
  await expect(page.locator('tr[data-host-row="sandbox-host"]')).toContainText('test:///default');
  await gotoReady(page, '/');
  await expect(hostSection(page, 'sandbox-host').locator('li[data-vm="test"]')).toBeVisible();
});

test('a bad URI shows an inline error and adds nothing', async ({ page }) => {
  await gotoReady(page, '/hosts');
  await page.locator('tr[data-host-row="demo"]').waitFor();
  const rowsBefore = await page.locator('tr[data-host-row]').count();
  await addHost(page, { alias: 'broken', reference: 'qemu+ssh://root@hv1/system?pkipath=/etc/pki' });
  const error = page.locator('[data-field-error="add-reference"]');
  await expect(error).toContainText('pkipath');
  await addHost(page, { alias: 'broken', reference: 'qemu+ssh://-oProxyCommand=touch%20/tmp/x/system' });
  await expect(page.locator('[data-field-error="add-reference"]')).toBeVisible();
  await addHost(page, { alias: 'bad alias!', reference: 'test:///default' });
  await expect(page.locator('[data-field-error="add-alias"]')).toBeVisible();
  await page.reload();
  await expect(page.locator('tr[data-host-row]')).toHaveCount(rowsBefore);
  await expect(page.locator('tr[data-host-row="broken"]')).toHaveCount(0);
});

test('a dead host and a hung host show their errors while the demo host still renders', async ({ page }) => {
  // A listener that accepts and never answers: libvirt's RPC handshake hangs until Ferry's per-host limit.
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  try {
    await addHost(page, { alias: 'dead', reference: 'qemu+tcp://127.0.0.1:1/system' });
    await expect(page.locator('tr[data-host-row="dead"]')).toBeVisible();
    await addHost(page, { alias: 'hung', reference: `qemu+tcp://127.0.0.1:${port}/system` });
    await expect(page.locator('tr[data-host-row="hung"]')).toBeVisible();

    await gotoReady(page, '/');
    await expect(hostSection(page, 'dead').getByRole('alert')).toContainText(/refused|connect/i, { timeout: 30_000 });
    await expect(hostSection(page, 'hung').getByRole('alert')).toContainText('did not answer within', {
      timeout: 30_000,
    });
    await expect(hostSection(page, 'demo').locator('li[data-vm="test"]')).toBeVisible();
  } finally {
    for (const socket of sockets) socket.destroy();
    server.close();
  }
});
