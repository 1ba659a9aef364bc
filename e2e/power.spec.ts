import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, request as playwrightRequest, test, type APIRequestContext, type Page } from '@playwright/test';
import superjson from 'superjson';
import { runCli, type CliRun } from '../cli/testing/run-cli';
import { makeKey, startSshAgent } from '../cli/testing/ssh-agent';
import { addUserWithCli, ADMIN_STATE, API_HEADERS, signInWithPage } from './auth';
import { lab, labHosts, registerLabHosts, startPlainMigration, virsh } from './lab-hosts';
import { gotoReady } from './ready';

/**
 * Power actions on the lab's real guests: from the VM cards (the card's state follows), a shutdown the tiny
 * guest ignores (it has no ACPI handler) ending in the offered force off, the CLI through a real ssh-agent, and a
 * viewer who sees no buttons and whom the API refuses. The server runs with FERRY_SHUTDOWN_TIMEOUT_MS (4 s here,
 * playwright.config.ts) so the ignored shutdown times out quickly. Every guest ends as `lab.sh reset` leaves it.
 */

const PORT = Number(process.env.E2E_PORT ?? 3100);
const BASE = `http://127.0.0.1:${PORT}`;
const TIMEOUT_S = Math.round(Number(process.env.FERRY_SHUTDOWN_TIMEOUT_MS ?? 4_000) / 1000);
const VIEWER = { name: 'power-viewer', password: 'power viewer password 1' };
const OPERATOR = 'power-cli';

test.describe.configure({ mode: 'serial' });

let admin: APIRequestContext;
let agent: Awaited<ReturnType<typeof startSshAgent>>;
let dir: string;

async function trpc<T>(kind: 'query' | 'mutation', procedure: string, input?: unknown): Promise<T> {
  const serialized = superjson.serialize(input);
  const response =
    kind === 'query'
      ? await admin.get(`/api/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(serialized))}`, {
          headers: API_HEADERS,
        })
      : await admin.post(`/api/trpc/${procedure}`, { headers: API_HEADERS, data: serialized });
  const body = (await response.json()) as { result?: { data: never }; error?: unknown };
  if (!body.result) throw new Error(`${procedure}: ${JSON.stringify(body.error)}`);
  return superjson.deserialize<T>(body.result.data);
}

function ferry(args: string[]): Promise<CliRun> {
  return runCli(args, {
    env: { FERRY_URL: BASE, SSH_AUTH_SOCK: agent.socket, FERRY_KEY: OPERATOR },
    timeoutMs: 60_000,
  });
}

function card(page: Page, vm: string) {
  return page.locator(`section[data-host="hv1"] li[data-vm="${vm}"]`);
}

/** The state badge next to the VM's name, as the fleet query last read it. */
function badge(page: Page, vm: string) {
  return card(page, vm).locator('h3 + span');
}

function domstate(vm: string): string {
  return virsh(labHosts().hv1, 'domstate', vm).out;
}

test.beforeAll(async ({ browser }) => {
  await registerLabHosts(browser);
  addUserWithCli({ name: VIEWER.name, role: 'viewer', password: VIEWER.password });
  admin = await playwrightRequest.newContext({ baseURL: BASE, storageState: ADMIN_STATE });
  dir = mkdtempSync(path.join(tmpdir(), 'ferry-power-e2e-'));
  agent = await startSshAgent();
  const keyFile = makeKey({ dir, name: OPERATOR, args: ['-t', 'ed25519'] });
  agent.add(keyFile);
  const { id } = await trpc<{ id: string }>('mutation', 'users.add', {
    name: OPERATOR,
    role: 'operator',
    password: `${OPERATOR} password 1`,
  });
  await trpc('mutation', 'apiKeys.add', {
    userId: id,
    publicKey: readFileSync(`${keyFile}.pub`, 'utf8'),
    comment: OPERATOR,
    expiresAt: null,
  });
});

