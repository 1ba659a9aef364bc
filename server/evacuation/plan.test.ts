import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Executor } from '../hypervisor/executor';
import { createLocalExecutor } from '../hypervisor/local-executor';
import { createTestDb, type TestDb } from '../testing/test-db';
import { forgetPlanFacts, PLAN_FACTS_REUSE_MS, planEvacuation } from './plan';
import { testGuest, testNode } from './test-hosts';

/**
 * When a plan asks the hosts and when it places the VMs again over the facts it just gathered: real virsh on
 * made-up test-driver hosts, real SQLite, every virsh command counted.
 */

const guest = (name: string, n: number) => testGuest(name, `5e000000-0000-4000-8000-00000000010${n}`);
const node = (volumes: string[], ...domains: string[]) => testNode(16 * 2 ** 20, volumes, ...domains);

let testDb: TestDb;
let dir: string;
let commands = 0;
const hostIds: Record<string, string> = {};
const executors = {
  get(host: { uri: string }): Executor {
    const inner = createLocalExecutor({ uri: host.uri, defaultTimeoutMs: 20_000 });
    return {
      description: inner.description,
      run: (args, options) => {
        commands++;
        return inner.run(args, options);
      },
      close: () => inner.close(),
    };
  },
};
const deps = () => ({ db: testDb.db, executors });

beforeAll(async () => {
  testDb = createTestDb();
  dir = await mkdtemp(path.join(tmpdir(), 'ferry-evac-plan-'));
  const files = { src: node([], guest('p1', 1), guest('p2', 2)), dst: node(['p1', 'p2']) };
  for (const [alias, xml] of Object.entries(files)) {
    await writeFile(path.join(dir, `${alias}.xml`), xml);
    const uri = `test://${path.join(dir, `${alias}.xml`)}`;
    hostIds[alias] = (await testDb.db.host.create({ data: { alias, uri, displayUri: uri, displayName: alias } })).id;
  }
});

afterAll(async () => {
  await testDb.cleanup();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  forgetPlanFacts(hostIds.src as string);
  commands = 0;
});

/** A plan of src, and how many virsh commands it ran. */
async function plan(options: Omit<Parameters<typeof planEvacuation>[1], 'hostId'> = {}) {
  const before = commands;
  const result = await planEvacuation(deps(), { hostId: hostIds.src as string, ...options });
  return { result, asked: commands - before };
}

const kinds = (result: Awaited<ReturnType<typeof planEvacuation>>) =>
  Object.fromEntries(result.items.map((item) => [item.vmName, `${item.kind} ${item.destination?.alias ?? '-'}`]));

describe('planEvacuation and the facts it gathered', () => {
  it('asks the hosts for a plan opened afresh, every time', async () => {
    const first = await plan();
    expect(first.asked).toBeGreaterThan(0);
    expect(kinds(first.result)).toEqual({ p1: 'move dst', p2: 'move dst' });
    expect((await plan()).asked).toBe(first.asked);
  });

  it('places again over young facts while the admin edits the plan and when Start asks for them', async () => {
    await plan();
    const edited = await plan({
      overrides: [{ vmUuid: '5e000000-0000-4000-8000-000000000101', destinationHostId: null }],
    });
    expect(edited.asked).toBe(0);
    expect(kinds(edited.result)).toEqual({ p1: 'excluded -', p2: 'move dst' });
    const started = await plan({ reuseRecentFacts: true });
    expect(started.asked).toBe(0);
    expect(kinds(started.result)).toEqual({ p1: 'move dst', p2: 'move dst' });
  });

  it('asks again once the facts are older than PLAN_FACTS_REUSE_MS', async () => {
    const at = Date.now();
    await plan({ now: () => at });
    expect((await plan({ reuseRecentFacts: true, now: () => at + PLAN_FACTS_REUSE_MS })).asked).toBe(0);
    expect((await plan({ reuseRecentFacts: true, now: () => at + PLAN_FACTS_REUSE_MS + 1 })).asked).toBeGreaterThan(0);
  });

  it('asks again when a host row it placed over changed, or once the facts were spent', async () => {
    await plan();
    await testDb.db.host.update({ where: { id: hostIds.dst as string }, data: { inMaintenance: true } });
    const changed = await plan({ reuseRecentFacts: true });
    expect(changed.asked).toBeGreaterThan(0);
    expect(kinds(changed.result)).toEqual({ p1: 'unmovable -', p2: 'unmovable -' });
    await testDb.db.host.update({ where: { id: hostIds.dst as string }, data: { inMaintenance: false } });
    await plan();
    forgetPlanFacts(hostIds.src as string);
    expect((await plan({ reuseRecentFacts: true })).asked).toBeGreaterThan(0);
  });
});
