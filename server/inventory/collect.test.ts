import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirshError, type Executor } from '../hypervisor/executor';
import { createLocalExecutor } from '../hypervisor/local-executor';
import { createSessionExecutor } from '../hypervisor/session-executor';
import { parseDominfo } from '../libvirt/parsers/dominfo';
import { ParseError } from '../libvirt/parsers/parse-error';
import {
  HOSTILE_VM_NAMES,
  planTestHost,
  renderTestHostXml,
  testHostUri,
  writeTestHost,
  type TestHostOptions,
} from '../testing/test-host-xml';
import {
  collectHostInfo,
  collectHostInventory,
  collectOneDomain,
  collectVms,
  collectVmsSnapshot,
  createVmDetailCache,
} from './collect';
import { recordingExecutor, replayExecutor } from './test-support';
import { dominfoArgs } from './virsh-commands';

/** What the test driver answers for every disk, whatever the XML says (fixed in its source). */
const TEST_DRIVER_BLOCK = { capacityBytes: 1099506450432, allocationBytes: 1099511627776 };

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ferry-inventory-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const local = (uri: string) => createLocalExecutor({ uri, defaultTimeoutMs: 20_000 });

describe('collectHostInventory on test:///default', () => {
  it('reads the host and its one VM', async () => {
    const inventory = await collectHostInventory({ executor: local('test:///default') });
    expect(inventory.host).toMatchObject({
      libvirtVersion: '9.0.0',
      hypervisorVersion: 'TEST 0.0.2',
      hostUuid: '11111111-2222-3333-4444-555555555555',
      hostUuidSource: 'smbios',
      cpuModel: 'i686',
      arch: 'i686',
      cpus: 16,
      mhz: 1400,
      memoryBytes: 3145728 * 1024,
      vmCount: 1,
    });
    expect(inventory.host.hostname).toBeTruthy();
    expect(inventory.vms).toEqual([
      {
        name: 'test',
        uuid: '6695eb01-f6a4-8304-79aa-97f2502e193f',
        state: 'running',
        vcpus: 2,
        memoryBytes: 2097152 * 1024,
        maxMemoryBytes: 8388608 * 1024,
        disks: [{ target: 'vda', device: 'disk', type: 'file', path: '/guest/diskimage1', ...TEST_DRIVER_BLOCK }],
        detailsCollectedAt: inventory.collectedAt,
        problem: null,
      },
    ]);
    expect(inventory.vanished).toEqual([]);
  });
});

