import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDominfo } from './dominfo';
import { ParseError } from './parse-error';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/virsh/${name}`, import.meta.url), 'utf8');

describe('parseDominfo', () => {
  it('reads a running qemu domain', () => {
    expect(parseDominfo(fixture('qemu-dominfo-running.txt'))).toEqual({
      id: 1,
      name: 'ferry-cap-run',
      uuid: '5a0c7c52-0d1e-4c55-9d1b-000000000001',
      osType: 'hvm',
      state: 'running',
      vcpus: 2,
      maxMemoryBytes: 131072 * 1024,
      memoryBytes: 131072 * 1024,
      isPersistent: true,
      isAutostart: false,
    });
  });

  it('reads a shut-off qemu domain (no CPU time line, no id)', () => {
    const info = parseDominfo(fixture('qemu-dominfo-shutoff.txt'));
    expect(info).toMatchObject({
      id: null,
      state: 'shutoff',
      vcpus: 4,
      maxMemoryBytes: 131072 * 1024,
      memoryBytes: 65536 * 1024,
    });
  });

  it('reads the test driver and keeps a name with spaces at both ends', () => {
    expect(parseDominfo(fixture('test-default-dominfo.txt'))).toMatchObject({
      name: 'test',
      vcpus: 2,
      memoryBytes: 2097152 * 1024,
    });
    expect(parseDominfo(fixture('test-host-dominfo-spaces.txt')).name).toBe(' leading and trailing ');
  });

  it('refuses an unknown state and a line without a colon, quoting the line', () => {
    const good = fixture('qemu-dominfo-running.txt');
    expect(() => parseDominfo(good.replace('State:          running', 'State:          exploded'))).toThrow(
      /unknown state "exploded"/,
    );
    expect(() => parseDominfo(`${good}garbage here\n`)).toThrow(ParseError);
    expect(() => parseDominfo(`${good}garbage here\n`)).toThrow(/"garbage here"/);
  });

  it('refuses memory that is not in KiB', () => {
    const good = fixture('qemu-dominfo-running.txt');
    expect(() => parseDominfo(good.replace('Max memory:     131072 KiB', 'Max memory:     128 MiB'))).toThrow(
      /Max memory is not "<n> KiB"/,
    );
  });

  it('says which key is missing', () => {
    expect(() => parseDominfo('Id:             1\n')).toThrow(/no "State:" line/);
  });
});
