import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDomblkinfo, parseDomblkinfoAll } from './domblkinfo';
import { parseDomblklistDetails } from './domblklist';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/virsh/${name}`, import.meta.url), 'utf8');

describe('parseDomblklistDetails', () => {
  it('reads qemu disks, with an empty cdrom as a null source', () => {
    expect(parseDomblklistDetails(fixture('qemu-domblklist-details.txt'))).toEqual([
      { type: 'file', device: 'disk', target: 'vda', source: '/var/lib/libvirt/images/run-root.qcow2' },
      { type: 'file', device: 'disk', target: 'vdb', source: '/var/lib/libvirt/images/run-data.img' },
      { type: 'file', device: 'cdrom', target: 'hdc', source: null },
    ]);
  });

  it('keeps a path containing spaces whole', () => {
    expect(parseDomblklistDetails(fixture('test-host-domblklist-details-spaces.txt'))).toContainEqual({
      type: 'file',
      device: 'cdrom',
      target: 'sda',
      source: '/var/lib/libvirt/isos/install disk 10.iso',
    });
  });

  it('refuses output without the --details columns', () => {
    expect(() => parseDomblklistDetails(' Target   Source\n------\n vda      /x\n')).toThrow(
      /Type Device Target Source/,
    );
  });

  it('refuses a row with too few columns', () => {
    const text = ' Type   Device   Target   Source\n---------------------------------\n file   disk\n';
    expect(() => parseDomblklistDetails(text)).toThrow('line 3: " file   disk"');
  });
});

describe('parseDomblkinfo', () => {
  it('reads one qemu disk', () => {
    expect(parseDomblkinfo(fixture('qemu-domblkinfo-vda.txt'))).toEqual({
      capacityBytes: 268435456,
      allocationBytes: 200704,
      physicalBytes: 196616,
    });
  });

  it('reads the test driver, whose sizes are fixed in its source', () => {
    expect(parseDomblkinfo(fixture('test-default-domblkinfo-vda.txt'))).toEqual({
      capacityBytes: 1099506450432,
      allocationBytes: 1099511627776,
      physicalBytes: 1099511627776,
    });
  });

  it('refuses --human sizes', () => {
    expect(() => parseDomblkinfo('Capacity:       256.000 MiB\nAllocation:     0\nPhysical:       0\n')).toThrow(
      /Capacity is not a whole number/,
    );
  });
});

describe('parseDomblkinfoAll', () => {
  it('reads every qemu disk, "-" for an empty drive', () => {
    expect(parseDomblkinfoAll(fixture('qemu-domblkinfo-all.txt'))).toEqual([
      { target: 'vda', capacityBytes: 268435456, allocationBytes: 200704, physicalBytes: 196616 },
      { target: 'vdb', capacityBytes: 67108864, allocationBytes: 4096, physicalBytes: 67108864 },
      { target: 'hdc', capacityBytes: null, allocationBytes: null, physicalBytes: null },
    ]);
  });

  it('matches the single-disk form', () => {
    const [vda] = parseDomblkinfoAll(fixture('qemu-domblkinfo-all.txt'));
    expect(vda).toEqual({ target: 'vda', ...parseDomblkinfo(fixture('qemu-domblkinfo-vda.txt')) });
    expect(parseDomblkinfoAll(fixture('test-default-domblkinfo-all.txt'))).toEqual([
      { target: 'vda', ...parseDomblkinfo(fixture('test-default-domblkinfo-vda.txt')) },
    ]);
  });

  it('refuses a row with extra columns', () => {
    const text = ' Target   Capacity   Allocation   Physical\n------------\n vda      1   2   3   4\n';
    expect(() => parseDomblkinfoAll(text)).toThrow(/line 3/);
  });
});
