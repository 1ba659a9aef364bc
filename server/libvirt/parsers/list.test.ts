import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ParseError } from './parse-error';
import { parseListNames, parseListTable, parseListUuidName, parseListUuids } from './list';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/virsh/${name}`, import.meta.url), 'utf8');

describe('parseListUuidName', () => {
  it('reads qemu output', () => {
    expect(parseListUuidName(fixture('qemu-list-all-uuid-name.txt'))).toEqual([
      { uuid: '5a0c7c52-0d1e-4c55-9d1b-000000000001', name: 'ferry-cap-run' },
      { uuid: '5a0c7c52-0d1e-4c55-9d1b-000000000002', name: 'ferry-cap-paused' },
      { uuid: '5a0c7c52-0d1e-4c55-9d1b-000000000003', name: 'ferry-cap-off' },
    ]);
  });

  it('keeps hostile names exactly, including spaces at both ends', () => {
    const names = parseListUuidName(fixture('test-host-list-all-uuid-name.txt')).map((domain) => domain.name);
    expect(names).toContain(' leading and trailing ');
    expect(names).toContain(`it's "quoted"`);
    expect(names).toContain('$(touch ferry-pwned)');
    expect(names).toContain('--help');
    expect(names).toContain('<i>&amp; x="1"');
    expect(names).toContain('ünïcödé-名前');
    expect(names).toHaveLength(14);
  });

  it('agrees with --uuid and --name run separately', () => {
    const pairs = parseListUuidName(fixture('test-host-list-all-uuid-name.txt'));
    expect(parseListUuids(fixture('test-host-list-all-uuid.txt'))).toEqual(pairs.map((pair) => pair.uuid));
    expect(parseListNames(fixture('test-host-list-all-name.txt'))).toEqual(pairs.map((pair) => pair.name));
  });

  it('refuses the second line of a name containing a newline (only the test driver allows one)', () => {
    const text = '5a0c7c52-0d1e-4c55-9d1b-000000000001 new\nline\n\n';
    expect(() => parseListUuidName(text)).toThrow(ParseError);
    expect(() => parseListUuidName(text)).toThrow(/line 2: "line"/);
  });

  it('returns nothing for a host without domains', () => {
    expect(parseListUuidName('\n')).toEqual([]);
  });
});

describe('parseListUuids', () => {
  it('refuses a line that is not a UUID', () => {
    expect(() => parseListUuids('not-a-uuid\n')).toThrow(/expected a UUID at line 1/);
  });
});

describe('parseListTable', () => {
  it('reads ids, names and states from qemu', () => {
    expect(parseListTable(fixture('qemu-list-all.txt'))).toEqual([
      { id: 1, name: 'ferry-cap-run', state: 'running' },
      { id: 2, name: 'ferry-cap-paused', state: 'paused' },
      { id: null, name: 'ferry-cap-off', state: 'shutoff' },
    ]);
  });

  it('reads hostile names from the test driver (trailing spaces are lost to the padding)', () => {
    const rows = parseListTable(fixture('test-host-list-all.txt'));
    expect(rows).toHaveLength(14);
    expect(rows).toContainEqual({ id: null, name: ' leading and trailing', state: 'shutoff' });
    expect(rows).toContainEqual({ id: null, name: 'semi;colon && echo pwned', state: 'shutoff' });
    expect(rows).toContainEqual({ id: null, name: 'ünïcödé-名前', state: 'shutoff' });
    expect(rows).toContainEqual({ id: 6, name: '-c', state: 'running' });
  });

  it('names the line it cannot read', () => {
    const text = ' Id   Name   State\n----------------------\n 1    test   exploded\n';
    expect(() => parseListTable(text)).toThrow('line 3: " 1    test   exploded"');
  });

  it('refuses a table with another header', () => {
    expect(() => parseListTable(' Id   Name   State   Title\n---\n')).toThrow(ParseError);
  });
});
