import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext } from '@playwright/test';
import { addUserWithCli, signInWithPage } from './auth';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LAB_DIR = process.env.FERRY_LAB_DIR ?? path.join(ROOT, '.lab');

export type ServerProcessOptions = {
  /** Its own port, beside the Playwright web server's (E2E_PORT). */
  port: number;
  /** Its own SQLite file, e.g. `file:./data/e2e-jobs-restart.db`; wiped by `prepare()`. */
  databaseUrl: string;
  /** Extra environment, e.g. a short heartbeat staleness so a restart re-attaches within a test. */
  env?: Record<string, string>;
};

export type ServerProcess = {
  readonly baseURL: string;
  /** PID of the server's node process (there is exactly one: no npx/tsx wrapper in between). */
  readonly pid: number | null;
  /** Fresh database (migrated and seeded like e2e/serve.sh does) with one admin. */
  prepare(admin: { name: string; password: string }): void;
  /** Starts the built Ferry and resolves once /api/health answers. */
  start(): Promise<void>;
  /** SIGKILL to the server: no shutdown hook runs, as with a crash or an OOM kill. */
  kill9(): Promise<void>;
  /** SIGTERM, as systemd or Ctrl-C would stop it; resolves when it exited. */
  stop(): Promise<void>;
  /** A browser context signed in on this server (cookies are per host, not per port, so never share one). */
  signedInContext(browser: Browser, admin: { name: string; password: string }): Promise<BrowserContext>;
  /** Everything the server printed, for a failing test's message. */
  output(): string;
};

/**
 * A second Ferry for specs that kill and restart the server mid-job, started the way e2e/serve.sh starts the
 * Playwright one (production build, `--conditions=react-server`, key and test-driver directories), but as ONE
 * node process (`node --import tsx`), so `kill -9 <pid>` is exactly "the server died" and nothing of a wrapper
 * survives to keep its children alive.
 */
export function createServerProcess(options: ServerProcessOptions): ServerProcess {
  const baseURL = `http://127.0.0.1:${options.port}`;
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let log = '';

  const env = (): NodeJS.ProcessEnv => ({
    ...process.env,
    NEXT_TELEMETRY_DISABLED: '1',
    NPM_CONFIG_UPDATE_NOTIFIER: 'false',
    DATABASE_URL: options.databaseUrl,
    FERRY_KEY_DIR: process.env.FERRY_KEY_DIR ?? path.join(LAB_DIR, 'keys'),
    FERRY_TEST_DRIVER_DIR: process.env.FERRY_TEST_DRIVER_DIR ?? path.join(ROOT, 'data/e2e-test-hosts'),
    PORT: String(options.port),
    FERRY_LISTEN: '127.0.0.1',
    ...options.env,
  });

  async function waitReady(deadlineMs: number) {
    const deadline = Date.now() + deadlineMs;
    while (Date.now() < deadline) {
      if (child?.exitCode != null || child?.signalCode != null)
        throw new Error(`Ferry exited before it was ready:\n${log.slice(-4000)}`);
      try {
        const response = await fetch(`${baseURL}/api/health`);
        if (response.ok) return;
      } catch {
        // Not listening yet.
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`Ferry did not answer on ${baseURL} within ${deadlineMs} ms:\n${log.slice(-4000)}`);
  }

  return {
    baseURL,
    get pid() {
      return child?.pid ?? null;
    },
    prepare(admin) {
      const file = path.resolve(ROOT, options.databaseUrl.replace(/^file:/, ''));
      for (const suffix of ['', '-journal', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
      const run = (args: string[]) => execFileSync('npx', args, { cwd: ROOT, env: env(), stdio: 'pipe' });
      run(['prisma', 'migrate', 'deploy']);
      run(['tsx', '--conditions=react-server', 'prisma/seed.ts']);
      addUserWithCli({ ...admin, role: 'admin', databaseUrl: options.databaseUrl });
    },
    async start() {
      if (child !== null) throw new Error('this Ferry is already running');
      const started = spawn(process.execPath, ['--conditions=react-server', 'scripts/serve.mjs'], {
        cwd: ROOT,
        env: env(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = started;
      started.stdout?.on('data', (data: Buffer) => (log += data.toString()));
      started.stderr?.on('data', (data: Buffer) => (log += data.toString()));
      exited = new Promise((resolve) =>
        started.once('exit', () => {
          if (child === started) child = null;
          resolve();
        }),
      );
      await waitReady(120_000);
    },
    async kill9() {
      child?.kill('SIGKILL');
      await exited;
    },
    async stop() {
      child?.kill('SIGTERM');
      await exited;
    },
    async signedInContext(browser, admin) {
      const context = await browser.newContext({ baseURL, storageState: undefined });
      const page = await context.newPage();
      await signInWithPage(page, admin);
      await page.close();
      return context;
    },
    output: () => log,
  };
}
