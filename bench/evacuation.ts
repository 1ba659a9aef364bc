import { execFileSync } from 'node:child_process';
import type { Browser } from '@playwright/test';
import { lab, labHosts, virsh } from '../e2e/lab-hosts';
import { median } from './fleet';
import {
  followEvacuationEvents,
  launchBenchChromium,
  percentile,
  residentBytes,
  startBenchFerry,
  treeCpuMs,
  type BenchFerry,
} from './ferry-server';

/**
 * Evacuation on the lab (issue #12), needs `npm run lab:up` and `npx next build`:
 *
 * - wall time of draining hv1's four running guests with local disks through Ferry (from the start call to the
 *   evacuation's own end time, every VM verified on hv2), with nobody watching but the bench asking for the
 *   evacuation once a second as its page does, on a Ferry settled on its hosts (see `settled`) that has evacuated
 *   once already since it started (the first is reported apart), ÷ the same four `virsh migrate --p2p` run two at
 *   a time by a shell script (xargs -P 2);
 * - then the same evacuation again (a fresh Ferry, the lab reset) under load: `watchers` clients, each following
 *   the evacuation's event stream (`/api/evacuations/<id>/events`) as the page's bars do (events lost: the jobs' state
 *   and progress events in the database that a stream did not deliver), the evacuation page open in Chromium timing
 *   progress → pixel (from the server's read of the percent, `data-read-at` on the bar, to the animation frame after
 *   the bar changed), and the server's resident memory before and at its peak (VmHWM);
 * - and three times more under the same load with each guest's migration bandwidth on hv1 capped (`virsh
 *   migrate-setspeed`, 24 MiB/s by default): an uncapped lab migration takes ~4 s and its bar changes once or twice,
 *   too few changes to time; capped, every bar moves many times. Only the progress → pixel figures of those runs are
 *   their point, taken over the three runs' bar changes together (and per run).
 */

export type EvacuationRun = {
  ms: number;
  planMs: number;
  moving: string[];
  outcome: Record<string, string>;
  streams: { clients: number; streams: number; events: number; lost: number };
  memory: { beforeMiB: number; peakMiB: number };
  pixel: PixelFigures;
  /** Each timed bar change (ms), for figures over several runs. */
  samples: { pixel: number[]; arrival: number[] };
};

/** arrival: the server's read of the percent → the event in the page (the rest of `pixel` is drawing it). */
export type PixelFigures = {
  samples: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  arrivalP50Ms: number;
  arrivalP95Ms: number;
};

export type EvacuationBenchResult = {
  /** Median of the script's runs and of Ferry's quiet runs; the ratio is Ferry's median ÷ the script's. */
  scriptMs: number;
  ferryMs: number;
  scriptRuns: number[];
  quietRuns: EvacuationRun[];
  /** The quiet Ferry's first evacuation after its start (not in the ratio). */
  first: EvacuationRun;
  quiet: EvacuationRun;
  loaded: EvacuationRun;
  /**
   * The loaded run again with every guest's migration bandwidth capped, for enough bar changes to time, `runs`
   * times; `pixel` is over all their bar changes.
   */
  throttled: { throttleMiBps: number; runs: EvacuationRun[]; pixel: PixelFigures };
  ratio: number;
};

type View = {
  state: string;
  endedAt: string | null;
  items: { vmName: string; state: string; attempts: { id: string }[] }[];
};

/** The event types the evacuation's stream carries. */
const STREAMED_TYPES = ['state', 'progress'];

const OPEN = ['running', 'paused', 'cancelling'];

/** hv1's running guests with local disks: what the evacuation moves and the script migrates (fixed lab names). */
const GUESTS = ['vm1', 'vm2', 'vm4', 'vm5'];

/**
 * Runs in the evacuation page before its scripts: times each bar change from the server's read of the percent
 * (`data-read-at`) to the animation frame after the change (`ferryPixel`), and splits it at the moment the event's
 * bytes arrived in the page (`ferryArrival`: read → arrival, the server and the wire; the rest is the page parsing
 * and drawing it).
 * The first value a bar gets is the stream's replay of what was read before the page asked: not timed.
 */
