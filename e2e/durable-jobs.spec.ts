import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { ensureHost, lab, labHosts, virsh } from './lab-hosts';
import { gotoReady } from './ready';
import { createServerProcess } from './server-process';

/**
 * Jobs that outlive Ferry (issue #10), on the lab with a second Ferry this spec can kill: kill -9 of the server
 * mid-migration, restart, and the same migration page goes on to "succeeded"; a cancel of a wedged virsh migrate
 * ends within the grace period. After each, both process tables (this machine's, where the lab hosts' processes
 * run too: the lab shares the PID namespace) hold no virsh of the migration.
 */

const { hv1, hv2 } = labHosts();
const PORT = Number(process.env.E2E_RESTART_PORT ?? Number(process.env.E2E_PORT ?? 3100) + 1000);
const DATABASE_URL = (process.env.E2E_DATABASE_URL ?? 'file:./data/e2e.db').replace(/\.db$/, '-restart.db');
const ADMIN = { name: 'restart-admin', password: 'restart admin password 1' };
const CANCEL_GRACE_MS = 3_000;

const ferry = createServerProcess({
  port: PORT,
  databaseUrl: DATABASE_URL,
  // A restarted Ferry re-attaches jobs whose heartbeat (every 5 s) is older than this.
  env: { FERRY_STALE_HEARTBEAT_MS: '6000', FERRY_CANCEL_GRACE_MS: String(CANCEL_GRACE_MS) },
});

test.describe.configure({ mode: 'serial' });
test.setTimeout(300_000);

test.beforeAll(() => {
  lab('reset');
  ferry.prepare(ADMIN);
});

test.afterAll(async () => {
  await ferry.stop();
  lab('heal');
  lab('reset');
});

/**
 * `<pid> <argv>` of every virsh on this machine whose argv names this VM UUID (migrate, domjobinfo, …); the guest's
 * QEMU names it too, and is meant to live.
 */
