import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, request as playwrightRequest, test, type APIRequestContext } from '@playwright/test';
import superjson from 'superjson';
import { keyFileSigner } from '../cli/keys';
import { signatureHeaders } from '../cli/sign-request';
import { FERRY_BIN, runCli, startCli, type CliRun } from '../cli/testing/run-cli';
import { makeKey, startSshAgent } from '../cli/testing/ssh-agent';
import { ADMIN_STATE, API_HEADERS } from './auth';
import { lab, labHosts, virsh } from './lab-hosts';

/**
 * The `ferry` CLI as a user runs it: the real bin as its own process, keys in a real ssh-agent, against the
 * production build this run serves (e2e/serve.sh), and the lab's two hypervisors for migrate, watch and cancel.
 * Users and keys are set up through the admin API the Users page uses; nothing here touches the database.
 */

const PORT = Number(process.env.E2E_PORT ?? 3100);
const BASE = `http://127.0.0.1:${PORT}`;

test.describe.configure({ mode: 'serial' });

type Role = 'viewer' | 'operator' | 'admin';
/** One user per role the tests need; each holds one key in the agent, chosen by its comment (FERRY_KEY). */
const USERS: { name: string; role: Role; keyType: string[] }[] = [
  { name: 'cli-operator', role: 'operator', keyType: ['-t', 'ed25519'] },
  { name: 'cli-viewer', role: 'viewer', keyType: ['-t', 'ecdsa', '-b', '256'] },
  { name: 'cli-disabled', role: 'operator', keyType: ['-t', 'rsa', '-b', '2048'] },
  { name: 'cli-expiring', role: 'operator', keyType: ['-t', 'ed25519'] },
];

let admin: APIRequestContext;
let agent: Awaited<ReturnType<typeof startSshAgent>>;
let dir: string;
const keyFiles: Record<string, string> = {};
let expiringKeyExpiresAt: Date;

async function trpc<T>(kind: 'query' | 'mutation', procedure: string, input?: unknown): Promise<T> {
  const serialized = superjson.serialize(input);
  const get = () =>
    admin.get(`/api/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(serialized))}`, {
      headers: API_HEADERS,
    });
  // The admin context's keep-alive socket idles while a `ferry migrate` runs, and the server may close it just as
  // the next request goes out (ECONNRESET). A query is safe to send again, once; a mutation never is.
  const response =
    kind === 'query'
      ? await get().catch((error: unknown) => {
          if (!/ECONNRESET|socket hang up/.test(String(error))) throw error;
          return get();
        })
      : await admin.post(`/api/trpc/${procedure}`, { headers: API_HEADERS, data: serialized });
  const body = (await response.json()) as { result?: { data: never }; error?: unknown };
  if (!body.result) throw new Error(`${procedure}: ${JSON.stringify(body.error)}`);
  return superjson.deserialize<T>(body.result.data);
}

/** `ferry …` as `user` (their key picked from the agent by its comment), against this run's server. */
function ferry(user: string, args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runCli(args, {
    env: { FERRY_URL: BASE, SSH_AUTH_SOCK: agent.socket, FERRY_KEY: user, ...env },
    timeoutMs: 120_000,
  });
}

test.beforeAll(async () => {
  admin = await playwrightRequest.newContext({ baseURL: BASE, storageState: ADMIN_STATE });
  dir = mkdtempSync(path.join(tmpdir(), 'ferry-cli-e2e-'));
  agent = await startSshAgent();
  const existing = await trpc<{ id: string; name: string }[]>('query', 'users.list');
  for (const user of USERS) {
    keyFiles[user.name] = makeKey({ dir, name: user.name, args: user.keyType });
    agent.add(keyFiles[user.name] as string);
    const id =
      existing.find((row) => row.name === user.name)?.id ??
      (
        await trpc<{ id: string }>('mutation', 'users.add', {
          name: user.name,
          role: user.role,
          password: `${user.name} password 1`,
        })
      ).id;
    const expiresAt = user.name === 'cli-expiring' ? new Date(Date.now() + 4_000) : null;
    if (expiresAt) expiringKeyExpiresAt = expiresAt;
    await trpc('mutation', 'apiKeys.add', {
      userId: id,
      publicKey: readFileSync(`${keyFiles[user.name]}.pub`, 'utf8'),
      comment: user.name,
      expiresAt,
    });
    if (user.name === 'cli-disabled') await trpc('mutation', 'users.setDisabled', { id, disabled: true });
  }
  // In the agent but registered for nobody.
  keyFiles.stranger = makeKey({ dir, name: 'stranger', args: ['-t', 'ed25519'] });
  agent.add(keyFiles.stranger);
});

