import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalExecutor } from '../hypervisor/local-executor';
import { createSshExecutor } from '../hypervisor/ssh-executor';
import { startTestSshd, type TestSshd } from '../testing/sshd';
import { createTestDb, type TestDb } from '../testing/test-db';
import { askHost, gatherHosts, gatherVms } from './facts';
import { placeVms } from './placement';

/**
 * Fact gathering against real virsh and the libvirt test driver: test:///default as the host being drained,
 * a second registration of it (its VM "test" clashes by name), a made-up host from a node XML with a pool at the
 * disk's directory, and a host whose file does not exist (does not answer).
 */

const BIG_HOST_XML = `<node>
  <cpu><mhz>2000</mhz><model>i686</model><nodes>1</nodes><sockets>1</sockets><cores>4</cores><threads>1</threads></cpu>
  <memory>16777216</memory>
  <pool type='dir'>
    <name>guest</name>
    <capacity>107374182400</capacity><allocation>0</allocation><available>107374182400</available>
    <target><path>/guest</path></target>
  </pool>
  <domain type='test'><name>other</name><uuid>5e000000-0000-4000-8000-0000000000b1</uuid><vcpu>3</vcpu><memory>1048576</memory><os><type>hvm</type></os></domain>
</node>
`;

let testDb: TestDb;
let dir: string;
let bigUri: string;

const executors = {
  get: (host: { uri: string }) => createLocalExecutor({ uri: host.uri, defaultTimeoutMs: 20_000 }),
};

function row(id: string, uri: string) {
  return {
    id,
    alias: id,
    uri,
    executorKind: 'local',
    pinnedFingerprint: null,
    inMaintenance: false,
    maxIncomingMigrations: 2,
  };
}

beforeAll(async () => {
  testDb = createTestDb();
  dir = await mkdtemp(path.join(tmpdir(), 'ferry-evac-facts-'));
  bigUri = `test://${path.join(dir, 'big.xml')}`;
  await writeFile(path.join(dir, 'big.xml'), BIG_HOST_XML);
});

afterAll(async () => {
  await testDb.cleanup();
  await rm(dir, { recursive: true, force: true });
});

describe('gathering placement facts with real virsh', () => {
  it('reads the VMs of the host being drained and the facts of every candidate, then places', async () => {
    const deps = { db: testDb.db, executors };
    const { source, vms } = await gatherVms(deps, row('demo', 'test:///default'));
    expect(source).toMatchObject({ id: 'demo', arch: 'i686' });
    expect(vms).toHaveLength(1);
    const [vm] = vms;
    expect(vm).toMatchObject({ name: 'test', state: 'running', vcpus: 2, blockers: [] });
    expect(vm?.memoryBytes).toBe(8 * 2 ** 30);
    expect(vm?.disks).toEqual([{ target: 'vda', path: '/guest/diskimage1', capacityBytes: expect.any(Number) }]);
    expect(vm?.disks[0]?.capacityBytes).toBeGreaterThan(0);

    const hosts = await gatherHosts(
      deps,
      [row('twin', 'test:///default'), row('big', bigUri), row('gone', `test://${path.join(dir, 'missing.xml')}`)],
      vms,
    );
    const [twin, big, gone] = hosts;
    expect(twin).toMatchObject({ error: null, cpus: 16, domainNames: ['test'], freeMemoryBytes: 6144 * 1024 });
    expect(big).toMatchObject({ error: null, cpus: 4, domainNames: ['other'], committedVcpus: 3 });
    // No NUMA cells: freecell says 0 KiB, so free memory is the node's 16 GiB less its running guest's 1 GiB.
    expect(big?.freeMemoryBytes).toBe(15 * 2 ** 30);
    expect(big?.pools).toEqual([{ name: 'guest', type: 'dir', targetPath: '/guest', availableBytes: 107374182400 }]);
    expect(big?.existingPaths).toEqual([]);
    expect(gone?.error).toEqual(expect.any(String));

    const [placement] = placeVms({ source, vms, hosts });
    expect(placement?.kind).toBe('unmovable');
    if (placement?.kind !== 'unmovable') return;
    expect(placement.rejected.map((r) => r.alias)).toEqual(['twin', 'big', 'gone']);
    expect(placement.rejected[0]?.reason).toBe('a domain named "test" is already defined there');
    // The test driver's disks are 1 TiB: more than the pool's 100 GiB.
    expect(placement.rejected[1]?.reason).toMatch(/^pool guest has 102400 MiB left for this plan; needs \d+ MiB$/);
    expect(placement.rejected[2]?.reason).toMatch(/^did not answer: /);
  });

  it('asks the candidates before the VMs are known (as a plan does while the source lists them), same facts', async () => {
    const deps = { db: testDb.db, executors };
    const candidates = [
      row('twin', 'test:///default'),
      row('big', bigUri),
      row('gone', `test://${path.join(dir, 'missing.xml')}`),
    ];
    // Started first; the one that fails must not reject on its own (nothing awaits it yet).
    const asked = candidates.map((candidate) => askHost(deps, candidate));
    const { vms } = await gatherVms(deps, row('demo', 'test:///default'));
    const early = await gatherHosts(deps, candidates, vms, asked);
    expect(early).toEqual(await gatherHosts(deps, candidates, vms));
    expect(early.map((host) => host.error === null)).toEqual([true, true, false]);
    expect(await asked[2]).toMatchObject({ ok: false });
  });

  it('gathers only the VMs asked for (a bring-back names them by UUID)', async () => {
    const deps = { db: testDb.db, executors };
    const { vms } = await gatherVms(deps, row('demo', 'test:///default'), new Set(['no-such-uuid']));
    expect(vms).toEqual([]);
  });

  it('names a migration Ferry runs of a VM as the reason it cannot move, until that migration ends', async () => {
    const deps = { db: testDb.db, executors };
    const job = await testDb.db.migration.create({
      data: {
        vmName: 'test',
        vmUuid: '6695eb01-f6a4-8304-79aa-97f2502e193f',
        sourceAlias: 'demo',
        sourceUri: 'test:///default',
        destinationAlias: 'big',
        destinationUri: bigUri,
        options: '{}',
        actor: 'bob',
        state: 'running',
      },
    });
    try {
      const { source, vms } = await gatherVms(deps, row('demo', 'test:///default'));
      expect(vms.map((vm) => [vm.name, vm.blockers])).toEqual([
        ['test', ['Ferry is migrating it to big (running): wait for it to end, or cancel it.']],
      ]);
      const hosts = await gatherHosts(deps, [row('big', bigUri)], vms);
      const [placement] = placeVms({ source, vms, hosts });
      expect(placement).toMatchObject({ kind: 'unmovable', reasons: [vms[0]?.blockers[0]] });

      await testDb.db.migration.update({ where: { id: job.id }, data: { state: 'succeeded' } });
      const after = await gatherVms(deps, row('demo', 'test:///default'));
      expect(after.vms.map((vm) => vm.blockers)).toEqual([[]]);
    } finally {
      await testDb.db.migration.delete({ where: { id: job.id } });
    }
  });
});

