import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Api } from './api';
import type { CommandContext, Values } from './commands';
import { EXIT } from './errors';
import { EVACUATION_COMMANDS } from './evacuation';
import type { EvacuationPlan, EvacuationView } from './evacuation-format';

/**
 * The evacuate command's flow over a scripted stand-in for the tRPC client: which procedures it calls with which
 * ids, what it prints while following, and its exit code. A unit test of the command's own logic; the real
 * server answers it in e2e/cli.spec.ts.
 */

const HOSTS = [
  { id: 'h1', alias: 'hv1' },
  { id: 'h2', alias: 'hv2' },
  { id: 'h3', alias: 'hv3' },
];

type Call = { procedure: string; input: unknown };

function planFor(overrides: { vmUuid: string; destinationHostId: string | null }[]): EvacuationPlan {
  const pinned = new Map(overrides.map((entry) => [entry.vmUuid, entry.destinationHostId]));
  const item = (vmName: string, destination: { id: string; alias: string } | null) => {
    const vmUuid = `u-${vmName}`;
    const isExcluded = pinned.has(vmUuid) && pinned.get(vmUuid) === null;
    const chosen = HOSTS.find((host) => host.id === pinned.get(vmUuid));
    return {
      vmName,
      vmUuid,
      vmState: 'running',
      sourceHostId: 'h1',
      sourceAlias: 'hv1',
      kind: isExcluded ? ('excluded' as const) : destination ? ('move' as const) : ('unmovable' as const),
      destination: isExcluded ? null : (chosen ?? destination),
      storage: 'copy-all' as const,
      reasons: isExcluded ? ['left on the host by the admin'] : [chosen ? 'chosen by the admin' : 'most free memory'],
      rejected: [],
      alternatives: [],
      concurrency: null,
    };
  };
  return {
    kind: 'evacuate',
    host: { id: 'h1', alias: 'hv1', inMaintenance: false },
    candidates: [HOSTS[1], HOSTS[2]] as { id: string; alias: string }[],
    fromEvacuationId: null,
    items: [item('vm1', { id: 'h2', alias: 'hv2' }), item('vm2', { id: 'h2', alias: 'hv2' })],
  };
}

function view(state: string, rows: [string, string, string | null][]): EvacuationView {
  return {
    id: 'e1',
    kind: 'evacuate',
    hostId: 'h1',
    hostAlias: 'hv1',
    state,
    actor: 'alice',
    createdAt: new Date('2026-12-02T20:00:00.000Z'),
    endedAt: null,
    percent: state === 'finished' ? 100 : 10,
    counts: { total: rows.length, moving: rows.length, succeeded: 0, failed: 0, running: 0, queued: 0, pending: 0 },
    items: rows.map(([vmName, itemState, error]) => ({
      id: `i-${vmName}`,
      vmName,
      vmUuid: `u-${vmName}`,
      sourceAlias: 'hv1',
      destinationAlias: 'hv2',
      storage: 'copy-all',
      state: itemState,
      reasons: [],
      error,
      attempts: [],
      job: itemState === 'submitted' ? { id: `j-${vmName}`, state: 'running', percent: 10, waitingFor: null } : null,
    })),
  };
}

/** Runs `ferry evacuate` with these option values against views served in order by `evacuation.get`. */
async function evacuate(values: Values, views: EvacuationView[] = []) {
  const calls: Call[] = [];
  const record = <T>(procedure: string, answer: (input: never) => T) => ({
    query: (input: never) => (calls.push({ procedure, input }), Promise.resolve(answer(input))),
    mutate: (input: never) => (calls.push({ procedure, input }), Promise.resolve(answer(input))),
  });
  const api = {
    trpc: {
      host: { list: record('host.list', () => HOSTS) },
      evacuation: {
        plan: record('evacuation.plan', (input: { overrides: [] }) => planFor(input.overrides)),
        start: record('evacuation.start', () => ({ id: 'e1' })),
        get: record('evacuation.get', () => views.shift()),
      },
    },
  } as unknown as Api;
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  err.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const stdin = new PassThrough() as unknown as NodeJS.ReadStream;
  const ctx: CommandContext = {
    values,
    positionals: ['hv1'],
    isJson: values.json === true,
    io: { out: out as unknown as NodeJS.WriteStream, err: err as unknown as NodeJS.WriteStream, stdin, isJson: false },
    api: () => Promise.resolve(api),
  };
  const code = await (EVACUATION_COMMANDS.evacuate as { run: (c: CommandContext) => Promise<number> }).run(ctx);
  return { code, calls, stdout, stderr };
}