const PIXEL_PROBE = `(() => {
  const pixel = [];
  const arrival = [];
  const arrivedAt = new Map();
  window.ferryPixel = pixel;
  window.ferryArrival = arrival;
  // The page's SSE client (the eventsource package) reads its stream with fetch: a copy of each event stream's
  // body is read here, each progress event's readAt noted as it arrives.
  const originalFetch = window.fetch;
  window.fetch = async (...args) => {
    const response = await originalFetch(...args);
    const type = response.headers.get('content-type') ?? '';
    if (!type.includes('text/event-stream') || !response.body) return response;
    const [forPage, forProbe] = response.body.tee();
    (async () => {
      const reader = forProbe.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let newline;
        while ((newline = buffer.indexOf('\\n')) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          if (!line.startsWith('data: ')) continue;
          try {
            // The evacuation stream's messages are the events' JSON; a tRPC stream's are wrapped in "json".
            const raw = JSON.parse(line.slice(6));
            const readAt = (raw?.json ?? raw)?.readAt;
            if (typeof readAt === 'number') arrivedAt.set(readAt, Date.now());
          } catch {}
        }
      }
    })().catch(() => {});
    return new Response(forPage, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
  const replayed = new WeakSet();
  new MutationObserver((records) => {
    for (const record of records) {
      const bar = record.target;
      const readAt = Number(bar.getAttribute('data-read-at'));
      if (!readAt) continue;
      if (!replayed.has(bar)) {
        replayed.add(bar);
        continue;
      }
      requestAnimationFrame(() => {
        pixel.push(Date.now() - readAt);
        const arrived = arrivedAt.get(readAt);
        if (arrived !== undefined) arrival.push(arrived - readAt);
      });
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-read-at'] });
})();`;

/**
 * Waits until Ferry has settled on the hosts just added: both event streams live and a full fleet read done (as
 * opening the fleet page does). An admin evacuates hosts Ferry has known for a while; measured from a cold start,
 * the first read of the hosts and the streams' start would run during the first migrations.
 */
