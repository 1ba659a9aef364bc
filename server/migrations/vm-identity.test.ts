import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../testing/test-db';
import { createInProcessEventBus } from '../events/bus';
import { VirshError, type Executor } from '../hypervisor/executor';
import { createLocalExecutor } from '../hypervisor/local-executor';
import { toDomainUuid } from '../libvirt/domain-ref';
import { migrationOptionsSchema } from '../libvirt/migration/options';
import { renderTestHostXml, testHostUri, type TestVm, type TestVmState } from '../testing/test-host-xml';
import { listMigrationEvents } from './events';
import { openJobContext } from './job-context';
import { loadJob } from './job/load';
import { runMigrate } from './job/migrate';
import { locateAfterFailure } from './job/verify';
import { runPreflight } from './preflight';
import { startMigration } from './service';

/**
 * virsh looks a domain argument up as an ID first, then as a UUID, then as a name. On this test-driver host
 * (real virsh, `test:///<file>`), `alpha` runs paused with ID 1 next to a running VM named "1", and a shut-off VM
 * is named like `beta`'s UUID. Every read and the migrate itself must reach the VM that was asked for.
 */

const hasVirsh = spawnSync('virsh', ['--version'], { encoding: 'utf8' }).status === 0;
const MiB = 2 ** 20;

function vm(name: string, uuid: string, state: TestVmState, memoryMiB: number): TestVm {
  const disk = `/var/lib/libvirt/images/identity-${memoryMiB}.qcow2`;
  return {
    name,
    uuid,
    state,
    vcpus: 1,
    memoryBytes: memoryMiB * MiB,
    maxMemoryBytes: memoryMiB * MiB,
    disks: [{ type: 'file', device: 'disk', target: 'vda', path: disk }],
  };
}

const ALPHA = vm('alpha', '1d000000-0000-4000-8000-00000000000a', 'paused', 256);
const ONE = vm('1', '1d000000-0000-4000-8000-000000000001', 'running', 512);
const BETA = vm('beta', '1d000000-0000-4000-8000-00000000000b', 'running', 1024);
const NAMED_LIKE_BETA = vm(BETA.uuid, '1d000000-0000-4000-8000-0000000000bb', 'shutoff', 2048);

const dir = mkdtempSync(path.join(tmpdir(), 'ferry-identity-'));
const file = path.join(dir, 'identity.xml');
writeFileSync(
  file,
  renderTestHostXml({
    hostName: 'identity',
    hostUuid: '1d000000-0000-4000-8000-0000000000ff',
    cpuModel: 'Skylake-Server-IBRS',
    cpus: 4,
    mhz: 2100,
    memoryBytes: 16 * 1024 * MiB,
    vms: [ALPHA, ONE, BETA, NAMED_LIKE_BETA],
  }),
);
const SOURCE_URI = testHostUri(file);
const DESTINATION_URI = 'test:///default';

/** Every argv the executor ran, for checking which domain each command named. */
function recording(executor: Executor, calls: string[][]): Executor {
  return {
    description: executor.description,
    close: () => executor.close(),
    async run(args, options) {
      calls.push([...args]);
      if (args[0] !== 'migrate') return executor.run(args, options);
      // virsh 9.0's migrate sometimes never exits after the test driver refuses (see argv.integration.test.ts):
      // a short limit per attempt, and another attempt, until one exits.
      for (let attempt = 0; attempt < 12; attempt += 1) {
        try {
          return await executor.run(args, { ...options, timeoutMs: 2_500 });
        } catch (error) {
          if (!(error instanceof VirshError && error.kind === 'timeout')) throw error;
        }
      }
      throw new Error('virsh migrate did not exit in 12 attempts');
    },
  };
}

function domainArgs(calls: string[][]): string[] {
  return calls.flatMap((call) => (call.includes('--domain') ? [call[call.indexOf('--domain') + 1] as string] : []));
}

let testDb: TestDb;
const calls: string[][] = [];
const src = recording(createLocalExecutor({ uri: SOURCE_URI }), calls);
const dst = recording(createLocalExecutor({ uri: DESTINATION_URI }), calls);
let sourceHostId = '';
let destinationHostId = '';

beforeAll(async () => {
  testDb = createTestDb();
  sourceHostId = (
    await testDb.db.host.create({
      data: { alias: 'identity', uri: SOURCE_URI, displayUri: SOURCE_URI, displayName: 'identity' },
    })
  ).id;
  destinationHostId = (
    await testDb.db.host.create({
      data: { alias: 'demo', uri: DESTINATION_URI, displayUri: DESTINATION_URI, displayName: 'demo' },
    })
  ).id;
});

