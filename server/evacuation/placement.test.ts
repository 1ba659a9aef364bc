import { describe, expect, it } from 'vitest';
import { placeVms, type PlacementHost, type PlacementVm } from './placement';

const MIB = 2 ** 20;
const GIB = 2 ** 30;

const source = { id: 'h1', alias: 'hv1', arch: 'x86_64', cpuModel: 'Skylake', cpuVendor: 'Intel' };

function host(over: Partial<PlacementHost> & { id: string; alias: string }): PlacementHost {
  return {
    inMaintenance: false,
    error: null,
    arch: 'x86_64',
    cpuModel: 'Skylake',
    cpuVendor: 'Intel',
    cpus: 4,
    freeMemoryBytes: 8 * GIB,
    committedVcpus: 0,
    domainNames: [],
    pools: [{ name: 'default', type: 'dir', targetPath: '/var/lib/libvirt/images', availableBytes: 100 * GIB }],
    existingPaths: [],
    leftovers: [],
    maxIncoming: 2,
    ...over,
  };
}

function vm(name: string, over: Partial<PlacementVm> = {}): PlacementVm {
  return {
    name,
    uuid: `uuid-${name}`,
    state: 'running',
    memoryBytes: 512 * MIB,
    vcpus: 1,
    cpuMode: null,
    disks: [{ target: 'vda', path: `/var/lib/libvirt/images/${name}.qcow2`, capacityBytes: 256 * MIB }],
    blockers: [],
    ...over,
  };
}

const hv1 = host({ id: 'h1', alias: 'hv1' });