describe('collectVms on a generated 50-VM host with hostile names', () => {
  const options: TestHostOptions = {
    hostName: 'hv-fifty',
    vmCount: 50,
    seed: 11,
    hasHostileNames: true,
    hostUuid: '8d1f6c1e-1ab0-4c1b-9e00-0000000000aa',
  };
  const plan = planTestHost(options);
  let uri = '';
  beforeAll(async () => {
    uri = testHostUri(await writeTestHost({ dir, ...options }));
  });

  it('finds every VM with its exact state counts, vcpus, memory and disks', async () => {
    const vms = await collectVms({ executor: local(uri) });
    const counts: Record<string, number> = {};
    for (const vm of vms) counts[vm.state] = (counts[vm.state] ?? 0) + 1;
    expect(counts).toEqual({
      running: 27,
      shutoff: 11,
      paused: 4,
      blocked: 2,
      shutdown: 2,
      crashed: 2,
      pmsuspended: 2,
    });

    expect(vms).toHaveLength(50);
    for (const planned of plan.vms) {
      const vm = vms.find((candidate) => candidate.uuid === planned.uuid);
      expect(vm, planned.name).toBeDefined();
      expect(vm).toMatchObject({
        name: planned.name,
        state: planned.state,
        vcpus: planned.vcpus,
        memoryBytes: planned.memoryBytes,
        maxMemoryBytes: planned.maxMemoryBytes,
        problem: null,
      });
      expect(vm?.disks).toEqual(planned.disks.map((disk) => ({ ...disk, ...TEST_DRIVER_BLOCK })));
    }
  });

  it('gives the same cards through a long-lived session (pipelined batches), cold and warm', async () => {
    const withoutDates = (vms: Awaited<ReturnType<typeof collectVms>>) =>
      vms.map(({ detailsCollectedAt: _at, ...vm }) => vm);
    const expected = withoutDates(await collectVms({ executor: local(uri), cache: createVmDetailCache() }));
    const session = createSessionExecutor({ uri });
    try {
      const cache = createVmDetailCache();
      const cold = await collectVms({ executor: session, cache });
      expect(withoutDates(cold)).toEqual(expected);
      const warm = await collectVms({ executor: session, cache });
      expect(withoutDates(warm)).toEqual(expected);
    } finally {
      await session.close();
    }
  });

  it('brings every hostile name through intact', async () => {
    const names = (await collectVms({ executor: local(uri) })).map((vm) => vm.name);
    for (const name of HOSTILE_VM_NAMES) expect(names).toContain(name);
  });

  it('reads the host: node facts from the XML, host UUID from the computer device', async () => {
    const info = await collectHostInfo({ executor: local(uri) });
    expect(info).toMatchObject({
      hostUuid: plan.hostUuid,
      hostUuidSource: 'smbios',
      cpuModel: plan.cpuModel,
      cpus: plan.cpus,
      mhz: plan.mhz,
      memoryBytes: plan.memoryBytes,
      vmCount: 50,
    });
  });

  it('looks hostile names up as names with --domain, never as options', async () => {
    const executor = local(uri);
    for (const planned of plan.vms.slice(0, HOSTILE_VM_NAMES.length)) {
      if (/^\d+$/.test(planned.name)) continue;
      const info = parseDominfo((await executor.run(dominfoArgs(planned.name))).stdout);
      expect(info.uuid, planned.name).toBe(planned.uuid);
      expect(info.name).toBe(planned.name);
    }
    // Why the argv builders never pass a bare positional: virsh takes "--help" as its option…
    const bare = await executor.run(['dominfo', '--help']);
    expect(bare.stdout).toContain('SYNOPSIS');
    // …while "--" before positionals works too in virsh 9.0; --domain is used because it needs no position.
    const helpVm = plan.vms.find((vm) => vm.name === '--help');
    expect(parseDominfo((await executor.run(['dominfo', '--', '--help'])).stdout).uuid).toBe(helpVm?.uuid);
  });

  it('uses UUIDs because virsh resolves a number as a domain ID before a name', async () => {
    const named7 = plan.vms.find((vm) => vm.name === '7');
    expect(named7).toBeDefined();
    const executor = local(uri);
    const byName = parseDominfo((await executor.run(dominfoArgs('7'))).stdout);
    expect(byName.id).toBe(7);
    expect(byName.uuid).not.toBe(named7?.uuid);
    const byUuid = parseDominfo((await executor.run(dominfoArgs(named7?.uuid ?? ''))).stdout);
    expect(byUuid.name).toBe('7');
  });
});

describe('collectVms when a VM vanishes mid-refresh', () => {
  it('leaves the VM out, names it, and still returns the others', async () => {
    const options: TestHostOptions = { hostName: 'hv-vanish', vmCount: 6, seed: 5 };
    const plan = planTestHost(options);
    const file = await writeTestHost({ dir, ...options });
    const victim = plan.vms[2];
    if (victim === undefined) throw new Error('plan too small');
    // The test driver rereads its file on every connection, so rewriting it between domstats and the
    // per-domain commands is a real undefine as far as the next virsh is concerned.
    const { executor } = recordingExecutor(local(testHostUri(file)), {
      beforeRun: async (args) => {
        if (args[0] === 'dominfo' && args.at(-1) === victim.uuid) {
          await writeFile(file, renderTestHostXml({ ...plan, vms: plan.vms.filter((vm) => vm !== victim) }));
        }
      },
    });
    const snapshot = await collectVmsSnapshot({ executor });
    expect(snapshot.vanished).toEqual([{ uuid: victim.uuid, name: victim.name }]);
    expect(snapshot.vms.map((vm) => vm.uuid).sort()).toEqual(
      plan.vms
        .filter((vm) => vm !== victim)
        .map((vm) => vm.uuid)
        .sort(),
    );
  });
});

