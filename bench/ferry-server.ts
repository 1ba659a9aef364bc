import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../e2e/chromium-args';
import { REQUEST_HEADER, REQUEST_HEADER_VALUE } from '../server/auth/request-header';

/**
 * A Ferry of a bench's own against the two-host lab (needs `npm run lab:up` and `npx next build`): its own SQLite
 * file under bench/out, Ferry's own server (server/net/serve.ts) as `npm start` runs it, the first admin made the
 * documented way and signed in, and the tRPC calls a bench makes over HTTP with that session.
 */

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

type Trpc = { json: unknown };

const BENCH_ADMIN = { name: 'bench-admin', password: 'bench admin password' };

/** execFileSync blocks this process past the server's keep-alive timeout; a reused socket may be closed: retry once. */
async function fetchRetry(url: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch {
    return fetch(url, init);
  }
}

const FINAL_STATES = ['succeeded', 'failed', 'cancelled', 'unknown'];

export type MigrationStreamEvent = { id?: number; migrationId?: string; type?: string; state?: string };

/**
 * Reads a migration's `migration.events` SSE stream from its start (the replay, then live), handing each event to
 * `onEvent` until it returns true, the job's final state arrives, or the stream ends.
 */
export async function followMigrationEvents(
  ferry: { base: string; headers: Record<string, string> },
  id: string,
  onEvent: (event: MigrationStreamEvent) => boolean | void,
): Promise<void> {
  return followEvents(ferry, 'migration.events', id, onEvent);
}

/**
 * A tRPC SSE subscription (`migration.events`) read as a browser reads it, until `onEvent` returns true, a
 * migration's final state comes, or the server ends the stream.
 */
export async function followEvents(
  ferry: { base: string; headers: Record<string, string> },
  procedure: string,
  id: string,
  onEvent: (event: MigrationStreamEvent) => boolean | void,
  signal?: AbortSignal,
): Promise<void> {
  const input = encodeURIComponent(JSON.stringify({ json: { id, lastEventId: null } }));
  const response = await fetchRetry(`${ferry.base}/api/trpc/${procedure}?input=${input}`, {
    headers: { accept: 'text/event-stream', ...ferry.headers },
    signal,
  });
  await readEventStream(
    response,
    (data) => {
      const event = (data as { json?: MigrationStreamEvent }).json ?? {};
      const isFinal =
        procedure === 'migration.events' && event.type === 'state' && FINAL_STATES.includes(event.state ?? '');
      return onEvent(event) === true || isFinal;
    },
    signal,
  );
}

/** The evacuation page's stream (`/api/evacuations/<id>/events`, plain JSON messages), as the page reads it. */
export async function followEvacuationEvents(
  ferry: { base: string; headers: Record<string, string> },
  id: string,
  onEvent: (event: MigrationStreamEvent) => boolean | void,
  signal?: AbortSignal,
): Promise<void> {
  const response = await fetchRetry(`${ferry.base}/api/evacuations/${encodeURIComponent(id)}/events`, {
    headers: { accept: 'text/event-stream', ...ferry.headers },
    signal,
  });
  if (!response.ok) throw new Error(`evacuation stream: ${response.status} ${await response.text()}`);
  await readEventStream(response, (data) => onEvent(data as MigrationStreamEvent) === true, signal);
}

/** Each `data:` line's JSON to `onData` until it returns true, the stream ends, or `signal` aborts. */
async function readEventStream(
  response: Response,
  onData: (data: unknown) => boolean,
  signal?: AbortSignal,
): Promise<void> {
  if (!response.body) throw new Error('no event stream');
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch (error) {
      if (signal?.aborted) return;
      throw error;
    }
    const { value, done } = chunk;
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (!line.startsWith('data: ')) continue;
      if (onData(JSON.parse(line.slice(6)))) {
        await reader.cancel();
        return;
      }
    }
  }
}

export type BenchFerry = {
  base: string;
  /** The server's process id (its resident memory is read from /proc). */
  pid: number;
  /** The admin's session token (the `ferry-session` cookie), for a browser context. */
  sessionToken: string;
  /** Ferry's custom header and the session cookie, as every API call sends them. */
  headers: Record<string, string>;
  /** A tRPC mutation (POST). */
  call(pathName: string, input: unknown): Promise<unknown>;
  /** A tRPC query: GET with the input in the URL (a POST reaches mutations only). */
  query(pathName: string, input: unknown): Promise<unknown>;
  /** Waits on the migration's SSE stream, as the page does, for its final state. */
  waitFinal(id: string): Promise<{ state: string }>;
  stop(): void;
};