describe('placeVms', () => {
  it('spreads VMs by free memory: each goes where the most memory is left after it', () => {
    const hosts = [
      hv1,
      host({ id: 'h2', alias: 'hv2', freeMemoryBytes: 4 * GIB }),
      host({ id: 'h3', alias: 'hv3', freeMemoryBytes: 3 * GIB }),
    ];
    const plan = placeVms({
      source,
      hosts,
      vms: [vm('a', { memoryBytes: 2 * GIB }), vm('b', { memoryBytes: GIB }), vm('c', { memoryBytes: GIB })],
    });
    const where = plan.map((p) => (p.kind === 'move' ? p.destination.alias : p.kind));
    // a (2 GiB) first onto hv2 (4 GiB → 2 left); then b onto hv3 (3 → 2 left beats hv2's 1); c: hv2 and hv3 both
    // have 2 GiB, tie → fewer VMs per incoming slot is equal, alias order → hv2.
    expect(where).toEqual(['hv2', 'hv3', 'hv2']);
    const a = plan[0];
    if (a?.kind !== 'move') throw new Error('a should move');
    expect(a.reasons[0]).toMatch(/most free memory after placement among 2 hosts/);
    expect(a.reasons.join(' ')).toContain('2048 MiB free after placement');
    expect(a.alternatives.map((h) => h.alias)).toEqual(['hv3']);
    expect(a.rejected).toEqual([]);
  });

  it('never places onto the source, a host in maintenance or one that did not answer, and says why', () => {
    const plan = placeVms({
      source,
      vms: [vm('a')],
      hosts: [
        hv1,
        host({ id: 'h2', alias: 'hv2', inMaintenance: true }),
        host({ id: 'h3', alias: 'hv3', error: 'connection refused' }),
      ],
    });
    expect(plan[0]).toMatchObject({
      kind: 'unmovable',
      rejected: [
        { alias: 'hv2', reason: 'in maintenance' },
        { alias: 'hv3', reason: 'did not answer: connection refused' },
      ],
    });
    expect(plan[0]?.reasons[0]).toBe(
      'no host can take it: hv2: in maintenance; hv3: did not answer: connection refused',
    );
  });

  it('refuses a host where a domain of the same name is defined, and uses the next one', () => {
    const plan = placeVms({
      source,
      vms: [vm('vm4')],
      hosts: [
        host({ id: 'h2', alias: 'hv2', freeMemoryBytes: 16 * GIB, domainNames: ['vm4'] }),
        host({ id: 'h3', alias: 'hv3' }),
      ],
    });
    expect(plan[0]).toMatchObject({
      kind: 'move',
      destination: { alias: 'hv3' },
      rejected: [{ alias: 'hv2', reason: 'a domain named "vm4" is already defined there' }],
    });
  });

  it('reports a clash everywhere as unmovable', () => {
    const plan = placeVms({
      source,
      vms: [vm('vm4')],
      hosts: [host({ id: 'h2', alias: 'hv2', domainNames: ['vm4'] })],
    });
    expect(plan[0]?.kind).toBe('unmovable');
    expect(plan[0]?.reasons[0]).toContain('a domain named "vm4" is already defined there');
  });

  it('counts memory already promised to a host by earlier VMs of the plan, and keeps the reserve free', () => {
    const hosts = [host({ id: 'h2', alias: 'hv2', freeMemoryBytes: GIB + 64 * MIB })];
    const plan = placeVms({ source, hosts, vms: [vm('a'), vm('b'), vm('c')] });
    expect(plan.map((p) => p.kind)).toEqual(['move', 'move', 'unmovable']);
    expect(plan[2]?.reasons[0]).toContain('hv2: 64 MiB free after this plan');
  });

  it('refuses when vCPUs would exceed the overcommit ratio', () => {
    const hosts = [host({ id: 'h2', alias: 'hv2', cpus: 1, committedVcpus: 3 })];
    const plan = placeVms({ source, hosts, vms: [vm('a', { vcpus: 2 })] });
    expect(plan[0]?.reasons[0]).toContain('5 vCPUs would run on 1 CPUs (at most 4)');
    const relaxed = placeVms({
      source,
      hosts,
      vms: [vm('a', { vcpus: 2 })],
      options: { vcpuRatio: 8, memoryReserveBytes: 0 },
    });
    expect(relaxed[0]?.kind).toBe('move');
  });

  it('checks CPU compatibility: architecture always, model and vendor for host-passthrough', () => {
    const arm = host({ id: 'h2', alias: 'arm', arch: 'aarch64' });
    const amd = host({ id: 'h3', alias: 'amd', cpuModel: 'EPYC', cpuVendor: 'AMD' });
    const plain = placeVms({ source, hosts: [arm, amd], vms: [vm('a')] });
    expect(plain[0]).toMatchObject({ kind: 'move', destination: { alias: 'amd' } });
    expect(plain[0]?.kind === 'move' && plain[0].rejected[0]?.reason).toBe(
      'architecture aarch64, the VM runs on x86_64',
    );
    const passthrough = placeVms({ source, hosts: [arm, amd], vms: [vm('a', { cpuMode: 'host-passthrough' })] });
    expect(passthrough[0]?.reasons[0]).toContain('amd: host-passthrough guest, and the CPU differs (Skylake → EPYC)');
  });

  it('needs a pool for each disk directory, with room for all disks placed there', () => {
    const noPool = host({
      id: 'h2',
      alias: 'hv2',
      pools: [{ name: 'other', type: 'dir', targetPath: '/srv', availableBytes: 100 * GIB }],
    });
    expect(placeVms({ source, hosts: [noPool], vms: [vm('a')] })[0]?.reasons[0]).toContain(
      'no active storage pool for /var/lib/libvirt/images (disk vda)',
    );
    const small = host({
      id: 'h2',
      alias: 'hv2',
      pools: [{ name: 'default', type: 'dir', targetPath: '/var/lib/libvirt/images/', availableBytes: 300 * MIB }],
    });
    const plan = placeVms({ source, hosts: [small], vms: [vm('a'), vm('b')] });
    expect(plan.map((p) => p.kind)).toEqual(['move', 'unmovable']);
    expect(plan[1]?.reasons[0]).toContain('pool default has 44 MiB left for this plan; needs 256 MiB');
  });

  it('treats disks already present on the destination as shared storage (no copy, no pool space)', () => {
    const path = '/srv/shared/vm-shared.qcow2';
    const nfs = { name: 'shared', type: 'netfs', targetPath: '/srv/shared', availableBytes: 0 };
    const shared = host({ id: 'h2', alias: 'hv2', pools: [nfs], existingPaths: [path] });
    const plan = placeVms({
      source,
      hosts: [shared],
      vms: [vm('vm-shared', { disks: [{ target: 'vda', path, capacityBytes: 256 * MIB }] })],
    });
    expect(plan[0]).toMatchObject({ kind: 'move', storage: 'shared' });
    expect(plan[0]?.reasons.join(' ')).toContain('shared storage: its disk is already there');
  });

  it('refuses a disk path that exists on the destination outside network storage (maybe someone else’s file)', () => {
    const path = '/var/lib/libvirt/images/a.qcow2';
    const hosts = [host({ id: 'h2', alias: 'hv2', existingPaths: [path] })];
    expect(placeVms({ source, hosts, vms: [vm('a')] })[0]?.reasons[0]).toBe(
      "no host can take it: hv2: /var/lib/libvirt/images/a.qcow2 already exists there in pool default (dir), not on network storage: Ferry cannot tell a shared disk from someone else's file",
    );
  });

  it('refuses a destination holding a leftover volume at the disk path, naming its story', () => {
    const path = '/var/lib/libvirt/images/a.qcow2';
    const hosts = [
      host({ id: 'h2', alias: 'hv2', existingPaths: [path], leftovers: [{ path, story: 'left by migration m1' }] }),
    ];
    expect(placeVms({ source, hosts, vms: [vm('a')] })[0]?.reasons[0]).toContain(
      'leftover volume: left by migration m1',
    );
  });

  it('reports VMs that cannot migrate at all: a blocking device, a stopped guest', () => {
    const hosts = [host({ id: 'h2', alias: 'hv2' })];
    const plan = placeVms({
      source,
      hosts,
      vms: [vm('gpu', { blockers: ['a PCI device is passed through (hostdev)'] }), vm('off', { state: 'shutoff' })],
    });
    expect(plan[0]).toMatchObject({ kind: 'unmovable', reasons: ['a PCI device is passed through (hostdev)'] });
    expect(plan[1]?.reasons[0]).toMatch(/^it is shut off/);
  });

  it('honours overrides: a pinned destination, an excluded VM; a pinned host that cannot take it is reported', () => {
    const hosts = [host({ id: 'h2', alias: 'hv2', freeMemoryBytes: 16 * GIB }), host({ id: 'h3', alias: 'hv3' })];
    const plan = placeVms({
      source,
      hosts,
      vms: [vm('a'), vm('b'), vm('c')],
      overrides: [
        { vmUuid: 'uuid-a', destinationHostId: 'h3' },
        { vmUuid: 'uuid-b', destinationHostId: null },
      ],
    });
    expect(plan[0]).toMatchObject({ kind: 'move', destination: { alias: 'hv3' } });
    expect(plan[0]?.reasons[0]).toBe('chosen by the admin');
    expect(plan[1]).toMatchObject({ kind: 'excluded' });
    expect(plan[2]).toMatchObject({ kind: 'move', destination: { alias: 'hv2' } });
    const refused = placeVms({
      source,
      hosts: [host({ id: 'h2', alias: 'hv2', domainNames: ['a'] }), host({ id: 'h3', alias: 'hv3' })],
      vms: [vm('a')],
      overrides: [{ vmUuid: 'uuid-a', destinationHostId: 'h2' }],
    });
    expect(refused[0]?.kind).toBe('unmovable');
    expect(refused[0]?.reasons[0]).toBe(
      'the chosen host cannot take it: hv2: a domain named "a" is already defined there',
    );
  });

  it('treats incoming limits as concurrency: a host with limit 2 takes four VMs, and says it runs two at a time', () => {
    const plan = placeVms({
      source,
      hosts: [host({ id: 'h2', alias: 'hv2', maxIncoming: 2 })],
      vms: ['a', 'b', 'c', 'd'].map((name) => vm(name)),
    });
    expect(plan.every((p) => p.kind === 'move' && p.destination.alias === 'hv2')).toBe(true);
    expect(plan[0]?.kind === 'move' && plan[0].concurrency).toBe('hv2 takes 2 at a time; the others wait in the queue');
  });

  it('breaks a free-memory tie by VMs per incoming slot', () => {
    const hosts = [
      host({ id: 'h2', alias: 'hv2', maxIncoming: 1 }),
      host({ id: 'h3', alias: 'hv3', maxIncoming: 4, freeMemoryBytes: 8 * GIB + 512 * MIB }),
    ];
    // a goes to hv3 (more free memory); then both have 8 GiB left: hv2 has 0 VMs per slot, hv3 0.25 → hv2.
    const plan = placeVms({ source, hosts, vms: [vm('a'), vm('b')] });
    expect(plan.map((p) => (p.kind === 'move' ? p.destination.alias : p.kind))).toEqual(['hv3', 'hv2']);
  });

  it('says so when no other host is registered', () => {
    expect(placeVms({ source, hosts: [hv1], vms: [vm('a')] })[0]).toMatchObject({
      kind: 'unmovable',
      reasons: ['no other host is registered'],
    });
  });
});