async function settled(ferry: BenchFerry): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    // Signed in: a caller without a session only learns how many streams are up.
    const health = (await (await fetch(`${ferry.base}/api/health`, { headers: ferry.headers })).json()) as {
      hosts: { eventStream: { up: boolean } | null }[];
    };
    if (health.hosts.every((host) => host.eventStream?.up === true)) break;
    if (attempt >= 100) throw new Error(`the hosts' event streams did not come up: ${JSON.stringify(health)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await ferry.query('fleet.list', null);
}

/** A Ferry with both lab hosts registered and settled on them, and hv1's id. */
type SettledFerry = { ferry: BenchFerry; sourceId: string };

/** Starts a Ferry on the lab as it is now, registers hv1 and hv2, and waits until it has settled on them. */
async function startSettledFerry(options: {
  name: string;
  port: number;
  executorKind: 'local' | 'ssh';
}): Promise<SettledFerry> {
  const { hv1, hv2 } = labHosts();
  const ferry = await startBenchFerry({ port: options.port, name: options.name });
  try {
    // FERRY_BENCH_EVACUATION_EXECUTOR=ssh: the hosts run virsh themselves, over Ferry's pooled ssh connection.
    const registered = (host: typeof hv1) =>
      options.executorKind === 'ssh'
        ? { executorKind: 'ssh', confirmedFingerprint: host.fingerprint }
        : { executorKind: 'local' };
    const source = (await ferry.call('host.add', { alias: 'hv1', reference: hv1.uri, ...registered(hv1) })) as {
      id: string;
    };
    await ferry.call('host.add', { alias: 'hv2', reference: hv2.uri, ...registered(hv2) });
    await settled(ferry);
    return { ferry, sourceId: source.id };
  } catch (error) {
    ferry.stop();
    throw error;
  }
}

/**
 * Puts the lab back (every guest home on hv1) under a Ferry that keeps running, as an admin's does: hv1 leaves
 * maintenance (the last evacuation set it), the lab is reset, and the plan is asked until it moves every guest
 * again (Ferry learns of the reset from the hosts' events).
 */
async function resetUnder({ ferry, sourceId }: SettledFerry): Promise<void> {
  const hosts = (await ferry.query('host.list', null)) as { id: string; inMaintenance?: boolean }[];
  if (hosts.find((host) => host.id === sourceId)?.inMaintenance)
    await ferry.call('evacuation.endMaintenance', { hostId: sourceId });
  lab('reset');
  for (let attempt = 0; ; attempt++) {
    const plan = (await ferry.query('evacuation.plan', { hostId: sourceId, overrides: [] })) as {
      items: { vmName: string; kind: string }[];
    };
    const moving = plan.items.filter((item) => item.kind === 'move').map((item) => item.vmName);
    if (GUESTS.every((vm) => moving.includes(vm))) return;
    if (attempt >= 100) throw new Error(`after the reset Ferry's plan moves only ${moving.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * One evacuation of hv1, timed. With `on`, in that running Ferry after putting the lab back under it; without, the
 * lab is reset and a fresh Ferry started for it (and stopped after).
 */
async function evacuateOnce(options: {
  name: string;
  port: number;
  watchers: number;
  browser: Browser | null;
  executorKind: 'local' | 'ssh';
  /** Each guest's migration bandwidth on hv1 (`virsh migrate-setspeed`), so its bar moves many times. */
  throttleMiBps?: number;
  on?: SettledFerry;
  log: (line: string) => void;
}): Promise<EvacuationRun> {
  const { hv1 } = labHosts();
  if (options.on) await resetUnder(options.on);
  else lab('reset');
  if (options.throttleMiBps !== undefined) {
    for (const vm of GUESTS) {
      const set = virsh(hv1, 'migrate-setspeed', '--domain', vm, '--bandwidth', String(options.throttleMiBps));
      if (!set.ok) throw new Error(`migrate-setspeed ${vm}: ${set.out}`);
    }
  }
  const { ferry, sourceId } = options.on ?? (await startSettledFerry(options));
  try {
    const memoryBefore = residentBytes(ferry.pid).rss;

    let started = performance.now();
    const plan = (await ferry.query('evacuation.plan', { hostId: sourceId, overrides: [] })) as {
      items: { vmName: string; kind: string }[];
    };
    const planMs = performance.now() - started;
    const moving = plan.items.filter((item) => item.kind === 'move').map((item) => item.vmName);

    started = performance.now();
    const cpuSplitBefore = new Map<string, number>();
    const cpuBefore = treeCpuMs(ferry.pid, cpuSplitBefore);
    const startedAtMs = Date.now();
    const { id } = (await ferry.call('evacuation.start', { hostId: sourceId, overrides: [] })) as { id: string };

    // The page in Chromium, timing each bar's change to the next frame.
    const context = options.browser ? await options.browser.newContext() : null;
    if (context) {
      await context.addCookies([{ name: 'ferry-session', value: ferry.sessionToken, url: ferry.base }]);
      // A string, not a function: the bench runs through tsx, whose name helpers do not exist in the page.
      await context.addInitScript({ content: PIXEL_PROBE });
    }
    const page = context ? await context.newPage() : null;
    await page?.goto(`${ferry.base}/evacuations/${id}`);

    // The watchers: every client follows the evacuation's one event stream, as the page's bars do.
    const stopWatching = new AbortController();
    const seenByClient = Array.from({ length: options.watchers }, () => new Set<number>());
    const watching = seenByClient.map((seen) =>
      followEvacuationEvents(
        ferry,
        id,
        (event) => {
          if (typeof event.id === 'number') seen.add(event.id);
        },
        stopWatching.signal,
      ),
    );
    let peak = 0;
    let view: View;
    for (;;) {
      view = (await ferry.query('evacuation.get', { id })) as View;
      peak = Math.max(peak, residentBytes(ferry.pid).peak);
      if (!OPEN.includes(view.state)) break;
      // Asked as often as the evacuation page asks: a faster poll would load the server the script does not have.
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    // Start → the server's own end of the evacuation (same clock), not when this loop saw it.
    const ms = view.endedAt ? Date.parse(view.endedAt) - startedAtMs : performance.now() - started;
    const cpuSplit = new Map<string, number>();
    const cpuMs = treeCpuMs(ferry.pid, cpuSplit) - cpuBefore;
    const split = [...cpuSplit]
      .map(([name, value]) => [name, value - (cpuSplitBefore.get(name) ?? 0)] as const)
      .filter(([, value]) => value > 0)
      .map(([name, value]) => `${name} ${value.toFixed(0)} ms`);
    options.log(`  ${options.name} CPU by process: ${split.join(', ')}`);

    // What the stream carries (every job's state and progress rows, retries included), against what each client
    // got: streams stay open until every client has every stored event or 10 s have passed; the rest is lost.
    const stored: number[] = [];
    for (const jobId of new Set(view.items.flatMap((item) => item.attempts.map((attempt) => attempt.id)))) {
      const row = (await ferry.query('migration.get', { id: jobId })) as { events: { id: number; type: string }[] };
      stored.push(...row.events.filter((event) => STREAMED_TYPES.includes(event.type)).map((event) => event.id));
    }
    const everyoneHasAll = () => seenByClient.every((seen) => stored.every((eventId) => seen.has(eventId)));
    for (let waited = 0; waited < 10_000 && !everyoneHasAll(); waited += 100)
      await new Promise((resolve) => setTimeout(resolve, 100));
    stopWatching.abort();
    await Promise.all(watching);
    peak = Math.max(peak, residentBytes(ferry.pid).peak);
    const probe = page
      ? await page.evaluate(() => {
          const holder = window as unknown as { ferryPixel: number[]; ferryArrival: number[] };
          return { pixel: holder.ferryPixel, arrival: holder.ferryArrival };
        })
      : { pixel: [], arrival: [] };
    const { pixel, arrival } = probe;
    await context?.close();

    let events = 0;
    let lost = 0;
    for (const seen of seenByClient) {
      events += seen.size;
      lost += stored.filter((eventId) => !seen.has(eventId)).length;
    }
    const outcome = Object.fromEntries(view.items.map((item) => [item.vmName, item.state]));
    options.log(
      `${options.name}: ${ms.toFixed(0)} ms (plan ${planMs.toFixed(0)} ms; CPU of Ferry and its virsh/ssh from the start until the loop saw the end: ${cpuMs.toFixed(0)} ms), ${JSON.stringify(outcome)}`,
    );
    return {
      ms,
      planMs,
      moving,
      outcome,
      streams: { clients: options.watchers, streams: watching.length, events, lost },
      memory: { beforeMiB: memoryBefore / 2 ** 20, peakMiB: peak / 2 ** 20 },
      pixel: pixelFigures(pixel, arrival),
      samples: { pixel, arrival },
    };
  } finally {
    if (!options.on) ferry.stop();
  }
}

function pixelFigures(pixel: readonly number[], arrival: readonly number[]): PixelFigures {
  return {
    samples: pixel.length,
    p50Ms: percentile(pixel, 50),
    p95Ms: percentile(pixel, 95),
    maxMs: pixel.length > 0 ? Math.max(...pixel) : NaN,
    arrivalP50Ms: percentile(arrival, 50),
    arrivalP95Ms: percentile(arrival, 95),
  };
}

export async function benchEvacuation(
  options: {
    watchers?: number;
    rounds?: number;
    executorKind?: 'local' | 'ssh';
    throttleMiBps?: number;
    /** How many throttled runs to time progress → pixel over. */
    throttledRuns?: number;
    log?: (line: string) => void;
  } = {},
): Promise<EvacuationBenchResult> {
  const log = options.log ?? (() => {});
  const rounds = Math.max(1, options.rounds ?? 5);
  const executorKind = options.executorKind ?? 'local';
  const { hv1, hv2 } = labHosts();

  // The floor: the same four migrations, two at a time, by a shell script (VM names are fixed lab names).
  const script =
    'printf "%s\\n" "${@:3}" | xargs -P 2 -I VM virsh -q -c "$1" migrate --p2p --live --persistent ' +
    '--undefinesource --copy-storage-all --domain VM --desturi "$2"; times';
  const runScript = () => {
    lab('reset');
    const started = performance.now();
    const times = execFileSync('bash', ['-c', script, 'evacuate', hv1.uri, hv2.uri, ...GUESTS], {
      stdio: ['ignore', 'pipe', 'ignore'],
      encoding: 'utf8',
    });
    const scriptMs = performance.now() - started;
    // bash's `times`: the shell's user and system time, then its children's (xargs, virsh, ssh): "0m0.123s".
    const seconds = [...times.matchAll(/(\d+)m([\d.]+)s/g)].reduce(
      (sum, match) => sum + Number(match[1]) * 60 + Number(match[2]),
      0,
    );
    log(
      `shell script: ${scriptMs.toFixed(0)} ms (CPU of the script and its virsh/ssh: ${(seconds * 1000).toFixed(0)} ms)`,
    );
    return scriptMs;
  };

  const browser = await launchBenchChromium();
  try {
    // Script and Ferry alternate, each going first every other round, so a machine that slows down or speeds up
    // over the run weighs on both alike; the ratio is of the medians.
    const scriptRuns: number[] = [];
    const quietRuns: EvacuationRun[] = [];
    // One Ferry for every quiet run, as an admin's runs for weeks. Its first evacuation after the start runs code V8
    // has not compiled yet and queries whose plans Prisma has not built yet: timed and reported apart (`first`), and
    // the ratio is of the evacuations after it, each on the lab put back under the running Ferry.
    lab('reset');
    const quietFerry = await startSettledFerry({ name: 'evacuation-quiet', port: 3201, executorKind });
    let first: EvacuationRun;
    try {
      const runFerry = (name: string) =>
        evacuateOnce({ name, port: 3201, watchers: 0, browser: null, executorKind, on: quietFerry, log });
      first = await runFerry('evacuation-quiet-first');
      for (let round = 0; round < rounds; round++) {
        if (round % 2 === 0) {
          scriptRuns.push(runScript());
          quietRuns.push(await runFerry(`evacuation-quiet-${round}`));
        } else {
          quietRuns.push(await runFerry(`evacuation-quiet-${round}`));
          scriptRuns.push(runScript());
        }
      }
    } finally {
      quietFerry.ferry.stop();
    }
    // Under load: `watchers` clients following the evacuation's stream, and its page open in Chromium.
    const underLoad = (name: string, port: number, throttleMiBps?: number) =>
      evacuateOnce({ name, port, watchers: options.watchers ?? 50, browser, executorKind, throttleMiBps, log });
    const loaded = await underLoad('evacuation-loaded', 3299);
    // The unthrottled run's bars jump in one or two steps (a lab migration takes ~4 s), too few changes for a
    // percentile: the same load again with each guest's migration held to `throttleMiBps`, so every bar moves often.
    // One such run gives ~60 bar changes, and a p95 of 60 is the 4th slowest: it swung 14–25 ms from run to run with
    // nothing changed. The runs are repeated and the figures taken over all their changes.
    const throttleMiBps = options.throttleMiBps ?? 24;
    const throttledRuns: EvacuationRun[] = [];
    for (let run = 0; run < Math.max(1, options.throttledRuns ?? 3); run++)
      throttledRuns.push(await underLoad(`evacuation-loaded-throttled-${run}`, 3297, throttleMiBps));
    const pooled = (pick: (run: EvacuationRun) => number[]) => throttledRuns.flatMap(pick);
    const scriptMs = median(scriptRuns);
    const ferryMs = median(quietRuns.map((run) => run.ms));
    const quiet = quietRuns[0] as EvacuationRun;
    return {
      scriptMs,
      ferryMs,
      scriptRuns,
      quietRuns,
      first,
      quiet,
      loaded,
      throttled: {
        throttleMiBps,
        runs: throttledRuns,
        pixel: pixelFigures(
          pooled((run) => run.samples.pixel),
          pooled((run) => run.samples.arrival),
        ),
      },
      ratio: ferryMs / scriptMs,
    };
  } finally {
    await browser.close();
    lab('reset');
  }
}
