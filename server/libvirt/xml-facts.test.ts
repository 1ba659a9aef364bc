import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDomainXml } from './domain-xml';
import { parseCapabilities } from './parsers/xml-documents';
import { basename, dirname, parseNameList, parsePoolXml, poolForPath } from './storage';
import { parseXml } from './xml-lite';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/xml/${name}`, import.meta.url), 'utf8');

describe('parseXml', () => {
  it('reads attributes, text, entities and self-closing tags', () => {
    const root = parseXml(`<?xml version="1.0"?><!-- c --><a x='1' y="a &amp; b"><b/>t&lt;1<c k='v'>in</c></a>`);
    expect(root.name).toBe('a');
    expect(root.attributes).toEqual({ x: '1', y: 'a & b' });
    expect(root.children.map((c) => c.name)).toEqual(['b', 'c']);
    expect(root.text).toBe('t<1');
    expect(root.children[1]?.text).toBe('in');
  });

  it('refuses malformed documents instead of guessing', () => {
    expect(() => parseXml('<a><b></a>')).toThrow('</a> closes <b>');
    expect(() => parseXml('<a>')).toThrow('never closed');
    expect(() => parseXml('')).toThrow('empty document');
    expect(() => parseXml('<a')).toThrow('unterminated tag');
  });
});

describe('parseDomainXml (real virsh -c test:///default dumpxml test)', () => {
  it('extracts name, uuid, memory, vcpus and disks', () => {
    const facts = parseDomainXml(fixture('test-domain.xml'));
    expect(facts).toMatchObject({
      name: 'test',
      uuid: '6695eb01-f6a4-8304-79aa-97f2502e193f',
      type: 'test',
      memoryBytes: 8388608 * 1024,
      vcpus: 2,
      cpuMode: null,
    });
    expect(facts.disks).toEqual([
      {
        target: 'vda',
        device: 'disk',
        type: 'file',
        sourcePath: '/guest/diskimage1',
        format: null,
        readonly: false,
        shareable: false,
      },
    ]);
  });

  it('reads the CPU mode and disk format of a qemu domain', () => {
    const facts = parseDomainXml(`<domain type='qemu'><name>a'b</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
      <cpu mode='host-passthrough' check='none'/><devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/a&apos;b.qcow2'/><target dev='vda' bus='virtio'/></disk>
      <disk type='file' device='cdrom'><target dev='sda'/><readonly/></disk></devices></domain>`);
    expect(facts.name).toBe("a'b");
    expect(facts.memoryBytes).toBe(64 * 1024 * 1024);
    expect(facts.cpuMode).toBe('host-passthrough');
    expect(facts.disks[0]).toMatchObject({ sourcePath: "/var/lib/libvirt/images/a'b.qcow2", format: 'qcow2' });
    expect(facts.disks[1]).toMatchObject({ device: 'cdrom', sourcePath: null, readonly: true });
  });

  it('rejects a document that is not a domain', () => {
    expect(() => parseDomainXml(fixture('test-pool.xml'))).toThrow('expected <domain>, got <pool>');
  });
});

describe('pools', () => {
  it('parses real pool-dumpxml with exact byte counts', () => {
    expect(parsePoolXml(fixture('test-pool.xml'))).toEqual({
      name: 'default-pool',
      type: 'dir',
      targetPath: '/default-pool',
      capacityBytes: 107374182400,
      allocationBytes: 0,
      availableBytes: 107374182400,
    });
  });

  it('finds the pool whose target is the disk directory, exactly', () => {
    const pools = [
      {
        name: 'images',
        type: 'dir',
        targetPath: '/var/lib/libvirt/images/',
        capacityBytes: 0,
        allocationBytes: 0,
        availableBytes: 0,
      },
      {
        name: 'other',
        type: 'dir',
        targetPath: '/var/lib/libvirt',
        capacityBytes: 0,
        allocationBytes: 0,
        availableBytes: 0,
      },
    ];
    expect(poolForPath(pools, '/var/lib/libvirt/images/vm1.qcow2')?.name).toBe('images');
    expect(poolForPath(pools, '/var/lib/libvirt/images/sub/vm1.qcow2')).toBeUndefined();
    expect(dirname('/vm.qcow2')).toBe('/');
    expect(basename('/a/b/c.qcow2')).toBe('c.qcow2');
  });

  it('splits name lists', () => {
    expect(parseNameList(' default\n\nimages \n')).toEqual(['default', 'images']);
  });
});

describe('parseCapabilities (the one capabilities reader, also used by migration preflight)', () => {
  it('has no host uuid on the test driver (real output)', () => {
    expect(parseCapabilities(fixture('test-capabilities.xml'))).toMatchObject({ hostUuid: null, arch: 'i686' });
  });

  it('reads uuid, arch, model and vendor', () => {
    const caps = parseCapabilities(
      `<capabilities><host><uuid>8d1f6c1e-1ab0-4c1b-9e00-000000000001</uuid><cpu><arch>x86_64</arch><model>Skylake-Client-IBRS</model><vendor>Intel</vendor></cpu></host></capabilities>`,
    );
    expect(caps).toEqual({
      hostUuid: '8d1f6c1e-1ab0-4c1b-9e00-000000000001',
      arch: 'x86_64',
      cpuModel: 'Skylake-Client-IBRS',
      cpuVendor: 'Intel',
      memoryBytes: null,
    });
  });
});
