import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Executor } from '../hypervisor/executor';
import { createSessionExecutor } from '../hypervisor/session-executor';
import { migrationOptionsSchema } from '../libvirt/migration/options';
import { createTestDb, type TestDb } from '../testing/test-db';
import { renderTestHostXml, testHostUri, type TestVm } from '../testing/test-host-xml';
import { runPreflight } from './preflight';

/**
 * How many round trips a job's preflight costs each host, on real virsh (test-driver hosts, each read through the
 * session executor that batches): the first batch per host, then one more for the storage questions, with the
 * destination's vol-info in the same batch as (and after) its pools' refresh. Capabilities are asked once per
 * executor and cached.
 */

const hasVirsh = spawnSync('virsh', ['--version'], { encoding: 'utf8' }).status === 0;
const MiB = 2 ** 20;
const VM: TestVm = {
  name: 'rounds',
  uuid: '1d000000-0000-4000-8000-0000000000c1',
  state: 'running',
  vcpus: 1,
  memoryBytes: 256 * MiB,
  maxMemoryBytes: 256 * MiB,
  disks: [{ type: 'file', device: 'disk', target: 'vda', path: '/default-pool/rounds.qcow2' }],
};

const dir = mkdtempSync(path.join(tmpdir(), 'ferry-rounds-'));
const file = path.join(dir, 'rounds.xml');
writeFileSync(
  file,
  renderTestHostXml({
    hostName: 'rounds',
    hostUuid: '1d000000-0000-4000-8000-0000000000cf',
    cpuModel: 'Skylake-Server-IBRS',
    cpus: 4,
    mhz: 2100,
    memoryBytes: 16 * 1024 * MiB,
    vms: [VM],
  }),
);
const SOURCE_URI = testHostUri(file);
const DESTINATION_URI = 'test:///default';

/** One entry per round trip: a batch's commands, or a lone command. */
type Trip = string[][];

function counting(executor: Executor & { runBatch?: unknown }, trips: Trip[]): Executor {
  const inner = executor as Executor & {
    runBatch: (commands: ReadonlyArray<readonly string[]>, options?: object) => Promise<unknown>;
  };
  return Object.assign(
    {
      description: executor.description,
      close: () => executor.close(),
      run: (args: readonly string[], options?: object) => {
        trips.push([[...args]]);
        return executor.run(args, options);
      },
    },
    {
      runBatch: (commands: ReadonlyArray<readonly string[]>, options?: object) => {
        trips.push(commands.map((args) => [...args]));
        return inner.runBatch(commands, options);
      },
    },
  );
}

let testDb: TestDb;
const sourceTrips: Trip[] = [];
const destinationTrips: Trip[] = [];
const sourceSession = createSessionExecutor({ uri: SOURCE_URI });
const destinationSession = createSessionExecutor({ uri: DESTINATION_URI });
const src = counting(sourceSession, sourceTrips);
const dst = counting(destinationSession, destinationTrips);

beforeAll(() => {
  testDb = createTestDb();
});

afterAll(async () => {
  await sourceSession.close();
  await destinationSession.close();
  await testDb.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const host = (id: string, alias: string, uri: string, executor: Executor) => ({
  id,
  alias,
  uri,
  hostUuid: null,
  executor,
});

describe.skipIf(!hasVirsh)('a job’s preflight, counted in round trips per host', () => {
  it('asks each host in two rounds (capabilities beside the first), the vol-info riding with the pools’ refresh', async () => {
    const report = await runPreflight({
      db: testDb.db,
      vm: { name: VM.name, uuid: VM.uuid },
      source: host('src', 'rounds', SOURCE_URI, src),
      destination: host('dst', 'demo', DESTINATION_URI, dst),
      migration: migrationOptionsSchema.parse({ storage: 'copy-all' }),
    });
    // The checks ran to the storage check, on real answers.
    expect(report.facts.domain).toMatchObject({ uuid: VM.uuid, memoryBytes: 256 * MiB });
    expect(report.facts.disks).toEqual([
      expect.objectContaining({ path: VM.disks[0]?.path, pool: 'default-pool', existsOnDestination: false }),
    ]);

    // Capabilities go out beside the first batch; the storage questions are the second round.
    const names = (trips: Trip[]) => trips.map((trip) => trip.map((args) => args[0]).join(' ')).sort();
    expect(names(sourceTrips)).toEqual(['capabilities', 'domblkinfo', 'list dumpxml domstate domjobinfo']);
    expect(names(destinationTrips)).toEqual([
      'capabilities',
      'list freecell pool-list',
      'pool-refresh pool-dumpxml vol-info',
    ]);
    const storage = destinationTrips.find((trip) => trip[0]?.[0] === 'pool-refresh');
    expect(storage?.[2]).toEqual(['vol-info', '--', VM.disks[0]?.path]);
  });
});
