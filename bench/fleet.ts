import { spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Executor, RunOptions } from '../server/hypervisor/executor';
import { collectHostInventory, collectVms, createVmDetailCache, type VmDetailCache } from '../server/inventory/collect';
import { testHostUri, writeTestHost } from '../server/testing/test-host-xml';

/**
 * Fleet refresh bench on the libvirt test driver: N generated hosts of M VMs each.
 *
 * - floor: the very commands Ferry's cold refresh ran on each host (recorded), in one plain virsh per host, as
 *   many hosts at once as Ferry: the same data fetched with nothing of Ferry's around it.
 * - cold: Ferry's first refresh, fresh executors and empty caches: host info and every VM's card.
 * - warm: the next refresh with the executors and per-host detail caches kept (host info is cached by
 *   the caller, so only VMs are refreshed).
 *
 * The test driver's domstats reports only state, so Ferry falls back per domain (dominfo, domblklist,
 * domblkinfo) on a cold refresh, and so does the floor; on qemu domstats is complete and only `domblklist` per
 * domain remains. The figures below say which executor ran them.
 */

export const COLD_TO_FLOOR_GOAL = 1.2;
export const WARM_GOAL_MS = 300;

export type FleetBenchOptions = {
  hosts?: number;
  vmsPerHost?: number;
  makeExecutor: (uri: string) => Executor;
  /** Hosts refreshed at once by Ferry (the floor always runs two at a time). */
  concurrency?: number;
  /** Where the host files go; defaults to bench/out/fleet-<hosts>x<vms>. */
  dir?: string;
  /** How many warm refreshes and floor runs to take the median of. */
  repeats?: number;
  /**
   * How long per-domain details stay reusable. Defaults to no limit, so "warm" measures a refresh whose
   * cache is fresh: with one process per command the cold refresh of 200 × 50 VMs takes longer than any
   * sensible limit, and would expire its own first entries. Ferry's default is DEFAULT_DETAIL_MAX_AGE_MS.
   */
  detailMaxAgeMs?: number;
  /** Also time a warm refresh without detail caches (what a caller that keeps no cache pays). */
  shouldMeasureUncachedWarm?: boolean;
  log?: (line: string) => void;
};

export type FleetBenchResult = {
  hosts: number;
  vmsPerHost: number;
  concurrency: number;
  detailMaxAgeMs: number;
  executor: string;
  floorMs: number;
  floorRunsMs: number[];
  coldMs: number;
  warmMs: number;
  warmRunsMs: number[];
  uncachedWarmMs: number | null;
  coldToFloor: number;
  isColdGoalMet: boolean;
  isWarmGoalMet: boolean;
  /** virsh commands Ferry ran in the cold refresh and in one warm refresh. */
  coldCommands: number;
  warmCommands: number;
  vmsSeenCold: number;
  vmsSeenWarm: number;
  /** Cards with `problem` set, across the cold refresh. */
  incompleteVms: number;
};

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index] as T);
      }
    }),
  );
  return results;
}

/** Counts commands, and records their argv in `seen` when given, without changing what runs. */
function counting(inner: Executor, counter: { count: number }, seen?: string[][]): Executor {
  return {
    description: inner.description,
    run: (args: readonly string[], options?: RunOptions) => {
      counter.count += 1;
      seen?.push([...args]);
      return inner.run(args, options);
    },
    close: () => inner.close(),
  };
}

/**
 * The floor: per host, exactly the commands Ferry's cold read ran there, in one plain `virsh -c <uri> 'cmd ; cmd …'`
 * (virsh goes on after a failing command), `concurrency` hosts at once, output discarded. Every argument is a fixed
 * word or a UUID, so joining with spaces is exact.
 */
async function runFloor(perHost: ReadonlyArray<{ uri: string; commands: string[][] }>, concurrency: number) {
  const started = performance.now();
  await mapLimit(
    perHost,
    concurrency,
    ({ uri, commands }) =>
      new Promise<void>((resolve, reject) => {
        const child = spawn('virsh', ['-c', uri, commands.map((args) => args.join(' ')).join(' ; ')], {
          stdio: ['ignore', 'ignore', 'ignore'],
          env: { ...process.env, LC_ALL: 'C.UTF-8' },
        });
        child.on('error', reject);
        child.on('close', () => resolve());
      }),
  );
  return performance.now() - started;
}

