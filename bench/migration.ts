import { execFileSync } from 'node:child_process';
import { labHosts, lab } from '../e2e/lab-hosts';
import { REQUEST_HEADER, REQUEST_HEADER_VALUE } from '../server/auth/request-header';
import { launchBenchChromium, percentile, startBenchFerry } from './ferry-server';

/**
 * Migration benches against the two-host lab (needs `npm run lab:up` and `npx next build`):
 *
 * - progress-to-browser latency: Chromium subscribes to a migration's SSE stream exactly as the page does;
 *   each progress event carries `readAt`, the server's clock when it read the chunk from virsh, and the page
 *   stamps its arrival with Date.now() (same machine, same clock). p50/p95 over a whole `--bandwidth 8` run.
 * - Ferry vs bare `virsh migrate` on the same guest and options, alternating runs, wall time from "start"
 *   to a verified final state (Ferry) or to virsh's exit (bare).
 */

export type MigrationBenchResult = {
  latency: { samples: number; p50Ms: number; p95Ms: number; maxMs: number };
  walltime: {
    runs: number;
    ferryMs: number[];
    bareMs: number[];
    ratio: number;
    /** Mean of Ferry − bare per run pair: Ferry's fixed cost around the same `virsh migrate --p2p`. */
    overheadMs: number;
    /** Mean over Ferry's runs, from its own events: request → `running` (preflight), `running` → final. */
    phases: { beforeRunningMs: number; runningToFinalMs: number };
  };
};

type MigrationRow = { createdAt: string; events: { type: string; state?: string; at: string }[] };

/** Ferry's phases of one run, from the timestamps of its persisted events. */
function phasesOf(row: MigrationRow, startedAt: number): { beforeRunningMs: number; runningToFinalMs: number } {
  const at = (state: string) => Date.parse(row.events.find((e) => e.type === 'state' && e.state === state)?.at ?? '');
  const running = at('running');
  const final = Date.parse(row.events.findLast((e) => e.type === 'state')?.at ?? '');
  return { beforeRunningMs: running - startedAt, runningToFinalMs: final - running };
}

export async function benchMigration(
  options: { runs?: number; log?: (line: string) => void } = {},
): Promise<MigrationBenchResult> {
  const log = options.log ?? (() => {});
  const runs = options.runs ?? 5;
  const { hv1, hv2 } = labHosts();
  lab('reset');
  const ferry = await startBenchFerry({ port: 3200, name: 'migration' });
  const { call, query, waitFinal, sessionToken } = ferry;
  const BASE = ferry.base;
  const browser = await launchBenchChromium();
  try {
    const source = (await call('host.add', { alias: 'hv1', reference: hv1.uri })) as { id: string };
    const destination = (await call('host.add', { alias: 'hv2', reference: hv2.uri })) as { id: string };
    const request = (options: Record<string, unknown>) => ({
      vmName: 'vm1',
      sourceHostId: source.id,
      destinationHostId: destination.id,
      options,
    });

    // Latency: a --bandwidth 8 migration (~35 s) watched by a real browser through the SSE subscription.
    const context = await browser.newContext();
    await context.addCookies([{ name: 'ferry-session', value: sessionToken, url: BASE }]);
    const page = await context.newPage();
    await page.goto(`${BASE}/api/health`);
    const { id } = (await call('migration.start', request({ bandwidthMiBps: 8 }))) as { id: string };
    const url = `/api/trpc/migration.events?input=${encodeURIComponent(JSON.stringify({ json: { id, lastEventId: null } }))}`;
    // The page's own transport: SSE read through fetch, so it can carry Ferry's header (as trpc/client.tsx does).
    const latencies = (await page.evaluate(
      async ({ subscribeUrl, headers }) => {
        const seen: number[] = [];
        const response = await fetch(subscribeUrl, { headers: { ...headers, accept: 'text/event-stream' } });
        const reader = (response.body as ReadableStream<Uint8Array>).getReader();
        const decoder = new TextDecoder();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return seen;
          const receivedAt = Date.now();
          buffer += decoder.decode(value, { stream: true });
          let newline: number;
          while ((newline = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, newline);
            buffer = buffer.slice(newline + 1);
            if (!line.startsWith('data: ')) continue;
            const event = (JSON.parse(line.slice(6)) as { json?: { type: string; readAt?: number; state?: string } })
              .json;
            if (event?.type === 'progress' && event.readAt) seen.push(receivedAt - event.readAt);
            if (event?.type === 'state' && ['succeeded', 'failed', 'cancelled'].includes(event.state ?? '')) {
              await reader.cancel();
              return seen;
            }
          }
        }
      },
      { subscribeUrl: url, headers: { [REQUEST_HEADER]: REQUEST_HEADER_VALUE } },
    )) as number[];
    const final = await waitFinal(id);
    log(`latency run: ${final.state}, ${latencies.length} progress events`);
    // Only events that were live count: the replay at subscribe time was read before the browser asked.
    const live = latencies.filter((ms) => ms < 5_000);

    // Wall time, alternating bare virsh and Ferry on the same guest and options, guest reset between runs.
    const ferryMs: number[] = [];
    const bareMs: number[] = [];
    const phases: { beforeRunningMs: number; runningToFinalMs: number }[] = [];
    for (let run = 0; run < runs; run++) {
      lab('reset');
      let started = performance.now();
      execFileSync(
        'virsh',
        [
          '-c',
          hv1.uri,
          'migrate',
          // Ferry runs peer-to-peer wherever the transport allows (the lab's does): the same for the baseline.
          '--p2p',
          '--live',
          '--persistent',
          '--undefinesource',
          '--copy-storage-all',
          '--verbose',
          '--domain',
          'vm1',
          '--desturi',
          hv2.uri,
        ],
        { stdio: 'ignore' },
      );
      bareMs.push(performance.now() - started);
      lab('reset');
      started = performance.now();
      const startedAtEpoch = Date.now();
      const started2 = (await call('migration.start', request({}))) as { id: string };
      const result = await waitFinal(started2.id);
      if (result.state !== 'succeeded') throw new Error(`Ferry migration ${started2.id} ended ${result.state}`);
      ferryMs.push(performance.now() - started);
      phases.push(phasesOf((await query('migration.get', { id: started2.id })) as MigrationRow, startedAtEpoch));
      log(`run ${run + 1}: bare ${bareMs[run]?.toFixed(0)} ms, Ferry ${ferryMs[run]?.toFixed(0)} ms`);
    }
    lab('reset');
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    return {
      latency: {
        samples: live.length,
        p50Ms: percentile(live, 50),
        p95Ms: percentile(live, 95),
        maxMs: Math.max(...live),
      },
      walltime: {
        runs,
        ferryMs,
        bareMs,
        ratio: sum(ferryMs) / sum(bareMs),
        overheadMs: (sum(ferryMs) - sum(bareMs)) / runs,
        phases: {
          beforeRunningMs: sum(phases.map((p) => p.beforeRunningMs)) / runs,
          runningToFinalMs: sum(phases.map((p) => p.runningToFinalMs)) / runs,
        },
      },
    };
  } finally {
    await browser.close();
    ferry.stop();
  }
}
