import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from '@playwright/test';
import { fillStable, gotoReady } from './ready';

export type LabHost = {
  alias: string;
  ip: string;
  uri: string;
  displayUri: string;
  fingerprint: string;
  hostUuid: string;
};

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LAB_DIR = process.env.FERRY_LAB_DIR ?? path.join(ROOT, '.lab');

export function labHosts(): { hv1: LabHost; hv2: LabHost } {
  const hosts = JSON.parse(readFileSync(path.join(LAB_DIR, 'hosts.json'), 'utf8')) as LabHost[];
  const hv1 = hosts.find((h) => h.alias === 'hv1');
  const hv2 = hosts.find((h) => h.alias === 'hv2');
  if (!hv1 || !hv2) throw new Error(`.lab/hosts.json lacks hv1/hv2: run npm run lab:up`);
  return { hv1, hv2 };
}

export function lab(...args: string[]) {
  execFileSync('bash', [path.join(ROOT, 'e2e/lab/lab.sh'), ...args], { stdio: 'pipe', timeout: 120_000 });
}

/** Runs real virsh against a lab host; returns stdout, or the error text when virsh fails. */
export function virsh(host: LabHost, ...args: string[]): { ok: boolean; out: string } {
  try {
    return {
      ok: true,
      out: execFileSync('virsh', ['-c', host.uri, ...args], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 30_000,
      }).trim(),
    };
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string };
    return { ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}`.trim() };
  }
}

/**
 * A migration of `vm` from `from` to `to` started with plain virsh (not Ferry), held slow by `--bandwidth` MiB/s so
 * a test can look at both hosts while it runs: libvirt holds the domain's job on both meanwhile. `abort` ends it
 * with domjobabort (SIGKILL after 30 s; harmless once it has ended) and resolves with virsh's exit code.
 */
export function startPlainMigration(options: { from: LabHost; to: LabHost; vm: string; bandwidthMiBps: number }) {
  const args = ['-q', '-c', options.from.uri, 'migrate', '--p2p', '--live', '--persistent', '--undefinesource'];
  args.push('--copy-storage-all', '--bandwidth', String(options.bandwidthMiBps));
  args.push('--domain', options.vm, '--desturi', options.to.uri);
  const migration = spawn('virsh', args, { stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => migration.on('exit', (code) => resolve(code)));
  return {
    /** virsh's exit code, once it has ended. */
    exited,
    abort: async (): Promise<number | null> => {
      virsh(options.from, 'domjobabort', '--domain', options.vm);
      const killer = setTimeout(() => migration.kill('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(killer);
      return code;
    },
  };
}

export async function ensureHost(page: Page, options: { alias: string; uri: string }) {
  await gotoReady(page, '/hosts');
  if ((await page.locator(`tr[data-host-row="${options.alias}"]`).count()) > 0) return;
  await fillStable(page.getByLabel('Alias', { exact: true }), options.alias);
  await fillStable(page.getByLabel('libvirt URI or imported alias'), options.uri);
  await page.getByRole('button', { name: 'Add host' }).click();
  await page.locator(`tr[data-host-row="${options.alias}"]`).waitFor();
}

/** A spec's start on the lab: its guests back home (`lab.sh reset`), and hv1 and hv2 registered in Ferry. */
export async function registerLabHosts(browser: Browser) {
  const { hv1, hv2 } = labHosts();
  lab('reset');
  const page = await browser.newPage();
  await ensureHost(page, { alias: 'hv1', uri: hv1.uri });
  await ensureHost(page, { alias: 'hv2', uri: hv2.uri });
  await page.close();
}
