import os from 'node:os';
import { benchAccess } from './access';
import { benchAudit } from './audit';
import { benchCards, KEYSTROKE_P95_GOAL_MS } from './cards';
import { benchCli, median } from './cli';
import { benchDbWrites } from './db-writes';
import { benchEvacuation } from './evacuation';
import { benchSessionVsOneShot, benchSshPool } from './executors';
import { benchFleet } from './fleet';
import { benchLiveRead } from './live';
import { benchLivePixel } from './live-pixel';
import { benchMigration } from './migration';
import { benchSigned } from './signed';
import { createSessionExecutor } from '../server/hypervisor/session-executor';
import { FLEET_CONCURRENCY } from '../server/fleet/service';

/**
 * `npm run bench [-- fleet live live-pixel ssh audit migration evacuation access signed cli cards db]`: every figure
 * Ferry claims, printed
 * (never asserted). Ratios compare runs made in this same invocation on this same machine.
 */
const ALL = [
  'fleet',
  'live',
  'live-pixel',
  'ssh',
  'audit',
  'migration',
  'evacuation',
  'access',
  'signed',
  'cli',
  'cards',
  'db',
] as const;
const wanted = process.argv.slice(2).filter((arg) => (ALL as readonly string[]).includes(arg));
const sections = wanted.length > 0 ? wanted : [...ALL];
const log = (line: string) => console.log(`  ${line}`);
const ms = (value: number) => `${value.toFixed(value < 10 ? 2 : 0)} ms`;