describe('gathering over the ssh executor', () => {
  let sshd: TestSshd;
  let countDir: string;
  beforeAll(async () => {
    sshd = await startTestSshd();
    // A remote "virsh" that counts its starts, then is the real one (the sshd's user is not root).
    countDir = await mkdtemp(path.join(tmpdir(), 'ferry-evac-ssh-'));
    await chmod(countDir, 0o755);
  });
  afterAll(async () => {
    await sshd?.stop();
    await rm(countDir, { recursive: true, force: true });
  });

  it('asks a host of six VMs with a few remote virsh, not one per command, and gets what local virsh gets', async () => {
    const names = ['web', 'db', `a b'c"d;$(x)`, '--help', 'cache', 'queue'];
    const domains = names.map(
      (name, index) =>
        `<domain type='test'><name>${name.replace(/&/g, '&amp;').replace(/'/g, '&apos;').replace(/"/g, '&quot;')}</name><uuid>5e000000-0000-4000-8000-0000000000c${index}</uuid><vcpu>1</vcpu><memory>524288</memory><os><type>hvm</type></os></domain>`,
    );
    const hostFile = path.join(countDir, 'six.xml');
    await writeFile(hostFile, `<node>\n${domains.join('\n')}\n</node>\n`, { mode: 0o644 });
    const hostUri = `test://${hostFile}`;
    const counter = path.join(countDir, 'starts');
    const wrapper = path.join(countDir, 'virsh');
    await writeFile(counter, '', { mode: 0o666 });
    await chmod(counter, 0o666);
    await writeFile(wrapper, `#!/bin/sh\necho started >> '${counter}'\nexec virsh "$@"\n`, { mode: 0o755 });
    const executor = createSshExecutor({
      ...sshd.login,
      remoteUri: hostUri,
      remoteVirshPath: wrapper,
    });
    try {
      const overSsh = await gatherVms({ db: testDb.db, executors: { get: () => executor } }, row('six', 'x'));
      const starts = (await readFile(counter, 'utf8')).split('\n').filter(Boolean).length;
      // One command each would be 6 × 3 (XML, state, job) and the inventory's own; asked in batches: the inventory's
      // bulk read and its per-domain details, capabilities, and every VM's three reads together.
      expect(overSsh.vms.map((vm) => vm.name)).toEqual(names);
      expect(starts).toBeLessThanOrEqual(4);

      const local = await gatherVms({ db: testDb.db, executors }, row('six', hostUri));
      expect(overSsh.vms).toEqual(local.vms);
    } finally {
      await executor.close();
    }
  });
});