describe('collectVms failures that concern the whole host', () => {
  it('rejects with the VirshError when the host cannot be reached', async () => {
    const error = await collectVms({ executor: local(`test://${dir}/does-not-exist.xml`) }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(VirshError);
    expect((error as VirshError).stderr).toContain('failed to connect to the hypervisor');
  });

  it('rejects when the host goes away between the bulk call and the per-domain commands', async () => {
    const file = await writeTestHost({ dir, hostName: 'hv-gone', vmCount: 3, seed: 2 });
    const { executor } = recordingExecutor(local(testHostUri(file)), {
      beforeRun: async (args) => {
        if (args[0] === 'dominfo') await rm(file, { force: true });
      },
    });
    const error = await collectVms({ executor }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(VirshError);
    expect((error as VirshError).stderr).toContain('failed to connect to the hypervisor');
  });

  it('rejects when aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(collectVms({ executor: local('test:///default'), signal: controller.signal })).rejects.toMatchObject({
      kind: 'aborted',
    });
  });

  it('gives a clear ParseError for a name with a newline (only the test driver allows one)', async () => {
    const plan = planTestHost({ hostName: 'hv-newline', vmCount: 2, seed: 1 });
    const file = path.join(dir, 'hv-newline.xml');
    await writeFile(
      file,
      renderTestHostXml({ ...plan, vms: plan.vms.map((vm, i) => (i === 0 ? { ...vm, name: 'two\nlines' } : vm)) }),
    );
    const error = await collectVms({ executor: local(testHostUri(file)) }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ParseError);
    expect((error as ParseError).line).toBe('lines');
  });
});

describe('VmDetailCache on the test driver', () => {
  it('serves a warm refresh from two commands, and refetches a VM whose state changed', async () => {
    const options: TestHostOptions = { hostName: 'hv-cache', vmCount: 10, seed: 9 };
    const plan = planTestHost(options);
    const file = await writeTestHost({ dir, ...options });
    const { executor, runs } = recordingExecutor(local(testHostUri(file)));
    const cache = createVmDetailCache({ maxAgeMs: 60_000 });
    let nowMs = Date.parse('2026-11-26T12:00:00Z');
    const now = () => new Date(nowMs);

    const cold = await collectVms({ executor, cache, now });
    expect(runs).toHaveLength(2 + 3 * 10);

    runs.length = 0;
    nowMs += 5_000;
    const warm = await collectVms({ executor, cache, now });
    expect(runs.map((run) => run.args[0])).toEqual(['list', 'domstats']);
    expect(warm.map(({ detailsCollectedAt: _at, ...vm }) => vm)).toEqual(
      cold.map(({ detailsCollectedAt: _at, ...vm }) => vm),
    );
    expect(warm.every((vm) => vm.detailsCollectedAt.getTime() === nowMs - 5_000)).toBe(true);

    // Start a shut-off VM: its cached details no longer count.
    const stopped = plan.vms.find((vm) => vm.state === 'shutoff');
    if (stopped === undefined) throw new Error('plan has no shut-off VM');
    await writeFile(
      file,
      renderTestHostXml({ ...plan, vms: plan.vms.map((vm) => (vm === stopped ? { ...vm, state: 'running' } : vm)) }),
    );
    runs.length = 0;
    nowMs += 5_000;
    const afterStart = await collectVms({ executor, cache, now });
    expect(runs.slice(2).map((run) => run.args.at(-1))).toEqual([stopped.uuid, stopped.uuid, stopped.uuid]);
    expect(afterStart.find((vm) => vm.uuid === stopped.uuid)).toMatchObject({
      state: 'running',
      detailsCollectedAt: new Date(nowMs),
    });

    // Past maxAgeMs everything is read again.
    runs.length = 0;
    nowMs += 60_000;
    await collectVms({ executor, cache, now });
    expect(runs).toHaveLength(2 + 3 * 10);
  });
});

