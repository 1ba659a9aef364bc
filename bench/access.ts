import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * What the access layer costs per tRPC call, in-process and in one run: the same `host.list` call through the
 * real route handler (Host/Origin/custom-header checks, the session cookie resolved against SQLite, the role
 * middleware) and through fetchRequestHandler with a ready-made signed-in context (checks bypassed). The two
 * are interleaved call by call so both see the same machine load. It runs in a child process of its own: the
 * database client is a per-process singleton, and the other bench sections have already opened theirs.
 */
export type AccessBenchResult = {
  calls: number;
  checked: { p50Ms: number; p95Ms: number };
  bypassed: { p50Ms: number; p95Ms: number };
  addedP50Ms: number;
  addedP95Ms: number;
};

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

export async function benchAccess(options: { calls?: number } = {}): Promise<AccessBenchResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ferry-access-bench-'));
  try {
    const { applyMigrationFiles, openSqliteFile } = await import('../server/audit/sqlite-file');
    const raw = openSqliteFile(path.join(dir, 'bench.db'));
    applyMigrationFiles(raw);
    raw.close();
    const output = execFileSync(
      'npx',
      ['tsx', fileURLToPath(import.meta.url), '--child', String(options.calls ?? 2000)],
      {
        env: { ...process.env, DATABASE_URL: `file:${path.join(dir, 'bench.db')}` },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    return JSON.parse(output.trim().split('\n').pop() ?? '') as AccessBenchResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The measurement itself, in a process whose DATABASE_URL is the scratch database. */
async function measureAccess(calls: number): Promise<AccessBenchResult> {
  const { db } = await import('../server/db');
  const { addUser } = await import('../server/auth/users');
  const { signIn } = await import('../server/auth/sign-in');
  const { REQUEST_HEADER, REQUEST_HEADER_VALUE } = await import('../server/auth/request-header');
  const { fetchRequestHandler } = await import('@trpc/server/adapters/fetch');
  const { appRouter } = await import('../server/api/root');
  const { createContextInner } = await import('../server/api/trpc');
  const { GET: checkedHandler } = await import('../app/api/trpc/[trpc]/route');

  try {
    await addUser({
      db,
      name: 'bench',
      role: 'viewer',
      password: 'bench password 1',
      audit: { actor: 'cli', clientAddress: null },
    });
    const outcome = await signIn({
      db,
      name: 'bench',
      password: 'bench password 1',
      clientAddress: null,
      userAgent: null,
    });
    if (!outcome.ok) throw new Error(outcome.message);
    const url = 'http://127.0.0.1:3000/api/trpc/host.list';
    const headers = {
      host: '127.0.0.1:3000',
      'sec-fetch-site': 'same-origin',
      [REQUEST_HEADER]: REQUEST_HEADER_VALUE,
      cookie: `ferry-session=${outcome.token}`,
    };
    const actor = { name: 'bench', role: 'viewer' as const };
    const bypassed = (request: Request) =>
      fetchRequestHandler({
        endpoint: '/api/trpc',
        req: request,
        router: appRouter,
        createContext: () => createContextInner({ db, actor }),
      });

    const time = async (handler: (request: Request) => Promise<Response>) => {
      const started = performance.now();
      const response = await handler(new Request(url, { headers }));
      await response.text();
      if (!response.ok) throw new Error(`host.list answered ${response.status}`);
      return performance.now() - started;
    };
    // Warm up both paths (JIT, Prisma's first queries).
    for (let i = 0; i < 200; i++) {
      await time(checkedHandler);
      await time(bypassed);
    }
    const checkedMs: number[] = [];
    const bypassedMs: number[] = [];
    for (let i = 0; i < calls; i++) {
      checkedMs.push(await time(checkedHandler));
      bypassedMs.push(await time(bypassed));
    }
    const checked = { p50Ms: percentile(checkedMs, 50), p95Ms: percentile(checkedMs, 95) };
    const plain = { p50Ms: percentile(bypassedMs, 50), p95Ms: percentile(bypassedMs, 95) };
    return {
      calls,
      checked,
      bypassed: plain,
      addedP50Ms: checked.p50Ms - plain.p50Ms,
      addedP95Ms: checked.p95Ms - plain.p95Ms,
    };
  } finally {
    await db.$disconnect();
  }
}

if (process.argv[2] === '--child') {
  console.log(JSON.stringify(await measureAccess(Number(process.argv[3]))));
}