describe('ferry evacuate', () => {
  it('sends --exclude and --to as UUIDs and host ids, starts, follows, and exits 0 when all moved', async () => {
    const run = await evacuate({ yes: true, exclude: ['vm2'], to: ['vm1=hv3'] }, [
      view('running', [['vm1', 'submitted', null]]),
      view('finished', [['vm1', 'succeeded', null]]),
    ]);
    const overrides = [
      { vmUuid: 'u-vm2', destinationHostId: null },
      { vmUuid: 'u-vm1', destinationHostId: 'h3' },
    ];
    expect(run.calls.map((call) => call.procedure)).toEqual([
      'host.list',
      'evacuation.plan',
      'evacuation.plan',
      'evacuation.start',
      'evacuation.get',
      'evacuation.get',
    ]);
    expect(run.calls[2]?.input).toEqual({ hostId: 'h1', overrides });
    expect(run.calls[3]?.input).toEqual({ hostId: 'h1', overrides });
    expect(run.stdout).toMatch(/^Plan: evacuate hv1: 1 of 2 VMs move, 1 stays\.$/m);
    expect(run.stdout).toMatch(/^vm1 +hv1 +hv3 +chosen by the admin$/m);
    expect(run.stdout).toContain('Started evacuation e1 (Ctrl-C stops following; it carries on).');
    expect(run.stdout).toMatch(/^\d\d:\d\d:\d\d vm1 hv1 → hv2 running$/m);
    expect(run.stdout).toMatch(/^\d\d:\d\d:\d\d vm1 hv1 → hv2 succeeded$/m);
    expect(run.stdout).toMatch(/Evacuation of hv1 finished: 1 of 1 moved\.\n$/);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(EXIT.ok);
  }, 10_000);

  it('exits 1 with each failure’s cause on stderr', async () => {
    const run = await evacuate({ yes: true }, [
      view('finished', [
        ['vm1', 'succeeded', null],
        ['vm2', 'failed', 'To hv2: The guest was shut down during the migration.'],
      ]),
    ]);
    expect(run.code).toBe(EXIT.failed);
    expect(run.stdout).toContain('Evacuation of hv1 finished: 1 of 2 moved, 1 failed.');
    expect(run.stderr).toBe('vm2 (hv1 → hv2) failed: To hv2: The guest was shut down during the migration.\n');
  });

  it('--plan prints the plan and starts nothing; --detach starts and returns the id without following', async () => {
    const planned = await evacuate({ plan: true });
    expect(planned.code).toBe(EXIT.ok);
    expect(planned.calls.map((call) => call.procedure)).toEqual(['host.list', 'evacuation.plan']);

    const detached = await evacuate({ yes: true, detach: true });
    expect(detached.code).toBe(EXIT.ok);
    expect(detached.calls.map((call) => call.procedure)).toEqual(['host.list', 'evacuation.plan', 'evacuation.start']);
    expect(detached.stdout).toMatch(/Started evacuation e1; follow it with: ferry evacuation e1 --follow\n$/);
  });

  it('starts nothing when no VM can move', async () => {
    const run = await evacuate({ yes: true, exclude: ['vm1', 'vm2'] });
    expect(run.code).toBe(EXIT.failed);
    expect(run.calls.some((call) => call.procedure === 'evacuation.start')).toBe(false);
    expect(run.stderr).toBe('Nothing was started: no VM can move.\n');
  });

  it('--json prints one document with the plan, the id and the ended evacuation', async () => {
    const run = await evacuate({ yes: true, json: true }, [
      view('finished', [
        ['vm1', 'succeeded', null],
        ['vm2', 'succeeded', null],
      ]),
    ]);
    expect(run.code).toBe(EXIT.ok);
    const document = JSON.parse(run.stdout) as { started: boolean; id: string; evacuation: { state: string } };
    expect(document).toMatchObject({ started: true, id: 'e1', evacuation: { state: 'finished' } });
  });
});