describe('collectVms without an explicit cache', () => {
  it('keeps one cache per executor, so a host whose executor is kept gets warm refreshes', async () => {
    const file = await writeTestHost({ dir, hostName: 'hv-default-cache', vmCount: 4, seed: 3 });
    const { executor, runs } = recordingExecutor(local(testHostUri(file)));
    const first = await collectVms({ executor });
    expect(runs).toHaveLength(2 + 3 * 4);
    runs.length = 0;
    expect(await collectVms({ executor })).toEqual(first);
    expect(runs).toHaveLength(2);

    const other = recordingExecutor(local(testHostUri(file)));
    await collectVms({ executor: other.executor });
    expect(other.runs).toHaveLength(2 + 3 * 4);
  });
});

/** Captured from a real qemu:///system (libvirt/fixtures/virsh/capture-qemu.sh). */
const QEMU_CAPTURES = {
  [JSON.stringify(['list', '--all', '--uuid', '--name'])]: 'qemu-list-all-uuid-name.txt',
  [JSON.stringify(['domstats', '--state', '--vcpu', '--balloon', '--block', '--raw', '--nowait'])]:
    'qemu-domstats-raw.txt',
  [JSON.stringify(['domblklist', '--details', '--domain', '5a0c7c52-0d1e-4c55-9d1b-000000000001'])]:
    'qemu-domblklist-details.txt',
  [JSON.stringify(['domblklist', '--details', '--domain', '5a0c7c52-0d1e-4c55-9d1b-000000000002'])]:
    'qemu-domblklist-details-paused.txt',
  [JSON.stringify(['domblklist', '--details', '--domain', '5a0c7c52-0d1e-4c55-9d1b-000000000003'])]:
    'qemu-domblklist-details-shutoff.txt',
  [JSON.stringify(['version', '--daemon'])]: 'qemu-version-daemon.txt',
  [JSON.stringify(['nodeinfo'])]: 'qemu-nodeinfo.txt',
  [JSON.stringify(['capabilities'])]: 'qemu-capabilities.xml',
  [JSON.stringify(['hostname'])]: 'qemu-hostname.txt',
  [JSON.stringify(['list', '--all', '--uuid'])]: 'qemu-list-all-uuid.txt',
};