test.afterAll(async () => {
  await agent?.stop();
  await admin?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
  // Whatever a failed test left: vm-off shut off, the rest running on their home hosts.
  lab('reset');
});

test('suspend, resume, force off and start from the card, its state following each', async ({ page }) => {
  await gotoReady(page, '/');
  const power = card(page, 'vm2').getByRole('group', { name: 'Power actions for vm2' });
  await expect(badge(page, 'vm2')).toHaveText('running');
  // Only what a running VM can do.
  await expect(power.getByRole('button')).toHaveText(['Shut down', 'Reboot', 'Suspend', 'Force off']);

  await power.getByRole('button', { name: 'Suspend vm2' }).click();
  await expect(badge(page, 'vm2')).toHaveText('paused');
  expect(domstate('vm2')).toBe('paused');
  await expect(power.getByRole('button')).toHaveText(['Resume', 'Force off']);

  await power.getByRole('button', { name: 'Resume vm2' }).click();
  await expect(badge(page, 'vm2')).toHaveText('running');
  expect(domstate('vm2')).toBe('running');

  // Destructive: nothing happens until the dialog is confirmed.
  await power.getByRole('button', { name: 'Force off vm2' }).click();
  const dialog = page.getByRole('dialog', { name: 'Force off vm2 on hv1?' });
  await expect(dialog).toContainText('Unsaved data is lost');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  expect(domstate('vm2')).toBe('running');
  await power.getByRole('button', { name: 'Force off vm2' }).click();
  await dialog.getByRole('button', { name: 'Force off' }).click();
  await expect(badge(page, 'vm2')).toHaveText('shutoff');
  expect(domstate('vm2')).toBe('shut off');
  await expect(power.getByRole('button')).toHaveText(['Start']);

  await power.getByRole('button', { name: 'Start vm2' }).click();
  await expect(badge(page, 'vm2')).toHaveText('running');
  expect(domstate('vm2')).toBe('running');

  // Each action is its own audit row: who, which VM on which host, what, and how it ended.
  const audit = await trpc<{ rows: { actor: string; action: string; result: string; hostAlias: string | null }[] }>(
    'query',
    'audit.list',
    { filter: { vm: 'vm2', host: 'hv1' }, limit: 20 },
  );
  expect(
    audit.rows
      .filter((row) => row.action.startsWith('power.'))
      .map((row) => `${row.actor} ${row.hostAlias} ${row.action} ${row.result}`),
  ).toEqual([
    'e2e-admin hv1 power.start ok',
    'e2e-admin hv1 power.poweroff ok',
    'e2e-admin hv1 power.resume ok',
    'e2e-admin hv1 power.suspend ok',
  ]);
});

test('a shutdown the guest ignores shows "shutting down…", then the offered force off', async ({ page }) => {
  await gotoReady(page, '/');
  const power = card(page, 'vm4').getByRole('group', { name: 'Power actions for vm4' });
  await power.getByRole('button', { name: 'Shut down vm4' }).click();
  const dialog = page.getByRole('dialog', { name: 'Shut down vm4 on hv1?' });
  await dialog.getByRole('button', { name: 'Shut down' }).click();
  await expect(card(page, 'vm4').locator('[data-power-status="pending"]')).toHaveText('Shutting down…');
  // Pending survives a reload: the row is in the database, not in the request or the page.
  await page.reload();
  await expect(card(page, 'vm4').locator('[data-power-status="pending"]')).toBeVisible();

  const offer = card(page, 'vm4').locator('[data-power-status="timed-out"]');
  await expect(offer).toContainText(`The guest did not react to ACPI within ${TIMEOUT_S} s`, {
    timeout: TIMEOUT_S * 1000 + 15_000,
  });
  expect(domstate('vm4')).toBe('running');
  await offer.getByRole('button', { name: 'Force off now' }).click();
  await expect(badge(page, 'vm4')).toHaveText('shutoff');
  await expect(offer).toHaveCount(0);
  expect(domstate('vm4')).toBe('shut off');

  await power.getByRole('button', { name: 'Start vm4' }).click();
  await expect(badge(page, 'vm4')).toHaveText('running');
});