export async function benchFleet(options: FleetBenchOptions): Promise<FleetBenchResult> {
  const hosts = options.hosts ?? 200;
  const vmsPerHost = options.vmsPerHost ?? 50;
  const concurrency = options.concurrency ?? 2;
  const repeats = options.repeats ?? 3;
  const log = options.log ?? (() => {});
  const detailMaxAgeMs = options.detailMaxAgeMs ?? Number.POSITIVE_INFINITY;
  const dir =
    options.dir ?? path.join(path.dirname(fileURLToPath(import.meta.url)), 'out', `fleet-${hosts}x${vmsPerHost}`);

  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const uris: string[] = [];
  for (let index = 0; index < hosts; index++) {
    const hostName = `bench-hv${String(index).padStart(3, '0')}`;
    uris.push(testHostUri(await writeTestHost({ dir, hostName, vmCount: vmsPerHost, seed: index + 1 })));
  }
  log(`generated ${hosts} hosts × ${vmsPerHost} VMs in ${dir}`);

  const coldCounter = { count: 0 };
  const coldCommandsByHost = uris.map(() => [] as string[][]);
  const executors = uris.map((uri, index) =>
    counting(options.makeExecutor(uri), coldCounter, coldCommandsByHost[index]),
  );
  const caches: VmDetailCache[] = uris.map(() => createVmDetailCache({ maxAgeMs: detailMaxAgeMs }));
  try {
    let started = performance.now();
    const cold = await mapLimit(uris, concurrency, async (uri) => {
      const index = uris.indexOf(uri);
      return collectHostInventory({ executor: executors[index] as Executor, cache: caches[index] });
    });
    const coldMs = performance.now() - started;
    const coldCommands = coldCounter.count;
    log(`cold: ${coldMs.toFixed(0)} ms, ${coldCommands} commands`);

    const perHost = uris.map((uri, index) => ({ uri, commands: [...(coldCommandsByHost[index] ?? [])] }));
    const floorRunsMs: number[] = [];
    for (let run = 0; run < repeats; run++) floorRunsMs.push(await runFloor(perHost, concurrency));
    const floorMs = median(floorRunsMs);
    log(`floor (the cold read's commands, plain virsh): ${floorRunsMs.map((ms) => ms.toFixed(0)).join(', ')} ms`);
    for (const list of coldCommandsByHost) list.length = 0;

    const warmRunsMs: number[] = [];
    let warmCommands = 0;
    let vmsSeenWarm = 0;
    for (let run = 0; run < repeats; run++) {
      const before = coldCounter.count;
      started = performance.now();
      const warm = await mapLimit(uris, concurrency, async (uri) => {
        const index = uris.indexOf(uri);
        return collectVms({ executor: executors[index] as Executor, cache: caches[index] });
      });
      warmRunsMs.push(performance.now() - started);
      warmCommands = coldCounter.count - before;
      vmsSeenWarm = warm.reduce((sum, vms) => sum + vms.length, 0);
    }
    const warmMs = median(warmRunsMs);
    log(`warm: ${warmRunsMs.map((ms) => ms.toFixed(0)).join(', ')} ms, ${warmCommands} commands each`);

    let uncachedWarmMs: number | null = null;
    if (options.shouldMeasureUncachedWarm === true) {
      started = performance.now();
      await mapLimit(uris, concurrency, async (uri) =>
        collectVms({ executor: executors[uris.indexOf(uri)] as Executor, cache: createVmDetailCache() }),
      );
      uncachedWarmMs = performance.now() - started;
      log(`warm without detail caches: ${uncachedWarmMs.toFixed(0)} ms`);
    }

    const coldToFloor = coldMs / floorMs;
    return {
      hosts,
      vmsPerHost,
      concurrency,
      detailMaxAgeMs,
      executor: executors[0]?.description ?? '',
      floorMs,
      floorRunsMs,
      coldMs,
      warmMs,
      warmRunsMs,
      uncachedWarmMs,
      coldToFloor,
      isColdGoalMet: coldToFloor <= COLD_TO_FLOOR_GOAL,
      isWarmGoalMet: warmMs <= WARM_GOAL_MS,
      coldCommands,
      warmCommands,
      vmsSeenCold: cold.reduce((sum, inventory) => sum + inventory.vms.length, 0),
      vmsSeenWarm,
      incompleteVms: cold.reduce((sum, inventory) => sum + inventory.vms.filter((vm) => vm.problem !== null).length, 0),
    };
  } finally {
    await Promise.all(executors.map((executor) => executor.close()));
  }
}

function readFlag(argv: readonly string[], name: string): number | undefined {
  const index = argv.indexOf(name);
  if (index === -1) return undefined;
  const value = Number(argv[index + 1]);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} needs a positive whole number`);
  return value;
}

/**
 * `npx tsx --conditions=react-server bench/fleet.ts [--hosts 200] [--vms 50] [--concurrency 2] [--repeats 3]
 * [--uncached]`, with one virsh
 * process per command.
 */
async function main(): Promise<void> {
  const { createLocalExecutor } = await import('../server/hypervisor/local-executor');
  const argv = process.argv.slice(2);
  const result = await benchFleet({
    hosts: readFlag(argv, '--hosts'),
    vmsPerHost: readFlag(argv, '--vms'),
    concurrency: readFlag(argv, '--concurrency'),
    repeats: readFlag(argv, '--repeats'),
    shouldMeasureUncachedWarm: argv.includes('--uncached'),
    makeExecutor: (uri) => createLocalExecutor({ uri }),
    log: (line) => console.error(line),
  });
  console.log(JSON.stringify(result, null, 2));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
