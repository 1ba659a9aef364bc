import { createServer, type Server } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from './commands';
import { makeKey } from './testing/ssh-agent';
import { runCli } from './testing/run-cli';

/**
 * The real `ferry` process for everything that needs no Ferry server: the npx entry point, help, usage errors
 * (exit 2) and an unreachable server (exit 3). The server-side refusals and the lab migration are in
 * e2e/cli.spec.ts, which runs against the production build.
 */

let dir: string;
let keyFile: string;
let closedPort: number;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'ferry-cli-'));
  keyFile = makeKey({ dir, name: 'id_ed25519', args: ['-t', 'ed25519'] });
  // A port that was just free: nothing listens there, so a connection is refused at once.
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closedPort = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ferry without a server', () => {
  it('runs as `npx ferry` from the checkout (npm exec finds the project’s own bin)', async () => {
    const run = await runCli(['--help'], {
      command: ['npx', '--no-install', 'ferry'],
      env: { NPM_CONFIG_UPDATE_NOTIFIER: 'false' },
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: ferry <command> [options]');
    for (const name of Object.keys(COMMANDS)) expect(run.stdout).toContain(`  ${name} `);
  }, 120_000);

  it('has --help on every command, exit 0', async () => {
    for (const name of Object.keys(COMMANDS)) {
      const run = await runCli([name, '--help']);
      expect(run.code, `${name} --help`).toBe(0);
      expect(run.stdout).toContain(`Usage: ferry ${name}`);
      expect(run.stdout).toContain('--json');
    }
  }, 180_000);

  it('exits 2 with one line for usage errors, and never prints a stack', async () => {
    const cases: [string[], RegExp][] = [
      [[], /Usage: ferry <command>/],
      [['hots'], /Unknown command "hots"/],
      [['vms', '--hots', 'x'], /Unknown option '--hots'.*ferry vms --help/],
      [['vms', '--state', 'flying'], /--state is one of no-state, running/],
      [['migrate', 'vm1'], /migrate needs --to <host>/],
      [['migrate', 'vm1', '--to', 'hv2', '--copy-storage', 'some'], /--copy-storage is all, inc or none/],
      [['migrate', 'vm1', '--to', 'hv2', '--bandwidth', '-3'], /--bandwidth|Usage/],
      [['history', '--since', 'yesterday'], /--since takes a span such as 30m/],
      [['audit', '--format', 'xml'], /--format is csv or jsonl/],
      [['cancel'], /Usage: ferry cancel <migration-id>/],
      [['hosts'], /Set FERRY_URL/],
      [['start'], /Usage: ferry start <vm>/],
      // Destructive power actions ask first; with no terminal to ask on, a script must say --yes.
      [['shutdown', 'vm1'], /shutdown asks first; without a terminal pass --yes/],
      [['poweroff', 'vm1', '--json'], /poweroff asks first/],
      [['suspend', 'vm1', '--yes'], /Unknown option '--yes'/],
      // Evacuating asks first too; a typo in an override is refused before anything is asked of Ferry.
      [['evacuate', 'hv1'], /evacuate asks first; without a terminal pass --yes/],
      [['evacuate', 'hv1', '--plan', '--to', 'vm1'], /--to takes <vm>=<host>, e.g. --to vm1=hv2/],
      [['bring-back', 'hv1', '--to', 'vm1=hv2'], /Unknown option '--to'/],
      [['evacuation', 'e1', '--pause', '--cancel'], /Give one of --pause, --resume and --cancel, not 2/],
      [['maintenance', 'begin', 'hv1'], /maintenance takes status or end/],
    ];
    for (const [args, pattern] of cases) {
      const run = await runCli(args, { env: {} });
      expect(run.code, `ferry ${args.join(' ')}: ${run.stderr}`).toBe(2);
      expect(run.stderr).toMatch(pattern);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }
  }, 240_000);

  it('exits 2 when there is no key to sign with', async () => {
    const run = await runCli(['hosts'], { env: { FERRY_URL: `http://127.0.0.1:${closedPort}` } });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/No key to sign with: start ssh-agent/);
  }, 60_000);

  it('exits 3 with one line when Ferry cannot be reached', async () => {
    const [refused, unresolvable] = await Promise.all([
      runCli(['hosts'], { env: { FERRY_URL: `http://127.0.0.1:${closedPort}`, FERRY_KEY_FILE: keyFile } }),
      runCli(['vms', '--json'], { env: { FERRY_URL: 'http://ferry.invalid:3000', FERRY_KEY_FILE: keyFile } }),
    ]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toBe(`ferry: Cannot reach Ferry at http://127.0.0.1:${closedPort} (ECONNREFUSED).\n`);
    expect(unresolvable.code).toBe(3);
    expect(unresolvable.stderr).toMatch(/^ferry: Cannot reach Ferry at http:\/\/ferry\.invalid:3000 \(ENOTFOUND/);
  }, 60_000);
});
