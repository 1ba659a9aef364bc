import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { openSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from '@playwright/test';
import { labHosts, lab } from '../e2e/lab-hosts';
import { REQUEST_HEADER, REQUEST_HEADER_VALUE } from '../server/auth/request-header';

/**
 * Migration benches against the two-host lab (needs `npm run lab:up` and `npx next build`):
 *
 * - progress-to-browser latency: Chromium subscribes to a migration's SSE stream exactly as the page does;
 *   each progress event carries `readAt`, the server's clock when it read the chunk from virsh, and the page
 *   stamps its arrival with Date.now() (same machine, same clock). p50/p95 over a whole `--bandwidth 8` run.
 * - Ferry vs bare `virsh migrate` on the same guest and options, alternating runs, wall time from "start"
 *   to a verified final state (Ferry) or to virsh's exit (bare).
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PORT = 3200;
const BASE = `http://127.0.0.1:${PORT}`;
const DB_FILE = path.join(ROOT, 'bench', 'out', 'migration-bench.db');

type Trpc = { json: unknown };

const BENCH_ADMIN = { name: 'bench-admin', password: 'bench admin password' };
/** The session cookie (`ferry-session=…`) and Ferry's custom header, sent with every API call. */
let apiHeaders: Record<string, string> = { [REQUEST_HEADER]: REQUEST_HEADER_VALUE };

/** The first admin, made the documented way (`npm run user -- add`), then signed in over HTTP. */
async function signIn(env: NodeJS.ProcessEnv): Promise<string> {
  execFileSync(
    'npx',
    ['tsx', '--conditions=react-server', 'scripts/user.ts', 'add', BENCH_ADMIN.name, '--role', 'admin'],
    {
      cwd: ROOT,
      env,
      input: `${BENCH_ADMIN.password}\n`,
      stdio: ['pipe', 'ignore', 'inherit'],
    },
  );
  const response = await fetchRetry(`${BASE}/api/auth/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...apiHeaders },
    body: JSON.stringify(BENCH_ADMIN),
  });
  const cookie = response.headers.get('set-cookie')?.split(';')[0];
  if (!response.ok || !cookie) throw new Error(`bench sign-in failed: ${response.status} ${await response.text()}`);
  apiHeaders = { ...apiHeaders, cookie };
  return cookie.slice(cookie.indexOf('=') + 1);
}

/** execFileSync blocks this process past the server's keep-alive timeout; a reused socket may be closed: retry once. */
async function fetchRetry(url: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch {
    return fetch(url, init);
  }
}

async function call(pathName: string, input: unknown): Promise<unknown> {
  const response = await fetchRetry(`${BASE}/api/trpc/${pathName}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...apiHeaders },
    body: JSON.stringify({ json: input }),
  });
  const body = (await response.json()) as { result?: { data: Trpc }; error?: Trpc };
  if (!body.result) throw new Error(`${pathName}: ${JSON.stringify(body.error)}`);
  return body.result.data.json;
}

/** A tRPC query: GET with the input in the URL (a POST reaches mutations only). */
async function query(pathName: string, input: unknown): Promise<unknown> {
  const url = `${BASE}/api/trpc/${pathName}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`;
  const response = await fetchRetry(url, { headers: apiHeaders });
  const body = (await response.json()) as { result?: { data: Trpc }; error?: Trpc };
  if (!body.result) throw new Error(`${pathName}: ${JSON.stringify(body.error)}`);
  return body.result.data.json;
}

async function startServer(): Promise<{ server: ChildProcess; sessionToken: string }> {
  for (const suffix of ['', '-journal', '-wal', '-shm']) rmSync(`${DB_FILE}${suffix}`, { force: true });
  const env = {
    ...process.env,
    DATABASE_URL: `file:${DB_FILE}`,
    FERRY_DEMO_URI: '',
    NEXT_TELEMETRY_DISABLED: '1',
    PORT: String(PORT),
    FERRY_LISTEN: '127.0.0.1',
    // The lab's URIs name its key file, which the URI policy accepts only under FERRY_KEY_DIR.
    FERRY_KEY_DIR: process.env.FERRY_KEY_DIR ?? path.join(process.env.FERRY_LAB_DIR ?? path.join(ROOT, '.lab'), 'keys'),
  };
  execFileSync('npx', ['prisma', 'migrate', 'deploy'], { cwd: ROOT, env, stdio: 'ignore' });
  const logFile = openSync(path.join(ROOT, 'bench', 'out', 'migration-bench-server.log'), 'w');
  // Ferry's own server (server/net/serve.ts), as `npm start` runs it: Next alone refuses requests that did not
  // pass its allow-list edge.
  const server = spawn(process.execPath, ['--import', 'tsx', '--conditions=react-server', 'server/net/serve.ts'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', logFile, logFile],
    detached: true,
  });
  for (let i = 0; i < 120; i++) {
    try {
      if ((await fetch(`${BASE}/api/health`)).ok) return { server, sessionToken: await signIn(env) };
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  // Not left behind holding the port (and the next run's start) when it never answered.
  if (server.pid) process.kill(-server.pid, 'SIGKILL');
  throw new Error('Ferry did not start for the bench');
}

/**
 * Waits for the final state the way the page does, on the migration's SSE stream, so the end is seen the
 * moment Ferry publishes it and watching costs the server nothing extra (polling `migration.get` would).
 */
async function waitFinal(id: string): Promise<{ state: string }> {
  const url = `${BASE}/api/trpc/migration.events?input=${encodeURIComponent(JSON.stringify({ json: { id, lastEventId: null } }))}`;
  const response = await fetchRetry(url, { headers: { accept: 'text/event-stream', ...apiHeaders } });
  if (!response.body) throw new Error('no event stream');
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`event stream of ${id} ended without a final state`);
    buffer += decoder.decode(value, { stream: true });
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (!line.startsWith('data: ')) continue;
      const event = (JSON.parse(line.slice(6)) as { json?: { type?: string; state?: string } }).json;
      if (event?.type === 'state' && ['succeeded', 'failed', 'cancelled'].includes(event.state ?? '')) {
        await reader.cancel();
        return { state: event.state as string };
      }
    }
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

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
  const { server, sessionToken } = await startServer();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      '--disable-quic',
    ],
  });
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
    if (server.pid) process.kill(-server.pid, 'SIGTERM');
  }
}