test('the CLI suspends and resumes a lab guest, and its shutdown --force ends forced off', async () => {
  const suspended = await ferry(['suspend', 'vm1', '--host', 'hv1', '--json']);
  expect(suspended.stderr).toBe('');
  expect(suspended.code).toBe(0);
  expect(JSON.parse(suspended.stdout)).toMatchObject({
    vm: 'vm1',
    host: 'hv1',
    action: 'suspend',
    state: 'succeeded',
    vmState: 'paused',
  });
  expect(domstate('vm1')).toBe('paused');

  // A second suspend is refused with the state's sentence, exit 1.
  const again = await ferry(['suspend', 'vm1']);
  expect(again.code).toBe(1);
  expect(again.stderr).toBe('ferry: Cannot suspend "vm1": it is paused (it can resume or force off).\n');

  const resumed = await ferry(['resume', 'vm1']);
  expect(resumed.code).toBe(0);
  expect(resumed.stdout).toBe('Resume: "vm1" is now running.\n');
  expect(domstate('vm1')).toBe('running');

  const shutdown = await ferry(['shutdown', 'vm1', '--yes', '--force']);
  expect(shutdown.code).toBe(0);
  expect(shutdown.stdout).toBe(`Shutting down vm1 on hv1 (ACPI)…\nForce off: "vm1" is now shut off.\n`);
  expect(domstate('vm1')).toBe('shut off');
  const started = await ferry(['start', 'vm1', '--json']);
  expect(JSON.parse(started.stdout)).toMatchObject({ state: 'succeeded', vmState: 'running' });
  expect(domstate('vm1')).toBe('running');
});