for (const section of sections) {
  console.log(`\n## ${section}`);
  switch (section) {
    case 'fleet': {
      const result = await benchFleet({
        hosts: 200,
        vmsPerHost: 50,
        concurrency: FLEET_CONCURRENCY,
        makeExecutor: (uri) => createSessionExecutor({ uri }),
        log,
      });
      console.log(
        `fleet refresh, ${result.hosts} test-driver hosts × ${result.vmsPerHost} VMs, executor: ${result.executor}`,
      );
      console.log(`  floor (the same commands as Ferry's cold read, one plain virsh per host): ${ms(result.floorMs)}`);
      console.log(`  Ferry cold: ${ms(result.coldMs)}  → cold/floor = ${result.coldToFloor.toFixed(2)} (goal ≤ 1.2)`);
      console.log(`  Ferry warm: ${ms(result.warmMs)} (goal ≤ 300 ms)`);
      break;
    }
    case 'live': {
      const hosts = Number(process.env.FERRY_BENCH_LIVE_HOSTS ?? 40);
      const result = await benchLiveRead({ hosts, vmsPerHost: 50, log });
      console.log(
        `fleet read, ${result.hosts} test-driver hosts × ${result.vmsPerHost} VMs, ${result.commandsPerRead} virsh commands per cold read:`,
      );
      console.log(
        `  floor (per host, ${FLEET_CONCURRENCY} hosts at once: one plain virsh for host facts, list and domstats, then one for the listed domains' commands): ${ms(result.twoStepFloorMs)}`,
      );
      console.log(
        `  Ferry cold (fleet.list): ${ms(result.coldMs)} → cold/floor = ${(result.coldMs / result.twoStepFloorMs).toFixed(2)} (goal ≤ 1.2)`,
      );
      console.log(
        `  Ferry warm (live cache, ${(result.snapshotBytes / 1024).toFixed(0)} KiB on the wire): ${ms(result.warmMs)} → warm/floor = ${(result.warmMs / result.twoStepFloorMs).toFixed(4)} (goal ≤ 0.1)`,
      );
      console.log(
        `  for reference, all ${result.commandsPerRead} commands known in advance, one virsh per host (no script can do this without a first read): ${ms(result.floorMs)} → cold/that = ${(result.coldMs / result.floorMs).toFixed(2)}`,
      );
      break;
    }
    case 'live-pixel': {
      const result = await benchLivePixel({ log });
      console.log(
        `event → pixel on the lab, ${result.samples} virsh start/destroy of a guest on hv1, fleet page open with auto-refresh off:`,
      );
      console.log(
        `  virsh issued → card repainted: p50 ${ms(result.toPixel.p50Ms)}, p95 ${ms(result.toPixel.p95Ms)}, max ${ms(result.toPixel.maxMs)}; virsh itself returned after p50 ${ms(result.virshReturn.p50Ms)}, p95 ${ms(result.virshReturn.p95Ms)}`,
      );
      console.log(
        `  virsh returned (the change is made) → card repainted: p50 ${ms(result.afterReturn.p50Ms)}, p95 ${ms(result.afterReturn.p95Ms)}, max ${ms(result.afterReturn.maxMs)} (goal p95 ≤ 1000 ms; the change happens between issue and return)`,
      );
      break;
    }
    case 'evacuation': {
      const watchers = Number(process.env.FERRY_BENCH_EVACUATION_WATCHERS ?? 50);
      const rounds = Number(process.env.FERRY_BENCH_EVACUATION_ROUNDS ?? 5);
      const executorKind = process.env.FERRY_BENCH_EVACUATION_EXECUTOR === 'ssh' ? 'ssh' : 'local';
      const throttleMiBps = Number(process.env.FERRY_BENCH_EVACUATION_THROTTLE_MIBPS ?? 24);
      const throttledRuns = Number(process.env.FERRY_BENCH_EVACUATION_THROTTLED_RUNS ?? 3);
      const { scriptMs, ferryMs, scriptRuns, quietRuns, first, quiet, loaded, throttled, ratio } =
        await benchEvacuation({
          throttleMiBps,
          throttledRuns,
          watchers,
          rounds,
          executorKind,
          log,
        });
      const list = (values: number[]) => values.map((value) => ms(value)).join(', ');
      console.log(
        `evacuating hv1 on the lab, ${quiet.moving.length} guests (${quiet.moving.join(', ')}), hosts registered with the ${executorKind} executor:`,
      );
      console.log(
        `  nobody watching, ${rounds} rounds alternating: Ferry start → finished median ${ms(ferryMs)} (${list(quietRuns.map((run) => run.ms))}; plan before it ${ms(quiet.planMs)}); shell script, virsh migrate --p2p two at a time, median ${ms(scriptMs)} (${list(scriptRuns)}) → ratio ${ratio.toFixed(2)} (goal ≤ 1.10); ${JSON.stringify(quiet.outcome)}`,
        `  the same Ferry's first evacuation after it started (before those rounds, not in the ratio): ${ms(first.ms)} = ${(first.ms / scriptMs).toFixed(2)} × the script's median; ${JSON.stringify(first.outcome)}`,
      );
      console.log(
        `  again under load, ${ms(loaded.ms)}: ${loaded.streams.clients} clients on the evacuation page = ${loaded.streams.streams} event streams, ${loaded.streams.events} events delivered, ${loaded.streams.lost} lost (goal 0); ${JSON.stringify(loaded.outcome)}`,
      );
      console.log(
        `  server RSS under load: ${loaded.memory.beforeMiB.toFixed(0)} MiB before, peak ${loaded.memory.peakMiB.toFixed(0)} MiB = ${((loaded.memory.peakMiB * 2 ** 20) / 1e6).toFixed(0)} MB (goal ≤ 300 MB); with nobody watching: peak ${Math.max(...quietRuns.map((run) => run.memory.peakMiB)).toFixed(0)} MiB`,
      );
      console.log(
        `  progress → pixel in Chromium on the evacuation page under that load, ${loaded.pixel.samples} bar changes: p50 ${ms(loaded.pixel.p50Ms)}, p95 ${ms(loaded.pixel.p95Ms)}, max ${ms(loaded.pixel.maxMs)} (goal p95 ≤ 20 ms); of it, read → event in the page p50 ${ms(loaded.pixel.arrivalP50Ms)}, p95 ${ms(loaded.pixel.arrivalP95Ms)}`,
      );
      const { pixel } = throttled;
      const events = throttled.runs.reduce((sum, run) => sum + run.streams.events, 0);
      const lost = throttled.runs.reduce((sum, run) => sum + run.streams.lost, 0);
      console.log(
        `  the same load ${throttled.runs.length} times more with each guest's migration capped at ${throttled.throttleMiBps} MiB/s (so the bars move often), ${list(throttled.runs.map((run) => run.ms))}, ${events} events delivered, ${lost} lost, peak RSS ${Math.max(...throttled.runs.map((run) => run.memory.peakMiB)).toFixed(0)} MiB: progress → pixel over their ${pixel.samples} bar changes p50 ${ms(pixel.p50Ms)}, p95 ${ms(pixel.p95Ms)}, max ${ms(pixel.maxMs)} (goal p95 ≤ 20 ms); of it, read → event in the page p50 ${ms(pixel.arrivalP50Ms)}, p95 ${ms(pixel.arrivalP95Ms)}`,
      );
      console.log(
        `  each run's own p95 (its ~60 changes): ${throttled.runs.map((run) => `${ms(run.pixel.p95Ms)} over ${run.pixel.samples}`).join(', ')}; ${throttled.runs.map((run) => JSON.stringify(run.outcome)).join(' ')}`,
      );
      break;
    }
    case 'ssh': {
      const pool = await benchSshPool();
      console.log(
        `100 sequential virsh calls over ssh to a local sshd: pooled ${ms(pool.pooledMs)}, new connection each ${ms(pool.perCommandMs)} → ratio ${pool.ratio.toFixed(2)}; the same 100 as one batch on the pooled connection (one remote virsh) ${ms(pool.batchMs)} → pooled ÷ batch ${pool.batchRatio.toFixed(1)}`,
      );
      const session = await benchSessionVsOneShot();
      console.log(
        `per call: one virsh process ${ms(session.oneShotMsPerCall)}, long-lived session ${ms(session.sessionMsPerCall)}, session batch ${ms(session.sessionBatchMsPerCall)} → ratio ${session.ratio.toFixed(1)}`,
      );
      break;
    }
    case 'audit': {
      await benchAudit({ log });
      break;
    }
    case 'migration': {
      const result = await benchMigration({ log });
      console.log(
        `progress → browser latency over ${result.latency.samples} events: p50 ${ms(result.latency.p50Ms)}, p95 ${ms(result.latency.p95Ms)}, max ${ms(result.latency.maxMs)} (goal p95 ≤ 50 ms)`,
      );
      console.log(
        `Ferry vs bare virsh migrate, ${result.walltime.runs} alternating runs: Ferry ${result.walltime.ferryMs.map(ms).join(', ')}; bare ${result.walltime.bareMs.map(ms).join(', ')} → ratio ${result.walltime.ratio.toFixed(3)} (goal ≤ 1.05)`,
      );
      console.log(
        `  fixed overhead of Ferry around the same virsh migrate --p2p: ${ms(result.walltime.overheadMs)} per migration (mean); Ferry's phases: request → running ${ms(result.walltime.phases.beforeRunningMs)}, running → verified final ${ms(result.walltime.phases.runningToFinalMs)}`,
      );
      break;
    }
    case 'access': {
      const result = await benchAccess();
      console.log(
        `tRPC host.list, ${result.calls} interleaved calls: with the access layer p50 ${ms(result.checked.p50Ms)}, p95 ${ms(result.checked.p95Ms)}; checks bypassed p50 ${ms(result.bypassed.p50Ms)}, p95 ${ms(result.bypassed.p95Ms)}`,
      );
      console.log(
        `  added by Host/Origin/header checks, session lookup and role check: p50 ${ms(result.addedP50Ms)}, p95 ${ms(result.addedP95Ms)} (goal p95 ≤ 2 ms)`,
      );
      break;
    }
    case 'signed': {
      const { rows, auditCommit } = await benchSigned();
      console.log('signed API request check per key type, in-process (1000 signatures; 100 whole requests):');
      for (const row of rows) {
        console.log(
          `  ${row.keyType.padEnd(24)} SSHSIG verify p50 ${ms(row.verify.p50Ms)}, p95 ${ms(row.verify.p95Ms)} (goal p95 ≤ 1 ms); bare node:crypto verify p50 ${ms(row.bare.p50Ms)}, p95 ${ms(row.bare.p95Ms)}; whole authentication (key lookup, verify, nonce + audit row committed to SQLite) p50 ${ms(row.full.p50Ms)}, p95 ${ms(row.full.p95Ms)}`,
        );
      }
      console.log(
        `  for comparison, one audit row committed alone on the same SQLite file: p50 ${ms(auditCommit.p50Ms)}, p95 ${ms(auditCommit.p95Ms)}`,
      );
      break;
    }
    case 'cli': {
      const result = await benchCli({ log });
      console.log(
        `ferry vms (signed via ssh-agent, both lab hosts) vs virsh list --all over ssh to both, ${result.runs} alternating runs:`,
      );
      console.log(`  ferry vms: median ${ms(median(result.ferryMs))} (${result.ferryMs.map(ms).join(', ')})`);
      console.log(`  virsh list ×2: median ${ms(median(result.virshMs))} (${result.virshMs.map(ms).join(', ')})`);
      console.log(
        `  → ratio ${result.ratio.toFixed(2)}; of ferry's time, process start alone (ferry --help): median ${ms(median(result.helpMs))}`,
      );
      break;
    }
    case 'db': {
      const result = await benchDbWrites();
      const pair = (a: { p50Ms: number; p95Ms: number }) => `p50 ${ms(a.p50Ms)}, p95 ${ms(a.p95Ms)}`;
      console.log(`a running job's writes to SQLite, ${result.writes} of each, interleaved:`);
      console.log(
        `  event row: migrationEvent.create ${pair(result.create)}; one INSERT … RETURNING (what jobs use) ${pair(result.insert)} → ratio ${(result.insert.p50Ms / result.create.p50Ms).toFixed(2)}`,
      );
      console.log(
        `  the row's percent: migration.updateMany ${pair(result.updateMany)}; one UPDATE (what jobs use) ${pair(result.update)} → ratio ${(result.update.p50Ms / result.updateMany.p50Ms).toFixed(2)}`,
      );
      break;
    }
    case 'cards': {
      const result = await benchCards({ hosts: 200, vmsPerHost: 50, log });
      const { read, firstRender: first, scroll, keystroke } = result;
      console.log(
        `${result.hosts * result.vmsPerHost} VM cards (${result.hosts} test-driver hosts × ${result.vmsPerHost}) in Chromium, production build:`,
      );
      console.log(
        `  fleet.list through the API: cold ${ms(read.coldMs)}, warm ${ms(read.warmMs)}, ${(read.bytes / 1024 / 1024).toFixed(1)} MiB`,
      );
      console.log(
        `  first render (navigation → "10 000 VMs" and cards painted): ${ms(first.totalMs)}, of which fleet.list answered at ${ms(first.responseEndMs)} and rendering after it took ${ms(first.afterResponseMs)}; ${first.longTasks} long tasks (${ms(first.longTaskMs)}); ${first.cardsInDom} cards in the DOM`,
      );
      console.log(
        `  scroll top → bottom (${scroll.heightPx} px, ${scroll.stepPx} px per frame, ${ms(scroll.wallMs)}): frame interval p50 ${ms(scroll.frames.p50Ms)}, p95 ${ms(scroll.frames.p95Ms)}, max ${ms(scroll.frames.maxMs)}; ${scroll.slowFrames} of ${scroll.frames.samples} frames > 50 ms; ${scroll.longTasks} long tasks (${ms(scroll.longTaskMs)}); at most ${scroll.maxCardsInDom} cards in the DOM; last VM shown: ${scroll.isLastCardShown}`,
      );
      console.log(
        `  filter keystroke → updated list, ${keystroke.samples} keys: p50 ${ms(keystroke.p50Ms)}, p95 ${ms(keystroke.p95Ms)}, max ${ms(keystroke.maxMs)} (goal p95 ≤ ${KEYSTROKE_P95_GOAL_MS} ms)`,
      );
      console.log(
        `  machine load (1-min average, ${os.cpus().length} CPUs) before/after the browser part: ${result.load.before.toFixed(1)} / ${result.load.after.toFixed(1)}`,
      );
      break;
    }
  }
}
