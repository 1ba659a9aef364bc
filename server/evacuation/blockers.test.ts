import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findMigrationBlockers } from './blockers';

const testDomain = readFileSync(path.join(__dirname, '../libvirt/fixtures/xml/test-domain.xml'), 'utf8');

function withDevices(extra: string): string {
  return testDomain.replace('</devices>', `${extra}</devices>`);
}

describe('findMigrationBlockers', () => {
  it('finds nothing in the test driver domain', () => {
    expect(findMigrationBlockers(testDomain)).toEqual([]);
  });

  it('names passed-through host devices, SR-IOV interfaces and virtiofs shares', () => {
    const xml = withDevices(
      `<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x06' slot='0x02' function='0x0'/></source></hostdev>
       <interface type='hostdev' managed='yes'><source><address type='pci' domain='0x0' bus='0x3' slot='0x0' function='0x1'/></source></interface>
       <filesystem type='mount' accessmode='passthrough'><driver type='virtiofs'/><source dir='/srv'/><target dir='srv'/></filesystem>`,
    );
    expect(findMigrationBlockers(xml)).toEqual([
      'a host device is passed through (pci hostdev): libvirt cannot migrate it',
      'an SR-IOV network interface (type hostdev) is passed through: libvirt cannot migrate it',
      'a virtiofs share is mounted: QEMU cannot migrate virtiofs',
    ]);
  });

  it('does not count an ordinary network interface as a blocker', () => {
    const xml = withDevices(`<interface type='network'><source network='default'/></interface>`);
    expect(findMigrationBlockers(xml)).toEqual([]);
  });
});
