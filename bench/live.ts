import { spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import superjson from 'superjson';
import { createInProcessEventBus } from '../server/events/bus';
import { FLEET_CONCURRENCY, forgetHostDetails, mapLimit, refreshFleet } from '../server/fleet/service';
import type { Executor, ExecutorSource } from '../server/hypervisor/executor';
import { createExecutorPool } from '../server/hypervisor/pool';
import { LiveFleet } from '../server/inventory/live/live-fleet';
import { createTestDb } from '../server/testing/test-db';
import { testHostUri, writeTestHost } from '../server/testing/test-host-xml';
import { median } from './fleet';

/**
 * Fleet read on generated test-driver hosts, against a floor that fetches the same data with plain virsh:
 *
 * - Ferry cold: fleet.list's read (refreshFleet) with fresh executors and empty detail caches: per host
 *   `list --all --uuid --name`, `domstats --raw`, host facts on the first read, and, because the test driver's
 *   domstats carries only the state, `dominfo`, `domblklist --details` and `domblkinfo --all` per domain.
 * - floor: exactly the virsh commands Ferry ran in a first, untimed cold read (recorded per host), as a plain
 *   script would run them: per host one `virsh -c <uri> 'cmd ; cmd ; …'` for what needs no domain (host facts, list,
 *   domstats), then, once it has answered, one for the per-domain commands; as many hosts at once as Ferry reads
 *   (FLEET_CONCURRENCY). Also reported: every host's commands in a single virsh, which no script can do without
 *   knowing the domains beforehand (it reuses the UUIDs Ferry's read found).
 * - warm: what the live inventory serves a page from its cache: the snapshot, serialised as it goes on the wire.
 *
 * Cold read and floors are timed `repeats` times each, in rounds whose order rotates; the medians are compared.
 */

export type LiveReadResult = {
  hosts: number;
  vmsPerHost: number;
  commandsPerRead: number;
  floorRunsMs: number[];
  twoStepFloorRunsMs: number[];
  coldRunsMs: number[];
  warmRunsMs: number[];
  floorMs: number;
  twoStepFloorMs: number;
  coldMs: number;
  warmMs: number;
  snapshotBytes: number;
};

/** The pool's executors, each recording the argv of every command it runs, per host. */
function recordingSource(commands: Map<string, string[][]>): { source: ExecutorSource; close: () => Promise<void> } {
  const pool = createExecutorPool({ defaultTimeoutMs: 120_000 });
  const wrapped = new Map<string, Executor>();
  return {
    source: {
      get(host) {
        let executor = wrapped.get(host.id);
        if (executor === undefined) {
          const inner = pool.get({ ...host, executorKind: 'session' });
          executor = {
            description: inner.description,
            run: (args, options) => {
              const list = commands.get(host.uri) ?? [];
              list.push([...args]);
              commands.set(host.uri, list);
              return inner.run(args, options);
            },
            close: () => inner.close(),
          };
          // runBatch (the session's pipelining) must stay visible to collect.ts, and be recorded too.
          const batching = inner as Executor & {
            runBatch?: (c: ReadonlyArray<readonly string[]>, o?: object) => unknown;
          };
          if (typeof batching.runBatch === 'function') {
            const runBatch = batching.runBatch.bind(inner);
            Object.assign(executor, {
              runBatch: (batch: ReadonlyArray<readonly string[]>, options?: object) => {
                const list = commands.get(host.uri) ?? [];
                list.push(...batch.map((args) => [...args]));
                commands.set(host.uri, list);
                return runBatch(batch, options);
              },
            });
          }
          wrapped.set(host.id, executor);
        }
        return executor;
      },
    },
    close: () => pool.closeAll(),
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * What a plain script would do per host: one virsh for everything that needs no domain (host facts, the list,
 * domstats), then, once that has answered, one virsh for the per-domain commands of the listed domains.
 */
async function runTwoStepFloorHost(uri: string, commands: string[][]): Promise<void> {
  const perDomain = (args: string[]) => args.some((arg) => UUID.test(arg));
  await runFloorHost(
    uri,
    commands.filter((args) => !perDomain(args)),
  );
  const second = commands.filter(perDomain);
  if (second.length > 0) await runFloorHost(uri, second);
}

/** One plain virsh per host, given the whole command list as virsh's own `;`-separated batch. */
function runFloorHost(uri: string, commands: string[][]): Promise<void> {
  return new Promise((resolve, reject) => {
    // Every argument is a fixed word or a UUID (collect.ts passes UUIDs), so joining with spaces is exact.
    const child = spawn('virsh', ['-c', uri, commands.map((args) => args.join(' ')).join(' ; ')], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C.UTF-8' },
    });
    // The floor has fetched the data only once it holds it: both streams are read, as Ferry reads them.
    const output: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk));
    child.on('error', reject);
    child.on('close', () => {
      if (output.length === 0) reject(new Error(`virsh -c ${uri} printed nothing`));
      else resolve();
    });
  });
}