test('a guest that a plain virsh migration holds: power, a migration and an evacuation plan refuse it at once, the job named; force off ends it', async ({
  page,
}) => {
  test.setTimeout(120_000);
  const { hv1, hv2 } = labHosts();
  await gotoReady(page, '/');
  // 2 MiB/s: the migration outlasts the checks below. libvirt holds vm1's job on both hosts meanwhile; a resume on
  // hv2 would wait 30 s for its lock, holding hv2's virsh session, and a suspend on hv1 would pause it mid-migration.
  const migration = startPlainMigration({ from: hv1, to: hv2, vm: 'vm1', bandwidthMiBps: 2 });
  const arriving = page.locator('section[data-host="hv2"] li[data-vm="vm1"]');
  try {
    await expect(arriving.locator('h3 + span')).toHaveText('paused', { timeout: 30_000 });
    await arriving.getByRole('button', { name: 'Resume vm1' }).click();
    await expect(arriving.locator('[data-power-error]')).toHaveText(
      'Cannot resume "vm1": it is paused (migrating) on hv2, held by a migration that Ferry did not start. ' +
        "Wait for it to end, or abort it (virsh domjobabort on the migration's source host).",
    );
    await card(page, 'vm1').getByRole('button', { name: 'Suspend vm1' }).click();
    await expect(card(page, 'vm1').locator('[data-power-error]')).toHaveText(
      'Cannot suspend "vm1": libvirt on hv1 is running a job on it that Ferry did not start (outgoing migration). ' +
        'Wait for it to end, or abort it (virsh domjobabort on hv1).',
    );
    // A migration by Ferry is refused by its preflight, rather than wait 30 s for the lock and fail. (--from: the
    // arriving vm1 is listed on hv2 too.)
    const preflight = await ferry(['migrate', 'vm1', '--from', 'hv1', '--to', 'hv2', '--preflight-only']);
    expect(preflight.code).toBe(1);
    expect(preflight.stdout).toContain(
      'No migration running: "vm1": libvirt on hv1 is running a job on it that Ferry did not start (outgoing migration).',
    );
    expect(preflight.stderr).toBe('Preflight failed: nothing was started.\n');
    // An evacuation plan of hv1 shows vm1 as one that cannot move, and why; the others are placed.
    const plan = await ferry(['evacuate', 'hv1', '--dry-run', '--json']);
    expect(plan.code).toBe(0);
    type PlanItem = { vmName: string; kind: string; reasons: string[] };
    const { items } = (JSON.parse(plan.stdout) as { plan: { items: PlanItem[] } }).plan;
    expect(items.find((item) => item.vmName === 'vm1')).toMatchObject({
      kind: 'unmovable',
      reasons: [
        'libvirt on hv1 is running a job on it that Ferry did not start (outgoing migration). ' +
          'Wait for it to end, or abort it (virsh domjobabort on hv1).',
      ],
    });
    expect(items.find((item) => item.vmName === 'vm2')?.kind).toBe('move');
    // Nothing was asked of libvirt: the guest still runs on hv1, and the migration still runs.
    expect(domstate('vm1')).toBe('running');
    expect(virsh(hv1, 'domjobinfo', '--domain', 'vm1').out).toMatch(/Job type:\s+Unbounded/);

    // Force off is the way out, and is not refused: the arriving copy on hv2 ends, and with it the migration.
    await arriving.getByRole('button', { name: 'Force off vm1' }).click();
    await page
      .getByRole('dialog', { name: 'Force off vm1 on hv2?' })
      .getByRole('button', { name: 'Force off' })
      .click();
    await expect(arriving).toHaveCount(0, { timeout: 15_000 });
    const ended = await Promise.race([migration.exited, new Promise((resolve) => setTimeout(resolve, 20_000, 'on'))]);
    expect(ended).not.toBe('on');
    expect(ended).not.toBe(0);
    expect(virsh(hv2, 'domstate', '--domain', 'vm1').ok).toBe(false);
    expect(domstate('vm1')).toBe('running');
  } finally {
    await migration.abort();
  }
  const audit = await trpc<{ rows: { action: string; result: string; hostAlias: string | null }[] }>(
    'query',
    'audit.list',
    { filter: { vm: 'vm1' }, limit: 5 },
  );
  expect(audit.rows.slice(0, 4).map((row) => `${row.hostAlias} ${row.action} ${row.result}`)).toEqual([
    'hv2 power.poweroff ok',
    'hv1 migration.preflight refused',
    'hv1 power.suspend refused',
    'hv2 power.resume refused',
  ]);
});

test('a viewer sees no power buttons, and the API refuses a viewer', async ({ browser }) => {
  const context = await browser.newContext({ storageState: { cookies: [], origins: [] } });
  const viewer = await context.newPage();
  await signInWithPage(viewer, VIEWER);
  await gotoReady(viewer, '/');
  await expect(badge(viewer, 'vm1')).toHaveText('running');
  await expect(viewer.getByRole('group', { name: /^Power actions for/ })).toHaveCount(0);
  await expect(card(viewer, 'vm1').getByRole('button', { name: 'Force off vm1' })).toHaveCount(0);

  const { hv1 } = labHosts();
  const hosts = await trpc<{ id: string; alias: string }[]>('query', 'host.list');
  const hostId = hosts.find((host) => host.alias === hv1.alias)?.id;
  const uuid = virsh(hv1, 'domuuid', 'vm1').out;
  const refused = await viewer.evaluate(
    async ({ headers, input }) => {
      const response = await fetch('/api/trpc/power.act', {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ json: input }),
      });
      return { status: response.status, body: await response.text() };
    },
    { headers: API_HEADERS, input: { hostId, vmName: 'vm1', vmUuid: uuid, action: 'poweroff' } },
  );
  expect(refused.status).toBe(403);
  expect(refused.body).toContain('This needs the operator role; you are viewer.');
  expect(domstate('vm1')).toBe('running');
  await context.close();
});