test.afterAll(async () => {
  await agent?.stop();
  await admin?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test.describe('reading', () => {
  test('ferry hosts and ferry vms list what the fleet page shows', async () => {
    const hostsRun = await ferry('cli-viewer', ['hosts']);
    expect(hostsRun.stderr).toBe('');
    expect(hostsRun.code).toBe(0);
    expect(hostsRun.stdout).toMatch(/^ALIAS\s+URI\s+EXECUTOR/);
    expect(hostsRun.stdout).toMatch(/^demo\s+test:\/\/\/default/m);

    const hostsJson = JSON.parse((await ferry('cli-viewer', ['hosts', '--json'])).stdout) as { alias: string }[];
    expect(hostsJson.map((host) => host.alias)).toContain('demo');

    const vmsRun = await ferry('cli-viewer', ['vms', '--host', 'demo', '--state', 'running']);
    expect(vmsRun.code).toBe(0);
    // The test driver's one domain, as `virsh -c test:///default list` shows it.
    expect(vmsRun.stdout).toMatch(/^demo\s+test\s+running\s+2\s/m);

    const vmsJson = JSON.parse((await ferry('cli-viewer', ['vms', '--host', 'demo', '--json'])).stdout) as {
      vms: { host: string; name: string; uuid: string }[];
      hostErrors: unknown[];
    };
    expect(vmsJson.vms).toContainEqual(expect.objectContaining({ host: 'demo', name: 'test' }));
    expect(vmsJson.hostErrors).toEqual([]);

    const none = await ferry('cli-viewer', ['vms', '--host', 'demo', '--state', 'paused', '--json']);
    expect(JSON.parse(none.stdout)).toEqual({ vms: [], hostErrors: [] });
    const missing = await ferry('cli-viewer', ['vms', '--host', 'nowhere']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('ferry: No host "nowhere" is registered (ferry hosts lists them).\n');
  });

  test('ferry audit streams csv and jsonl, and every signed request is in it with its key', async () => {
    const operator = keyFileSigner({ path: keyFiles['cli-operator'] as string });
    const csv = await ferry('cli-viewer', ['audit', '--since', '1h', '--actor', 'cli-viewer', '--format', 'csv']);
    expect(csv.code).toBe(0);
    const csvLines = csv.stdout.trim().split('\r\n');
    expect(csvLines[0]).toMatch(/^id,at,actor,/);
    expect(csvLines.length).toBeGreaterThan(3);
    expect(csvLines.slice(1).every((line) => line.includes(',cli-viewer,'))).toBe(true);

    await ferry('cli-operator', ['hosts']);
    const jsonl = await ferry('cli-viewer', ['audit', '--since', '10m', '--action', 'api.request', '--json']);
    expect(jsonl.code).toBe(0);
    const rows = jsonl.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { actor: string; action: string; details: unknown });
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((row) => row.action === 'api.request')).toBe(true);
    expect(JSON.stringify(rows.filter((row) => row.actor === 'cli-operator'))).toContain(operator.fingerprint);

    const bad = await ferry('cli-viewer', ['audit', '--since', '2026-13-45']);
    expect(bad.code).toBe(2);
  });
});

test.describe('evacuation plan', () => {
  test('ferry evacuate --plan prints the test driver host’s plan, maps --exclude by name, and changes nothing', async () => {
    const maintenance = async () =>
      (
        JSON.parse((await ferry('cli-viewer', ['hosts', '--json'])).stdout) as {
          alias: string;
          inMaintenance: boolean;
        }[]
      ).find((host) => host.alias === 'demo')?.inMaintenance;
    const before = await maintenance();

    const run = await ferry('cli-operator', ['evacuate', 'demo', '--plan']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Plan: evacuate demo: [01] of 1 VM move/);
    expect(run.stdout).toMatch(/^VM\s+FROM\s+TO\s+WHY$/m);
    expect(run.stdout).toMatch(/^test\s+demo\s+\S+\s+\S/m);

    const excluded = await ferry('cli-operator', ['evacuate', 'demo', '--dry-run', '--exclude', 'test', '--json']);
    expect(excluded.code).toBe(0);
    const { plan, started } = JSON.parse(excluded.stdout) as {
      plan: { host: { alias: string }; items: { vmName: string; kind: string; reasons: string[] }[] };
      started: boolean;
    };
    expect(started).toBe(false);
    expect(plan.host.alias).toBe('demo');
    expect(plan.items).toEqual([
      expect.objectContaining({ vmName: 'test', kind: 'excluded', reasons: ['left on the host by the admin'] }),
    ]);

    const unknown = await ferry('cli-operator', ['evacuate', 'demo', '--plan', '--exclude', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('ferry: --exclude nope: no such VM on the plan (its VMs: test).\n');
    expect(await maintenance()).toBe(before);
  });
});

test.describe('refusals', () => {
  test('an unknown key, an expired key and a disabled user are refused with exit 1 and one line', async () => {
    const stranger = keyFileSigner({ path: keyFiles.stranger as string });
    const unknown = await ferry('stranger', ['hosts']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(
      `ferry: Refused: unknown key ${stranger.fingerprint}; register it under My account first.\n`,
    );

    const wait = expiringKeyExpiresAt.getTime() - Date.now() + 500;
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const expired = await ferry('cli-expiring', ['vms']);
    expect(expired.code).toBe(1);
    expect(expired.stderr).toBe(`ferry: Refused: the key expired on ${expiringKeyExpiresAt.toISOString()}.\n`);

    const disabled = await ferry('cli-disabled', ['history']);
    expect(disabled.code).toBe(1);
    expect(disabled.stderr).toBe("ferry: Refused: the key's user is disabled.\n");

    // The export route refuses the same way.
    const disabledAudit = await ferry('cli-disabled', ['audit']);
    expect(disabledAudit.code).toBe(1);
    expect(disabledAudit.stderr).toBe("ferry: Refused: the key's user is disabled.\n");
  });

  test('a key acts with its user’s role: a viewer cannot cancel', async () => {
    const run = await ferry('cli-viewer', ['cancel', 'no-such-migration']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^ferry: .*operator.*\n$/);
  });

  test('a captured request replayed is refused; the same request signed afresh succeeds', async () => {
    const signer = keyFileSigner({ path: keyFiles['cli-viewer'] as string });
    const namespace = ((await (await fetch(`${BASE}/api/signed-api`)).json()) as { namespace: string }).namespace;
    const target = `/api/trpc/host.list?input=${encodeURIComponent(JSON.stringify({ json: null }))}`;
    const send = async (headers: Record<string, string>) => (await fetch(`${BASE}${target}`, { headers })).status;
    const captured = await signatureHeaders({ signer, namespace, method: 'GET', target, body: '' });
    expect(await send(captured)).toBe(200);
    expect(await send(captured)).toBe(401);
    expect(await send(await signatureHeaders({ signer, namespace, method: 'GET', target, body: '' }))).toBe(200);
  });

  test('a cancel of an unknown migration is a refusal, not a crash', async () => {
    const run = await ferry('cli-operator', ['cancel', 'no-such-migration', '--json']);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('ferry: No such migration.\n');
  });
});

test.describe('migrating on the lab', () => {
  test.beforeAll(async () => {
    const { hv1, hv2 } = labHosts();
    lab('reset');
    const hosts = await trpc<{ alias: string }[]>('query', 'host.list');
    for (const host of [hv1, hv2]) {
      if (!hosts.some((row) => row.alias === host.alias)) {
        await trpc('mutation', 'host.add', { alias: host.alias, reference: host.uri });
      }
    }
  });

  // Each test starts from the lab's initial guests (a cancelled copy can leave a volume on hv2).
  test.afterEach(async () => {
    // A test that failed half-way may leave a slow migration running: stop it before the guests are reset.
    const filter = { states: ['queued', 'preflight', 'running', 'cancelling'] };
    for (let attempt = 0; attempt < 60; attempt++) {
      const { rows } = await trpc<{ rows: { id: string; state: string }[] }>('query', 'history.list', { filter });
      if (rows.length === 0) break;
      for (const row of rows.filter((r) => r.state !== 'cancelling')) {
        await trpc('mutation', 'migration.cancel', { id: row.id }).catch(() => undefined);
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    lab('reset');
  });

  test('ferry migrate runs the preflight, migrates, and prints one line per phase without a terminal', async () => {
    const { hv2 } = labHosts();
    const run = await ferry('cli-operator', ['migrate', 'vm1', '--to', 'hv2']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toBe('Preflight vm1 hv1 → hv2:');
    expect(lines.filter((line) => line.startsWith('  ✓ ')).length).toBeGreaterThan(3);
    expect(lines.some((line) => line.startsWith('  ✗ '))).toBe(false);
    expect(run.stdout).toMatch(/^Started migration [a-z0-9]+ \(Ctrl-C to cancel or stop watching\)\.$/m);
    const phases = lines.filter((line) => /^\d\d:\d\d:\d\d /.test(line)).map((line) => line.slice(9));
    // One line per phase change, never the same phase twice in a row, ending in success.
    expect(phases.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < phases.length; i++) {
      expect(phases[i]?.replace(/ \d+%$/, '')).not.toBe(phases[i - 1]?.replace(/ \d+%$/, ''));
    }
    expect(phases.some((phase) => phase.startsWith('running'))).toBe(true);
    expect(phases[phases.length - 1]).toBe('succeeded 100%');
    expect(run.stdout).toMatch(/^vm1 migrated hv1 → hv2 in [\d.]+ (ms|s)\.$/m);
    expect(virsh(hv2, 'domstate', 'vm1').out).toBe('running');
  });

  test('a failed preflight prints the failed check and starts nothing', async () => {
    const run = await ferry('cli-operator', ['migrate', 'vm-off', '--to', 'hv2']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      '  ✗ VM state fits: Live migration needs a running VM; "vm-off" is shut off. Choose offline.',
    );
    expect(run.stdout).not.toContain('Started migration');
    expect(run.stderr).toBe('Preflight failed: nothing was started.\n');
  });

  test('Ctrl-C without a terminal stops watching; ferry watch re-attaches; ferry cancel stops it', async () => {
    const env = { FERRY_URL: BASE, SSH_AUTH_SOCK: agent.socket, FERRY_KEY: 'cli-operator' };
    const migrating = startCli(['migrate', 'vm2', '--to', 'hv2', '--bandwidth', '1'], { env });
    const id = (await migrating.waitFor(/Started migration ([a-z0-9]+)/, { timeoutMs: 90_000 })).split(' ')[2] ?? '';
    // The phase line, not the preflight's "No migration running".
    await migrating.waitFor(/^\d\d:\d\d:\d\d running/m, { timeoutMs: 60_000 });
    migrating.child.kill('SIGINT');
    const interrupted = await migrating.done;
    expect(interrupted.code).toBe(130);
    expect(interrupted.stderr).toContain(`Stopped watching; migration ${id} continues.`);

    const watching = startCli(['watch', id], { env });
    await watching.waitFor(new RegExp(`^Watching migration ${id}: vm2 hv1→hv2$`, 'm'));
    await watching.waitFor(/^\d\d:\d\d:\d\d running/m);
    const cancelled = await ferry('cli-operator', ['cancel', id, '--wait']);
    expect(cancelled.stdout).toContain(`Cancel requested for migration ${id}.`);
    expect(cancelled.stdout).toContain('Migration of vm2 (hv1 → hv2) was cancelled.');
    expect(cancelled.code).toBe(0);
    const watched = await watching.done;
    expect(watched.code).toBe(1);
    expect(watched.stdout).toMatch(/ cancelling \d+%\n/);
    expect(watched.stdout).toContain('Migration of vm2 (hv1 → hv2) was cancelled.');

    const again = await ferry('cli-operator', ['cancel', id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('ferry: The migration already ended (cancelled); nothing to cancel.\n');

    const history = await ferry('cli-viewer', ['history', '--vm', 'vm2', '--since', '1h', '--json']);
    const rows = JSON.parse(history.stdout) as { id: string; state: string; actor: string }[];
    expect(rows).toContainEqual(expect.objectContaining({ id, state: 'cancelled', actor: 'cli-operator' }));
    const table = await ferry('cli-viewer', ['history', '--vm', 'vm1', '--since', '1h']);
    expect(table.stdout).toMatch(/^CREATED\s+VM\s+FROM\s+TO\s+STATE/);
    expect(table.stdout).toMatch(/vm1\s+hv1\s+hv2\s+succeeded\s+.*cli-operator/);
  });

  test('on a terminal: a live progress bar, and Ctrl-C asks before it cancels', async () => {
    // `script` gives the CLI a real pseudo-terminal (util-linux); its -c takes one shell line, built here from
    // this test's own constant paths only, each single-quoted.
    const quote = (word: string) => `'${word.replaceAll("'", "'\\''")}'`;
    const line = ['exec', process.execPath, FERRY_BIN, 'migrate', 'vm2', '--to', 'hv2', '--bandwidth', '1']
      .map((word, index) => (index === 0 ? word : quote(word)))
      .join(' ');
    const env = { FERRY_URL: BASE, SSH_AUTH_SOCK: agent.socket, FERRY_KEY: 'cli-operator', TERM: 'xterm' };
    const terminal = startCli(['-q', '-f', '-e', '-c', line, '/dev/null'], { env, command: ['script'] });
    // The bar is redrawn in place: carriage return, the line, erase to its end (ESC [ K).
    // eslint-disable-next-line no-control-regex
    await terminal.waitFor(/\rvm2 hv1→hv2 \[[#.]+\] +\d+% running[^\r]*\u001b\[K/, { timeoutMs: 90_000 });
    terminal.child.stdin?.write('\u0003');
    await terminal.waitFor(
      /\[c\] cancel the migration, \[d\] stop watching \(it keeps running\), \[w\] keep watching\?/,
    );
    terminal.child.stdin?.write('c');
    const ended = await terminal.done;
    terminal.child.stdin?.end();
    expect(ended.stdout).toMatch(/Cancel requested; waiting for migration [a-z0-9]+ to stop\./);
    expect(ended.stdout).toContain('Migration of vm2 (hv1 → hv2) was cancelled.');
    expect(ended.code).toBe(1);
  });
});
