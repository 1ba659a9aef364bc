import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseNodeinfo } from './nodeinfo';
import { ParseError } from './parse-error';
import { parseVersion } from './version';
import { parseCapabilities, parseComputerDevice, parseSysinfo } from './xml-documents';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/virsh/${name}`, import.meta.url), 'utf8');

describe('parseNodeinfo', () => {
  it('reads qemu and the test driver', () => {
    expect(parseNodeinfo(fixture('qemu-nodeinfo.txt'))).toEqual({
      cpuModel: 'x86_64',
      cpus: 2,
      mhz: 2596,
      sockets: 1,
      coresPerSocket: 2,
      threadsPerCore: 1,
      numaCells: 1,
      memoryBytes: 6645964 * 1024,
    });
    expect(parseNodeinfo(fixture('test-host-nodeinfo.txt'))).toMatchObject({
      cpuModel: 'Skylake-Server-IBRS',
      cpus: 64,
      memoryBytes: 256 * 1024 ** 3,
    });
  });

  it('refuses a missing key', () => {
    expect(() => parseNodeinfo('CPU model:           x86_64\n')).toThrow(/no "CPU\(s\):" line/);
  });
});

describe('parseVersion', () => {
  it('reads qemu (no --daemon) and the test driver with --daemon', () => {
    expect(parseVersion(fixture('qemu-version.txt'))).toEqual({
      libraryVersion: '9.0.0',
      daemonVersion: null,
      hypervisorType: 'QEMU',
      hypervisorVersion: '7.2.22',
    });
    expect(parseVersion(fixture('test-default-version-daemon.txt'))).toEqual({
      libraryVersion: '9.0.0',
      daemonVersion: '9.0.0',
      hypervisorType: 'TEST',
      hypervisorVersion: '0.0.2',
    });
  });

  it('refuses an unexpected library line', () => {
    expect(() => parseVersion('Using library: something else\n')).toThrow(/line 1/);
  });
});

describe('parseCapabilities', () => {
  it('reads the qemu host: uuid, cpu, memory of all cells', () => {
    expect(parseCapabilities(fixture('qemu-capabilities.xml'))).toEqual({
      hostUuid: '5a0c7c52-0d1e-4c55-9d1b-0000000000ff',
      arch: 'x86_64',
      cpuModel: 'kvm64',
      cpuVendor: 'AMD',
      memoryBytes: 6645964 * 1024,
    });
  });

  it('reads the test driver, which has no host uuid or cpu model', () => {
    expect(parseCapabilities(fixture('test-default-capabilities.xml'))).toEqual({
      hostUuid: null,
      arch: 'i686',
      cpuModel: null,
      cpuVendor: null,
      memoryBytes: (2097152 + 4194304) * 1024,
    });
  });

  it('refuses broken or foreign XML', () => {
    expect(() => parseCapabilities('<capabilities><host>')).toThrow(ParseError);
    expect(() => parseCapabilities('<domain/>')).toThrow(/expected a <capabilities> document/);
  });
});

describe('parseSysinfo', () => {
  it('reads the test driver BIOS block', () => {
    expect(parseSysinfo(fixture('test-default-sysinfo.xml')).sections.bios).toEqual({
      vendor: 'LENOVO',
      version: 'G4ETA1WW (2.61 )',
      date: '05/07/2014',
      release: '2.61',
    });
  });

  it('knows qemu here had no SMBIOS to give (captured stderr)', () => {
    expect(fixture('qemu-sysinfo.stderr.txt')).toMatch(/Host SMBIOS information is not available/);
  });
});

describe('parseComputerDevice', () => {
  it('reads the SMBIOS uuid of the test driver and of a generated host', () => {
    expect(parseComputerDevice(fixture('test-default-nodedev-computer.xml')).hardwareUuid).toBe(
      '11111111-2222-3333-4444-555555555555',
    );
    expect(parseComputerDevice(fixture('test-host-nodedev-computer.xml'))).toEqual({
      hardwareUuid: '00fb8673-8b42-4835-a84f-3e32248c1e89',
      vendor: 'Ferry test host',
      version: 'fixture-hv',
    });
  });
});