describe('collectVms on captured qemu output (full domstats)', () => {
  const captures = QEMU_CAPTURES;

  it('takes everything but disk type/device from domstats, and those once per VM', async () => {
    const { executor, runs } = recordingExecutor(replayExecutor(captures));
    const cache = createVmDetailCache();
    const vms = await collectVms({ executor, cache });
    expect(runs.map((run) => run.args[0])).toEqual(['list', 'domstats', 'domblklist', 'domblklist', 'domblklist']);
    expect(vms.find((vm) => vm.name === 'ferry-cap-run')).toMatchObject({
      uuid: '5a0c7c52-0d1e-4c55-9d1b-000000000001',
      state: 'running',
      vcpus: 2,
      memoryBytes: 131072 * 1024,
      maxMemoryBytes: 131072 * 1024,
      disks: [
        {
          target: 'vda',
          device: 'disk',
          type: 'file',
          path: '/var/lib/libvirt/images/run-root.qcow2',
          capacityBytes: 268435456,
          allocationBytes: 200704,
        },
        {
          target: 'vdb',
          device: 'disk',
          type: 'file',
          path: '/var/lib/libvirt/images/run-data.img',
          capacityBytes: 67108864,
          allocationBytes: 4096,
        },
        { target: 'hdc', device: 'cdrom', type: 'file', path: null, capacityBytes: null, allocationBytes: null },
      ],
      problem: null,
    });
    expect(vms.find((vm) => vm.name === 'ferry-cap-off')).toMatchObject({
      state: 'shutoff',
      vcpus: 4,
      memoryBytes: 65536 * 1024,
    });
    expect(vms.find((vm) => vm.name === 'ferry-cap-paused')).toMatchObject({ state: 'paused', vcpus: 1 });

    runs.length = 0;
    await collectVms({ executor, cache });
    expect(runs.map((run) => run.args[0])).toEqual(['list', 'domstats']);
  });

  it('matches what dominfo says for each VM', async () => {
    const vms = await collectVms({ executor: replayExecutor(captures) });
    for (const [name, file] of [
      ['ferry-cap-run', 'qemu-dominfo-running.txt'],
      ['ferry-cap-paused', 'qemu-dominfo-paused.txt'],
      ['ferry-cap-off', 'qemu-dominfo-shutoff.txt'],
    ] as const) {
      const info = parseDominfo(await readFile(new URL(`../libvirt/fixtures/virsh/${file}`, import.meta.url), 'utf8'));
      expect(vms.find((vm) => vm.name === name)).toMatchObject({
        uuid: info.uuid,
        state: info.state,
        vcpus: info.vcpus,
        maxMemoryBytes: info.maxMemoryBytes,
      });
    }
  });

  it('reads the qemu host', async () => {
    expect(await collectHostInfo({ executor: replayExecutor(captures) })).toEqual({
      hostname: 'vm',
      libvirtVersion: '9.0.0',
      hypervisorVersion: 'QEMU 7.2.22',
      hostUuid: '5a0c7c52-0d1e-4c55-9d1b-0000000000ff',
      hostUuidSource: 'capabilities',
      cpuModel: 'kvm64',
      arch: 'x86_64',
      cpus: 2,
      mhz: 2596,
      memoryBytes: 6645964 * 1024,
      vmCount: 3,
    });
  });
});

// Captured on the lab (e2e/lab): vm1 idle on hv1, then on hv2 while it arrived there by migration. During an
// incoming migration, qemu's domstats without --nowait (and domblkinfo) waited for the whole migration.
describe('a domain whose job lock another job holds (captured on the lab during an incoming migration)', () => {
  const vm1 = '0f1e0000-7a5b-4c1b-9e00-0000000000a1';
  const captures = (domstats: string) => ({
    [JSON.stringify(['list', '--all', '--uuid', '--name'])]: 'qemu-list-all-uuid-name-lab-vm1.txt',
    [JSON.stringify(['domblklist', '--details', '--domain', vm1])]: 'qemu-domblklist-details-lab-vm1.txt',
    [JSON.stringify(['domstats', '--state', '--vcpu', '--balloon', '--block', '--raw', '--nowait'])]: domstats,
    [JSON.stringify(['domstats', '--state', '--vcpu', '--balloon', '--block', '--raw', '--nowait', vm1])]: domstats,
  });
  const idle = captures('qemu-domstats-raw-nowait-idle.txt');
  const arriving = captures('qemu-domstats-raw-nowait-incoming.txt');
  const disk = { target: 'vda', device: 'disk', type: 'file', path: '/var/lib/libvirt/images/vm1.qcow2' };

  it('is read without asking for its sizes (that would wait for the migration), sizes unknown', async () => {
    const { executor, runs } = recordingExecutor(replayExecutor(arriving));
    const [vm] = await collectVms({ executor, cache: createVmDetailCache() });
    expect(runs.map((run) => run.args[0])).toEqual(['list', 'domstats', 'domblklist']);
    expect(vm).toMatchObject({
      uuid: vm1,
      name: 'vm1',
      state: 'paused',
      vcpus: 1,
      memoryBytes: 65536 * 1024,
      disks: [{ ...disk, capacityBytes: null, allocationBytes: null }],
      problem: null,
    });
  });

  it('keeps the sizes it last saw, as old as they are, until maxAgeMs', async () => {
    const cache = createVmDetailCache({ maxAgeMs: 60_000 });
    const t0 = Date.parse('2026-12-03T12:00:00Z');
    const at = (ms: number) => () => new Date(ms);
    const sized = { ...disk, capacityBytes: 268435456, allocationBytes: 204800 };

    const [before] = await collectVms({ executor: replayExecutor(idle), cache, now: at(t0) });
    expect(before).toMatchObject({ state: 'running', disks: [sized], detailsCollectedAt: new Date(t0) });

    const { executor, runs } = recordingExecutor(replayExecutor(arriving));
    const [during] = await collectVms({ executor, cache, now: at(t0 + 10_000) });
    expect(during).toMatchObject({ state: 'paused', disks: [sized], detailsCollectedAt: new Date(t0) });
    expect(runs.map((run) => run.args[0])).toEqual(['list', 'domstats']);
    // The event-driven re-read of that one domain does the same.
    expect(await collectOneDomain({ executor, cache, uuid: vm1, now: at(t0 + 20_000) })).toMatchObject({
      state: 'paused',
      disks: [sized],
      detailsCollectedAt: new Date(t0),
    });

    const [later] = await collectVms({ executor, cache, now: at(t0 + 60_000) });
    expect(later).toMatchObject({ disks: [{ ...disk, capacityBytes: null, allocationBytes: null }] });
    expect(later?.detailsCollectedAt).toEqual(new Date(t0 + 60_000));
  });
});