export async function startBenchFerry(options: { port: number; name: string }): Promise<BenchFerry> {
  const base = `http://127.0.0.1:${options.port}`;
  const dbFile = path.join(ROOT, 'bench', 'out', `${options.name}-bench.db`);
  for (const suffix of ['', '-journal', '-wal', '-shm']) rmSync(`${dbFile}${suffix}`, { force: true });
  const env = {
    ...process.env,
    DATABASE_URL: `file:${dbFile}`,
    FERRY_DEMO_URI: '',
    NEXT_TELEMETRY_DISABLED: '1',
    PORT: String(options.port),
    FERRY_LISTEN: '127.0.0.1',
    // The lab's URIs name its key file, which the URI policy accepts only under FERRY_KEY_DIR.
    FERRY_KEY_DIR: process.env.FERRY_KEY_DIR ?? path.join(process.env.FERRY_LAB_DIR ?? path.join(ROOT, '.lab'), 'keys'),
  };
  execFileSync('npx', ['prisma', 'migrate', 'deploy'], { cwd: ROOT, env, stdio: 'ignore' });
  const logFile = openSync(path.join(ROOT, 'bench', 'out', `${options.name}-bench-server.log`), 'w');
  // Ferry's own server, as `npm start` runs it: Next alone refuses requests that did not pass its allow-list edge.
  // FERRY_BENCH_CPU_PROF=<dir>: the server writes a V8 CPU profile there when it stops (open it in Chrome DevTools).
  const profile = process.env.FERRY_BENCH_CPU_PROF
    ? ['--cpu-prof', '--cpu-prof-dir', process.env.FERRY_BENCH_CPU_PROF]
    : [];
  const server: ChildProcess = spawn(process.execPath, [...profile, '--conditions=react-server', 'scripts/serve.mjs'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', logFile, logFile],
    detached: true,
  });
  const stop = () => {
    if (server.pid && server.exitCode === null) process.kill(-server.pid, 'SIGTERM');
  };
  const headers: Record<string, string> = { [REQUEST_HEADER]: REQUEST_HEADER_VALUE };
  const parse = async (pathName: string, response: Response) => {
    const body = (await response.json()) as { result?: { data: Trpc }; error?: Trpc };
    if (!body.result) throw new Error(`${pathName}: ${JSON.stringify(body.error)}`);
    return body.result.data.json;
  };
  const call = async (pathName: string, input: unknown) =>
    parse(
      pathName,
      await fetchRetry(`${base}/api/trpc/${pathName}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ json: input }),
      }),
    );
  const query = async (pathName: string, input: unknown) =>
    parse(
      pathName,
      await fetchRetry(`${base}/api/trpc/${pathName}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`, {
        headers,
      }),
    );

  /** The first admin, made the documented way (`npm run user -- add`), then signed in over HTTP. */
  const signIn = async (): Promise<string> => {
    execFileSync(
      'npx',
      ['tsx', '--conditions=react-server', 'scripts/user.ts', 'add', BENCH_ADMIN.name, '--role', 'admin'],
      { cwd: ROOT, env, input: `${BENCH_ADMIN.password}\n`, stdio: ['pipe', 'ignore', 'inherit'] },
    );
    const response = await fetchRetry(`${base}/api/auth/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(BENCH_ADMIN),
    });
    const cookie = response.headers.get('set-cookie')?.split(';')[0];
    if (!response.ok || !cookie) throw new Error(`bench sign-in failed: ${response.status} ${await response.text()}`);
    headers.cookie = cookie;
    return cookie.slice(cookie.indexOf('=') + 1);
  };

  /**
   * Waits for the final state the way the page does, on the migration's SSE stream, so the end is seen the
   * moment Ferry publishes it and watching costs the server nothing extra (polling `migration.get` would).
   */
  const waitFinal = async (id: string): Promise<{ state: string }> => {
    let final = '';
    await followMigrationEvents({ base, headers }, id, (event) => {
      if (event.type === 'state' && FINAL_STATES.includes(event.state ?? '')) final = event.state as string;
      return final !== '';
    });
    if (!final) throw new Error(`event stream of ${id} ended without a final state`);
    return { state: final };
  };

  for (let i = 0; i < 120; i++) {
    try {
      if ((await fetch(`${base}/api/health`)).ok) {
        const sessionToken = await signIn();
        return { base, pid: server.pid as number, sessionToken, headers, call, query, waitFinal, stop };
      }
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  // Not left behind holding the port (and the next run's start) when it never answered.
  if (server.pid) process.kill(-server.pid, 'SIGKILL');
  throw new Error('Ferry did not start for the bench');
}

/** Resident memory of a process now and its peak so far (VmRSS, VmHWM), in bytes. */
export function residentBytes(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

/**
 * CPU time (user + system, ms) of `pid` and everything under it: its own, its reaped children's (cutime, cstime),
 * and every live descendant's. The difference of two readings is what Ferry and the processes it started (virsh,
 * ssh) spent in between, as long as no descendant that exited in between went unreaped.
 */
export function treeCpuMs(pid: number, breakdown?: Map<string, number>): number {
  // breakdown, when given: the same total by process name (`node`, `virsh`, `ssh`, `node's exited children`).
  const ticksPerMs = 100 / 1000; // USER_HZ is 100 on Linux
  const parents = new Map<number, number>();
  const own = new Map<number, number>();
  const names = new Map<number, string>();
  const reaped = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after the parenthesised name: state ppid … utime(14) stime(15) cutime(16) cstime(17), 1-based.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    parents.set(Number(entry), Number(fields[1]));
    own.set(Number(entry), Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]));
    names.set(Number(entry), stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')));
    reaped.set(Number(entry), Number(fields[13]) + Number(fields[14]));
  }
  const isUnder = (candidate: number): boolean => {
    for (let at = candidate, hops = 0; at > 1 && hops < 64; hops++) {
      if (at === pid) return true;
      at = parents.get(at) ?? 0;
    }
    return false;
  };
  let ticks = 0;
  for (const [candidate, value] of own) {
    if (!isUnder(candidate)) continue;
    ticks += value;
    if (breakdown) {
      const name = names.get(candidate) ?? '?';
      const reapedTicks = reaped.get(candidate) ?? 0;
      breakdown.set(name, (breakdown.get(name) ?? 0) + (value - reapedTicks) / ticksPerMs);
      const exited = `${name}'s exited children`;
      breakdown.set(exited, (breakdown.get(exited) ?? 0) + reapedTicks / ticksPerMs);
    }
  }
  return ticks / ticksPerMs;
}

export function launchBenchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}
