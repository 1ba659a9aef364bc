import { execFileSync } from 'node:child_process';
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
