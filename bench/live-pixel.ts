import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Page } from '@playwright/test';
import { lab, labHosts, virsh } from '../e2e/lab-hosts';
import { launchBenchChromium, percentile, startBenchFerry } from './ferry-server';

const run = promisify(execFile);

/**
 * Event to pixel on the lab (issue #11): a fleet page open in Chromium with its auto-refresh off, and a guest
 * started and destroyed with plain virsh on hv1, over and over. Each sample is from the moment the virsh command
 * is issued to the animation frame after the card's state changed (same machine, same clock); virsh's own time
 * to return is reported beside it, and the time from that return (the change is made by then) to the repaint:
 * the change itself happens somewhere between the two, so the two figures bound its latency. Needs
 * `npm run lab:up` and `npx next build`.
 */

export type LivePixelResult = {
  samples: number;
  toPixel: { p50Ms: number; p95Ms: number; maxMs: number };
  virshReturn: { p50Ms: number; p95Ms: number };
  /** From virsh's return (the change is done by then) to the repaint; negative when the page was first. */
  afterReturn: { p50Ms: number; p95Ms: number; maxMs: number };
};

const VM = 'vm-off';

/** Resolves (with Date.now() at the next frame) once the card shows `state`; armed before the command is sent. */
async function arm(page: Page, state: string): Promise<void> {
  await page.evaluate(
    ({ vm, wanted }) => {
      const holder = window as unknown as { ferryBenchShown?: Promise<number> };
      // No named functions in here: tsx's keepNames would wrap them in a helper the page does not have.
      holder.ferryBenchShown = new Promise<number>((resolve) => {
        const selector = `section[data-host="hv1"] li[data-vm="${vm}"]`;
        const observer = new MutationObserver(() => {
          if (document.querySelector(selector)?.getAttribute('data-vm-state') !== wanted) return;
          observer.disconnect();
          requestAnimationFrame(() => resolve(Date.now()));
        });
        observer.observe(document.body, {
          subtree: true,
          childList: true,
          attributes: true,
          attributeFilter: ['data-vm-state'],
        });
      });
    },
    { vm: VM, wanted: state },
  );
}

export async function benchLivePixel(
  options: { rounds?: number; log?: (line: string) => void } = {},
): Promise<LivePixelResult> {
  const log = options.log ?? (() => {});
  const rounds = options.rounds ?? 10;
  const { hv1 } = labHosts();
  lab('reset');
  const ferry = await startBenchFerry({ port: 3202, name: 'live-pixel' });
  const browser = await launchBenchChromium();
  try {
    await ferry.call('host.add', { alias: 'hv1', reference: hv1.uri });
    const context = await browser.newContext({ viewport: { width: 1600, height: 1200 } });
    await context.addCookies([{ name: 'ferry-session', value: ferry.sessionToken, url: ferry.base }]);
    const page = await context.newPage();
    await page.goto(`${ferry.base}/`);
    await page.getByLabel('Auto-refresh').selectOption('0');
    await page
      .locator('section[data-host="hv1"] [data-stream-state="live"]')
      .waitFor({ state: 'attached', timeout: 60_000 });
    await page.locator(`section[data-host="hv1"] li[data-vm="${VM}"][data-vm-state="shutoff"]`).waitFor();

    const toPixel: number[] = [];
    const virshReturn: number[] = [];
    const afterReturn: number[] = [];
    for (let round = 0; round < rounds; round++) {
      for (const [command, state] of [
        ['start', 'running'],
        ['destroy', 'shutoff'],
      ] as const) {
        await arm(page, state);
        const sentAt = Date.now();
        await run('virsh', ['-c', hv1.uri, command, VM]);
        const returnedAt = Date.now();
        virshReturn.push(returnedAt - sentAt);
        const shownAt = await page.evaluate(
          () => (window as unknown as { ferryBenchShown: Promise<number> }).ferryBenchShown,
        );
        toPixel.push(shownAt - sentAt);
        afterReturn.push(shownAt - returnedAt);
      }
      log(
        `round ${round + 1}: ${toPixel
          .slice(-2)
          .map((ms) => `${ms} ms`)
          .join(', ')}`,
      );
    }
    return {
      samples: toPixel.length,
      toPixel: { p50Ms: percentile(toPixel, 50), p95Ms: percentile(toPixel, 95), maxMs: Math.max(...toPixel) },
      virshReturn: { p50Ms: percentile(virshReturn, 50), p95Ms: percentile(virshReturn, 95) },
      afterReturn: {
        p50Ms: percentile(afterReturn, 50),
        p95Ms: percentile(afterReturn, 95),
        maxMs: Math.max(...afterReturn),
      },
    };
  } finally {
    await browser.close();
    ferry.stop();
    if (virsh(hv1, 'domstate', VM).out === 'running') virsh(hv1, 'destroy', VM);
    lab('reset');
  }
}
