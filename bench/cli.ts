import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import superjson from 'superjson';
import { labHosts, lab } from '../e2e/lab-hosts';
import { REQUEST_HEADER, REQUEST_HEADER_VALUE } from '../server/auth/request-header';
import { runCli } from '../cli/testing/run-cli';
import { makeKey, startSshAgent } from '../cli/testing/ssh-agent';

const execFileAsync = promisify(execFile);

/**
 * `ferry vms` against the lab, wall time of the whole command as a user runs it (process start, tsx, key from a
 * real ssh-agent, signing, one signed tRPC call, Ferry reading both hosts), against the floor an admin would
 * otherwise type: `virsh -c qemu+ssh://… list --all` to the same two hosts, both at once. Runs alternate so both
 * see the same machine load. Needs `npm run lab:up` and `npx next build`.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PORT = Number(process.env.FERRY_BENCH_CLI_PORT ?? 3212);
const BASE = `http://127.0.0.1:${PORT}`;
const OUT = path.join(ROOT, 'bench', 'out');
const DB_FILE = path.join(OUT, 'cli-bench.db');
const ADMIN = { name: 'bench-cli', password: 'bench cli password 1' };

export type CliBenchResult = {
  runs: number;
  ferryMs: number[];
  virshMs: number[];
  helpMs: number[];
  ratio: number;
};

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

async function startServer(): Promise<ChildProcess> {
  mkdirSync(OUT, { recursive: true });
  rmSync(DB_FILE, { force: true });
  const env = {
    ...process.env,
    DATABASE_URL: `file:${DB_FILE}`,
    FERRY_DEMO_URI: '',
    FERRY_KEY_DIR: path.join(ROOT, '.lab', 'keys'),
    PORT: String(PORT),
    FERRY_LISTEN: '127.0.0.1',
    NEXT_TELEMETRY_DISABLED: '1',
  };
  execFileSync('npx', ['prisma', 'migrate', 'deploy'], { cwd: ROOT, env, stdio: 'ignore' });
  execFileSync('npx', ['tsx', '--conditions=react-server', 'scripts/user.ts', 'add', ADMIN.name, '--role', 'admin'], {
    cwd: ROOT,
    env,
    input: `${ADMIN.password}\n`,
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  const log = openSync(path.join(OUT, 'cli-bench-server.log'), 'w');
  const server = spawn(process.execPath, ['--conditions=react-server', 'scripts/serve.mjs'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', log, log],
    detached: true,
  });
  for (let i = 0; i < 240; i++) {
    try {
      if ((await fetch(`${BASE}/api/health`)).ok) return server;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  stopServer(server);
  throw new Error(`Ferry did not start for the CLI bench (see ${path.join(OUT, 'cli-bench-server.log')})`);
}

function stopServer(server: ChildProcess) {
  if (server.pid !== undefined && server.exitCode === null) {
    try {
      process.kill(-server.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

/** Signs in over HTTP as the bench admin, then registers the hosts and the admin's key the way the pages do. */
async function prepare(publicKey: string) {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    [REQUEST_HEADER]: REQUEST_HEADER_VALUE,
  };
  const signIn = await fetch(`${BASE}/api/auth/sign-in`, { method: 'POST', headers, body: JSON.stringify(ADMIN) });
  const cookie = signIn.headers.get('set-cookie')?.split(';')[0];
  if (!signIn.ok || !cookie) throw new Error(`bench sign-in failed: ${signIn.status}`);
  const call = async (procedure: string, input: unknown) => {
    const response = await fetch(`${BASE}/api/trpc/${procedure}`, {
      method: 'POST',
      headers: { ...headers, cookie },
      body: JSON.stringify(superjson.serialize(input)),
    });
    if (!response.ok) throw new Error(`${procedure}: ${response.status} ${await response.text()}`);
  };
  const { hv1, hv2 } = labHosts();
  await call('host.add', { alias: 'hv1', reference: hv1.uri });
  await call('host.add', { alias: 'hv2', reference: hv2.uri });
  await call('apiKeys.addMine', { publicKey, comment: 'bench' });
}

export async function benchCli(options: { runs?: number; log?: (line: string) => void } = {}): Promise<CliBenchResult> {
  const log = options.log ?? (() => {});
  const runs = options.runs ?? 7;
  const { hv1, hv2 } = labHosts();
  lab('reset');
  const agent = await startSshAgent();
  let server: ChildProcess | null = null;
  try {
    server = await startServer();
    const keyFile = makeKey({ dir: agent.dir, name: 'bench', args: ['-t', 'ed25519'] });
    agent.add(keyFile);
    await prepare(readFileSync(`${keyFile}.pub`, 'utf8'));
    const env = { FERRY_URL: BASE, SSH_AUTH_SOCK: agent.socket };
    const ferry = async (args: string[]) => {
      const started = performance.now();
      const run = await runCli(args, { env });
      const elapsed = performance.now() - started;
      if (run.code !== 0) throw new Error(`ferry ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
      return { elapsed, stdout: run.stdout };
    };
    const virshBoth = async () => {
      const started = performance.now();
      const outputs = await Promise.all(
        [hv1, hv2].map((host) =>
          execFileAsync('virsh', ['-c', host.uri, 'list', '--all'], { encoding: 'utf8', timeout: 60_000 }),
        ),
      );
      return { elapsed: performance.now() - started, stdout: outputs.map((output) => output.stdout).join('') };
    };

    // Warm-up: the first call pays for Next's route compilation and the first ssh connections; not counted.
    const first = await ferry(['vms', '--json']);
    const listed = (JSON.parse(first.stdout) as { vms: { name: string }[] }).vms.map((vm) => vm.name).sort();
    const bare = await virshBoth();
    log(`warm-up: ferry lists ${listed.join(', ')}; virsh printed ${bare.stdout.split('\n').length} lines`);

    const result: CliBenchResult = { runs, ferryMs: [], virshMs: [], helpMs: [], ratio: NaN };
    for (let i = 0; i < runs; i++) {
      result.ferryMs.push((await ferry(['vms'])).elapsed);
      result.virshMs.push((await virshBoth()).elapsed);
      result.helpMs.push((await ferry(['--help'])).elapsed);
    }
    result.ratio = median(result.ferryMs) / median(result.virshMs);
    return result;
  } finally {
    if (server) stopServer(server);
    await agent.stop();
  }
}

export { median };
