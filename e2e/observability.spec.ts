import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test, type Page } from '@playwright/test';
import { gotoReady } from './ready';
import { lab, labHosts, registerLabHosts } from './lab-hosts';

/**
 * Operating Ferry on the lab: /metrics passes promtool and counts a real migration, the server's own log lines
 * (e2e/serve.sh writes them to data/e2e-server-<port>.log) carry the migration's id and never a key path, health
 * lists the hosts, and the audit anchors in that log check out against the database with `audit:verify`.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PORT = Number(process.env.E2E_PORT ?? 3100);
const LOG_FILE = path.join(ROOT, 'data', `e2e-server-${PORT}.log`);
const { hv1 } = labHosts();

test.describe.configure({ mode: 'serial' });
test.beforeAll(async ({ browser }) => registerLabHosts(browser));
test.afterAll(() => lab('reset'));

function promtool(text: string): { status: number | null; output: string } {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

async function scrape(page: Page): Promise<string> {
  const response = await page.request.get('/metrics');
  expect(response.status()).toBe(200);
  const text = await response.text();
  expect(promtool(text)).toEqual({ status: 0, output: '' });
  return text;
}

function succeededLive(text: string): number {
  return Number(/^ferry_migrations_total\{result="succeeded",mode="live"\} (\d+)/m.exec(text)?.[1] ?? 0);
}

function logRecords(): Record<string, unknown>[] {
  return readFileSync(LOG_FILE, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

test('/metrics counts a lab migration, its log lines carry its id and no key path, health lists the hosts', async ({
  page,
}) => {
  const before = await scrape(page);

  await gotoReady(page, '/');
  await page.getByLabel('Auto-refresh').selectOption('0');
  const card = page.locator('section[data-host="hv1"] li[data-vm="vm1"]');
  await expect(card).toContainText('running', { timeout: 30_000 });
  await card.getByRole('button', { name: 'Migrate vm1' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('radio', { name: /hv2/ }).check();
  await dialog.getByRole('button', { name: 'Run preflight' }).click();
  await expect(dialog.getByRole('list', { name: 'Preflight checklist' })).toBeVisible({ timeout: 30_000 });
  await expect(dialog.locator('[data-status="fail"]')).toHaveCount(0);
  await dialog.getByRole('button', { name: 'Start migration' }).click();
  await page.waitForURL(/\/migrations\/[a-z0-9]+$/);
  const migrationId = page.url().split('/').pop() as string;
  await expect(page.locator('section[aria-label="Result"]')).toHaveAttribute('data-result', 'succeeded', {
    timeout: 90_000,
  });

  const after = await scrape(page);
  expect(succeededLive(after) - succeededLive(before)).toBe(1);
  expect(after).toMatch(/^ferry_migration_duration_seconds_count\{result="succeeded",mode="live"\} [1-9]/m);
  expect(after).toMatch(/^ferry_host_read_duration_seconds_count\{host="hv1",result="ok"\} [1-9]/m);
  expect(after).not.toContain('vm1');

  const records = logRecords();
  const states = records
    .filter((record) => record.event === 'migration.state' && record.migrationId === migrationId)
    .map((record) => record.state);
  expect(states).toEqual(expect.arrayContaining(['queued', 'running', 'succeeded']));
  expect(states.at(-1)).toBe('succeeded');
  const requests = records.filter((record) => record.event === 'http.request');
  expect(requests.some((record) => record.path === `/migrations/${migrationId}` && record.status === 200)).toBe(true);
  expect(requests.every((record) => typeof record.requestId === 'string' && !String(record.path).includes('?'))).toBe(
    true,
  );
  const keyPath = new URL(hv1.uri.replace(/^qemu\+ssh:/, 'http:')).searchParams.get('keyfile');
  expect(keyPath).toBeTruthy();
  const log = readFileSync(LOG_FILE, 'utf8');
  expect(log).not.toContain(keyPath as string);
  expect(log).not.toContain('.lab/keys');

  const health = await page.request.get('/api/health');
  expect(health.status()).toBe(200);
  const body = (await health.json()) as { ok: boolean; database: string; hosts: { alias: string }[] };
  expect(body).toMatchObject({ ok: true, database: 'up' });
  expect(body.hosts.map((host) => host.alias)).toEqual(expect.arrayContaining(['hv1', 'hv2']));
  expect(JSON.stringify(body)).not.toContain('://');
  expect((await page.request.get('/api/health')).headers()['x-request-id']).toBeTruthy();
  // Without a session (a load balancer, anyone who reaches the port): fit or not, and stream counts, no host names.
  const anonymous = await fetch(new URL('/api/health', page.url()));
  expect(anonymous.status).toBe(200);
  const summary = (await anonymous.json()) as { ok: boolean; eventStreams: { total: number } | null; hosts?: unknown };
  expect(summary).toMatchObject({ ok: true, database: 'up' });
  expect(summary.eventStreams?.total).toBeGreaterThanOrEqual(2);
  expect(summary.hosts).toBeUndefined();
  expect(JSON.stringify(summary)).not.toMatch(/hv1|hv2/);

  // Adding hosts is an admin action: its anchor is in the log, and the database still matches every anchor.
  expect(records.some((record) => record.event === 'audit.anchor' && record.reason === 'admin-action')).toBe(true);
  const verify = spawnSync('npm', ['run', '-s', 'audit:verify', '--', '--anchors', LOG_FILE], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, DATABASE_URL: process.env.E2E_DATABASE_URL ?? 'file:./data/e2e.db', FERRY_LOG_FILE: '' },
  });
  expect(verify.stdout).toMatch(/All \d+ anchors from the log match\./);
  expect(verify.status).toBe(0);
});