export async function benchLiveRead(options: {
  hosts?: number;
  vmsPerHost?: number;
  repeats?: number;
  log?: (line: string) => void;
}): Promise<LiveReadResult> {
  const hosts = options.hosts ?? 40;
  const vmsPerHost = options.vmsPerHost ?? 50;
  const repeats = options.repeats ?? 6;
  const log = options.log ?? (() => {});
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'out', `live-${hosts}x${vmsPerHost}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const testDb = createTestDb();
  try {
    for (let index = 0; index < hosts; index++) {
      const hostName = `live-hv${String(index).padStart(3, '0')}`;
      const uri = testHostUri(await writeTestHost({ dir, hostName, vmCount: vmsPerHost, seed: index + 1 }));
      await testDb.db.host.create({ data: { alias: hostName, uri, displayUri: uri, displayName: hostName } });
    }
    const hostRows = await testDb.db.host.findMany({ select: { id: true } });
    log(`generated ${hosts} hosts × ${vmsPerHost} VMs in ${dir}`);

    /** Fresh executors, no detail caches, no host UUIDs learnt (so host facts are read, as on a first read). */
    const coldRead = async (commands: Map<string, string[][]>): Promise<number> => {
      await testDb.db.host.updateMany({ data: { hostUuid: null } });
      for (const row of hostRows) forgetHostDetails(row.id);
      const { source, close } = recordingSource(commands);
      const started = performance.now();
      const cpuBefore = process.cpuUsage();
      const fleet = await refreshFleet({ db: testDb.db, executors: source, timeoutMs: 120_000 });
      const cpu = process.cpuUsage(cpuBefore);
      const ms = performance.now() - started;
      await close();
      const failed = fleet.filter((snapshot) => snapshot.status !== 'ok').length;
      if (failed > 0) throw new Error(`${failed} hosts failed to read`);
      log(
        `  Ferry cold read ${ms.toFixed(0)} ms, its process's CPU: user ${(cpu.user / 1000).toFixed(0)} ms, system ${(cpu.system / 1000).toFixed(0)} ms`,
      );
      return ms;
    };
    // A first cold read, not timed, records the commands the floors run (the same on every read of these hosts).
    const recorded = new Map<string, string[][]>();
    await coldRead(recorded);

    const coldRunsMs: number[] = [];
    const floorRunsMs: number[] = [];
    const twoStepFloorRunsMs: number[] = [];
    const measures: Array<() => Promise<void>> = [
      async () => {
        coldRunsMs.push(await coldRead(new Map()));
      },
      async () => {
        const started = performance.now();
        await mapLimit([...recorded.entries()], FLEET_CONCURRENCY, ([uri, list]) => runFloorHost(uri, list));
        floorRunsMs.push(performance.now() - started);
      },
      async () => {
        const started = performance.now();
        const cpuBefore = process.cpuUsage();
        await mapLimit([...recorded.entries()], FLEET_CONCURRENCY, ([uri, list]) => runTwoStepFloorHost(uri, list));
        const ms = performance.now() - started;
        twoStepFloorRunsMs.push(ms);
        const cpu = process.cpuUsage(cpuBefore);
        log(
          `  two-step floor ${ms.toFixed(0)} ms, this process's CPU: user ${(cpu.user / 1000).toFixed(0)} ms, system ${(cpu.system / 1000).toFixed(0)} ms`,
        );
      },
    ];
    // Each round starts with a different one of the three. On a 2-core machine the place in a fixed order moves a
    // figure by several percent (the two-step floor timed twice per round, always in the same two places: 0.92 of
    // itself over 9 rounds; rotated, 1.01 over 12), as much as the gap this ratio is about. Rotated, every measure
    // follows each of the others equally often.
    for (let round = 0; round < repeats; round++) {
      for (let step = 0; step < measures.length; step++) await measures[(round + step) % measures.length]!();
    }
    const commandsPerRead = [...recorded.values()].reduce((sum, list) => sum + list.length, 0);
    log(`cold (refreshFleet): ${coldRunsMs.map((ms) => ms.toFixed(0)).join(', ')} ms, ${commandsPerRead} commands`);
    log(`floor (same commands, one plain virsh per host): ${floorRunsMs.map((ms) => ms.toFixed(0)).join(', ')} ms`);
    log(
      `two-step floor (host facts, list and domstats, then the per-domain commands): ${twoStepFloorRunsMs.map((ms) => ms.toFixed(0)).join(', ')} ms`,
    );

    // Warm: the live inventory, started (its first read fills the cache), then served from memory.
    const { source, close } = recordingSource(new Map());
    const live = new LiveFleet({
      db: testDb.db,
      bus: createInProcessEventBus(),
      executors: source,
      timeoutMs: 120_000,
      pollMs: 3_600_000,
      unavailablePollMs: 3_600_000,
      hostSyncMs: 3_600_000,
    });
    const warmRunsMs: number[] = [];
    let snapshotBytes = 0;
    try {
      await live.start();
      for (let run = 0; run < Math.max(repeats, 5); run++) {
        const started = performance.now();
        snapshotBytes = superjson.stringify({ kind: 'snapshot', hosts: live.snapshot().hosts }).length;
        warmRunsMs.push(performance.now() - started);
      }
    } finally {
      await live.stop();
      await close();
    }
    log(`warm (live cache snapshot, serialised): ${warmRunsMs.map((ms) => ms.toFixed(1)).join(', ')} ms`);
    return {
      hosts,
      vmsPerHost,
      commandsPerRead,
      floorRunsMs,
      twoStepFloorRunsMs,
      coldRunsMs,
      warmRunsMs,
      floorMs: median(floorRunsMs),
      twoStepFloorMs: median(twoStepFloorRunsMs),
      coldMs: median(coldRunsMs),
      warmMs: median(warmRunsMs),
      snapshotBytes,
    };
  } finally {
    await testDb.cleanup();
  }
}