function processesNaming(uuid: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const isZombie = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
      const isVirsh = /(^|\/)virsh$/.test(argv[0] ?? '');
      if (!isZombie && isVirsh && argv.includes(uuid)) found.push(`${entry} ${argv.join(' ')}`);
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

function vmUuid(): string {
  return virsh(hv1, 'domuuid', 'vm1').out.trim();
}

async function startMigration(page: Page, bandwidth: number, options: { deleteSource?: boolean } = {}) {
  await gotoReady(page, '/');
  await page.getByLabel('Auto-refresh').selectOption('0');
  const card = page.locator('section[data-host="hv1"] li[data-vm="vm1"]');
  await expect(card).toContainText('running', { timeout: 30_000 });
  await card.getByRole('button', { name: 'Migrate vm1' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('radio', { name: /hv2/ }).check();
  // p2p by default: the lab's URIs name hosts the source reaches.
  await expect(dialog.getByTestId('p2p-note')).toHaveAttribute('data-p2p', 'yes');
  await expect(dialog.getByTestId('p2p-note')).toContainText("hv1's libvirtd drives the migration");
  await dialog.getByLabel('Bandwidth limit (MiB/s)').fill(String(bandwidth));
  if (options.deleteSource) await dialog.getByLabel('Delete source volumes after success').check();
  await dialog.getByRole('button', { name: 'Run preflight' }).click();
  await expect(dialog.getByRole('list', { name: 'Preflight checklist' })).toBeVisible({ timeout: 30_000 });
  await expect(dialog.locator('[data-status="fail"]')).toHaveCount(0);
  await dialog.getByRole('button', { name: 'Start migration' }).click();
  await page.waitForURL(/\/migrations\/[a-z0-9]+$/);
  return page.url();
}

const bar = (page: Page) => page.getByRole('progressbar', { name: 'Migration progress' });
const percentOf = async (page: Page) => Number(await bar(page).getAttribute('aria-valuenow'));

test('kill -9 of Ferry mid-migration: after a restart the same page shows the live bar again and ends succeeded', async ({
  browser,
}) => {
  await ferry.start();
  const context = await ferry.signedInContext(browser, ADMIN);
  const page = await context.newPage();
  await ensureHost(page, { alias: 'hv1', uri: hv1.uri });
  await ensureHost(page, { alias: 'hv2', uri: hv2.uri });
  const uuid = vmUuid();

  // 256 MiB at 3 MiB/s: about 85 s, long enough to kill, restart and re-attach in the middle.
  const url = await startMigration(page, 3, { deleteSource: true });
  await expect.poll(() => percentOf(page), { timeout: 60_000 }).toBeGreaterThanOrEqual(3);
  const migrateClient = processesNaming(uuid).filter((line) => line.includes(' migrate '));
  expect(migrateClient, 'the virsh migrate client runs on this machine').toHaveLength(1);

  await ferry.kill9();
  const atKill = await percentOf(page);
  // The server is gone, and so is its virsh client (setpriv --pdeathsig); the migration is not: hv1 drives it.
  await expect.poll(() => processesNaming(uuid), { timeout: 10_000 }).toEqual([]);
  const job = virsh(hv1, 'domjobinfo', 'vm1');
  expect(job.out).toMatch(/Job type:\s+Unbounded/);
  expect(job.out).toContain('Outgoing migration');

  await ferry.start();
  // The same page, the same migration: its stream reconnects and the bar moves on from where it stood.
  expect(page.url()).toBe(url);
  await expect.poll(() => percentOf(page), { timeout: 90_000 }).toBeGreaterThan(atKill);
  await expect(page.locator('[data-connection="error"]')).toHaveCount(0);
  await expect(page.getByText("Ferry restarted; hv1's libvirtd still runs this migration")).toBeVisible();

  const result = page.locator('section[aria-label="Result"]');
  await expect(result).toHaveAttribute('data-result', 'succeeded', { timeout: 150_000 });
  await expect(result).toContainText('vm1 runs on hv2');
  await expect(result).toContainText('hv1: no such domain');
  await expect(result).toContainText('hv2: running (migrated)');
  // The re-attached job settles its volumes with its own options: the source disk it was asked to delete is gone.
  await expect(result).toContainText('deleted /var/lib/libvirt/images/vm1.qcow2 on hv1');
  // Verified on both hosts, not only in Ferry's words.
  expect(virsh(hv2, 'domstate', 'vm1')).toEqual({ ok: true, out: 'running' });
  expect(virsh(hv1, 'domstate', 'vm1').ok).toBe(false);
  virsh(hv1, 'pool-refresh', 'default');
  expect(virsh(hv1, 'vol-list', 'default').out).not.toContain('vm1.qcow2');

  await ferry.stop();
  expect(processesNaming(uuid)).toEqual([]);
  await context.close();
});

test('a cancel of a wedged virsh migrate ends within the grace period, with the hosts’ truth', async ({ browser }) => {
  lab('reset');
  await ferry.start();
  const context = await ferry.signedInContext(browser, ADMIN);
  const page = await context.newPage();
  const uuid = vmUuid();
  await startMigration(page, 2);
  await expect.poll(() => percentOf(page), { timeout: 60_000 }).toBeGreaterThanOrEqual(1);

  // Wedge the client: a stopped virsh reads nothing and ends never, as the wedged virsh 9.0 clients did.
  const [client] = processesNaming(uuid).filter((line) => line.includes(' migrate '));
  const clientPid = Number(client?.split(' ')[0]);
  expect(clientPid).toBeGreaterThan(0);
  process.kill(clientPid, 'SIGSTOP');

  const cancelledAt = Date.now();
  await page.getByRole('button', { name: 'Cancel migration' }).click();
  const result = page.locator('section[aria-label="Result"]');
  await expect(result).toHaveAttribute('data-result', 'cancelled', { timeout: CANCEL_GRACE_MS + 20_000 });
  const tookMs = Date.now() - cancelledAt;
  // The grace period, then the kill (SIGTERM, SIGKILL 2 s later for a stopped process) and the hosts' answers.
  expect(tookMs).toBeLessThan(CANCEL_GRACE_MS + 10_000);
  await expect(page.getByText(`virsh did not end within ${CANCEL_GRACE_MS / 1000} s of domjobabort`)).toBeVisible();
  await expect(result).toContainText('hv1: running');
  await expect(result).toContainText('hv2: no such domain');
  expect(virsh(hv1, 'domstate', 'vm1')).toEqual({ ok: true, out: 'running' });
  expect(virsh(hv2, 'domstate', 'vm1').ok).toBe(false);
  expect(processesNaming(uuid)).toEqual([]);

  await ferry.stop();
  expect(processesNaming(uuid)).toEqual([]);
  // Nothing of the lab's virsh clients is left behind either (ps, as an admin would look).
  const virshLines = execFileSync('ps', ['-eo', 'pid,stat,args'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(uuid) && /\bvirsh\b/.test(line) && !line.includes('qemu-system'));
  expect(virshLines).toEqual([]);
  await context.close();
});