describe('a host whose libvirt predates domstats --nowait (4.5)', () => {
  const GROUPS = 'domstats --state --vcpu --balloon --block --raw';
  const captures = {
    ...QEMU_CAPTURES,
    [JSON.stringify(['domstats', '--state', '--vcpu', '--balloon', '--block', '--raw'])]: 'qemu-domstats-raw.txt',
  };
  // libvirt's virCheckFlags wording when a daemon gets a flag it does not know.
  const UNSUPPORTED = 'error: unsupported flags (0x20000000) in function qemuConnectGetAllDomainStats\n';
  const oldDaemon = (stderr = UNSUPPORTED): Executor => {
    const replay = replayExecutor(captures);
    return {
      ...replay,
      run: async (args, options) => {
        if (!args.includes('--nowait')) return replay.run(args, options);
        throw new VirshError({ kind: 'exit', message: stderr.trim(), argv: ['virsh', ...args], exitCode: 1, stderr });
      },
    };
  };

  it('is read without it, and asked that way at once from then on', async () => {
    const { executor, runs } = recordingExecutor(oldDaemon());
    const vms = await collectVms({ executor, cache: createVmDetailCache() });
    expect(vms.map((vm) => [vm.name, vm.state])).toEqual([
      ['ferry-cap-run', 'running'],
      ['ferry-cap-paused', 'paused'],
      ['ferry-cap-off', 'shutoff'],
    ]);
    expect(vms[0]?.disks[0]?.capacityBytes).toBe(268435456);
    const domstats = () => runs.filter((run) => run.args[0] === 'domstats').map((run) => run.args.join(' '));
    expect(domstats()).toEqual([`${GROUPS} --nowait`, GROUPS]);

    runs.length = 0;
    await collectVms({ executor });
    expect(domstats()).toEqual([GROUPS]);
  });

  it('does not take other failures for that', async () => {
    const { executor, runs } = recordingExecutor(oldDaemon('error: internal error: client socket is closed\n'));
    await expect(collectVms({ executor })).rejects.toThrow(/client socket is closed/);
    expect(runs.filter((run) => run.args[0] === 'domstats')).toHaveLength(1);
  });
});