afterAll(async () => {
  await testDb.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const deps = () => ({
  db: testDb.db,
  bus: createInProcessEventBus(),
  executors: { get: (host: { id: string }) => (host.id === sourceHostId ? src : dst) },
  pollIntervalMs: 50,
});
const host = (id: string, alias: string, uri: string, executor: Executor) => ({
  id,
  alias,
  uri,
  hostUuid: null,
  executor,
});
const shared = migrationOptionsSchema.parse({ storage: 'shared' });

describe.skipIf(!hasVirsh)('a VM is acted on by its own UUID, whatever it is called', () => {
  it('real virsh: a bare "1" is the VM with ID 1, a bare UUID-looking name is the VM with that UUID', () => {
    const virsh = (...args: string[]) =>
      spawnSync('virsh', ['-c', SOURCE_URI, ...args], { encoding: 'utf8' }).stdout.trim();
    expect(virsh('domname', '--domain', '1')).toBe('alpha');
    expect(virsh('domstate', '--domain', '1')).toBe('paused');
    expect(virsh('domname', '--domain', NAMED_LIKE_BETA.name)).toBe('beta');
    expect(virsh('domname', '--domain', ONE.uuid)).toBe('1');
    expect(virsh('domname', '--domain', NAMED_LIKE_BETA.uuid)).toBe(BETA.uuid);
  });

  it('preflight inspects the VM named "1", not the one running with ID 1', async () => {
    calls.length = 0;
    const report = await runPreflight({
      db: testDb.db,
      vm: { name: '1', uuid: null },
      source: host(sourceHostId, 'identity', SOURCE_URI, src),
      destination: host(destinationHostId, 'demo', DESTINATION_URI, dst),
      migration: shared,
    });
    expect(report.facts.vm).toEqual({ name: '1', uuid: ONE.uuid });
    expect(report.facts.domain).toMatchObject({ uuid: ONE.uuid, memoryBytes: 512 * MiB });
    expect(report.checks.find((c) => c.id === 'vm-state')?.reason).toBe('"1" is running.');
    expect(new Set(domainArgs(calls))).toEqual(new Set([ONE.uuid]));
  });

  it('preflight inspects the VM named like beta’s UUID, not beta', async () => {
    calls.length = 0;
    const report = await runPreflight({
      db: testDb.db,
      vm: { name: NAMED_LIKE_BETA.name, uuid: NAMED_LIKE_BETA.uuid },
      source: host(sourceHostId, 'identity', SOURCE_URI, src),
      destination: host(destinationHostId, 'demo', DESTINATION_URI, dst),
      migration: shared,
    });
    expect(report.facts.domain).toMatchObject({ uuid: NAMED_LIKE_BETA.uuid, memoryBytes: 2048 * MiB });
    // beta runs; the VM asked for is shut off, so a live migration of it is refused for the right reason.
    expect(report.checks.find((c) => c.id === 'vm-state')).toMatchObject({ status: 'fail' });
    expect(report.checks.find((c) => c.id === 'vm-state')?.reason).toContain('is shut off');
    expect(new Set(domainArgs(calls))).toEqual(new Set([NAMED_LIKE_BETA.uuid]));
  });

  it('refuses a request whose name and UUID belong to different VMs', async () => {
    await expect(
      startMigration(
        deps(),
        { actor: 'bob', clientAddress: null },
        {
          vmName: '1',
          vmUuid: ALPHA.uuid,
          sourceHostId,
          destinationHostId,
          options: shared,
        },
      ),
    ).rejects.toThrow(/UUID 1d000000-0000-4000-8000-00000000000a is named "alpha", not "1"/);
  });

  it('starting "1" records its own UUID; the job ends at preflight (the test driver cannot migrate)', async () => {
    const { id } = await startMigration(
      deps(),
      { actor: 'bob', clientAddress: null },
      {
        vmName: '1',
        sourceHostId,
        destinationHostId,
        options: shared,
      },
    );
    let row = await testDb.db.migration.findUniqueOrThrow({ where: { id } });
    for (let i = 0; i < 200 && !['failed', 'succeeded', 'cancelled'].includes(row.state); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      row = await testDb.db.migration.findUniqueOrThrow({ where: { id } });
    }
    expect(row).toMatchObject({ vmUuid: ONE.uuid, state: 'failed', errorCode: 'preflight' });
    const checklist = (await listMigrationEvents({ db: testDb.db, migrationId: id })).find(
      (e) => e.type === 'checklist',
    );
    const checks = checklist?.type === 'checklist' ? checklist.checks : [];
    expect(checks.find((c) => c.id === 'vm-state')?.reason).toBe('"1" is running.');
    expect(checks.find((c) => c.id === 'driver-migrates')).toMatchObject({ status: 'fail' });
  });

  it.each([
    ['"1"', ONE, 'running'],
    ['named like beta’s UUID', NAMED_LIKE_BETA, 'shut off'],
  ] as const)(
    'virsh migrate and the look-around afterwards name the VM %s by its UUID',
    async (_label, target, state) => {
      const migration = await testDb.db.migration.create({
        data: {
          vmName: target.name,
          vmUuid: target.uuid,
          sourceHostId,
          destinationHostId,
          sourceAlias: 'identity',
          sourceUri: SOURCE_URI,
          destinationAlias: 'demo',
          destinationUri: DESTINATION_URI,
          options: JSON.stringify(shared),
          actor: 'bob',
          state: 'running',
        },
      });
      const loaded = await loadJob(deps(), migration.id);
      if (!loaded.ok) throw new Error('the job did not load');
      const ctx = openJobContext({ ...deps(), migrationId: migration.id, actor: 'bob', cancelled: false });
      calls.length = 0;
      const domain = { name: target.name, uuid: toDomainUuid(target.uuid) };
      try {
        const run = await runMigrate(ctx, loaded.job, domain, { pollIntervalMs: 50 });
        // virsh found the domain (by UUID) and handed it to libvirt, which refused: the test driver cannot migrate.
        expect(run.outcome.errorMessage).toContain('virDomainMigrate3');
        const migrate = calls.find((call) => call[0] === 'migrate') ?? [];
        expect(migrate[migrate.indexOf('--domain') + 1]).toBe(target.uuid);
        expect(await locateAfterFailure(loaded.job, domain)).toEqual({ sourceState: state, destinationState: null });
        expect(new Set(domainArgs(calls))).toEqual(new Set([target.uuid]));
      } finally {
        await ctx.close();
      }
    },
  );
});
