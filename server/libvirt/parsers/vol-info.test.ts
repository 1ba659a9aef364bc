import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseVolInfoBytes } from './vol-info';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/virsh/${name}`, import.meta.url), 'utf8');

describe('parseVolInfoBytes', () => {
  it('reads the capacity in bytes, as the test driver prints it', () => {
    expect(parseVolInfoBytes(fixture('test-default-vol-info-bytes.txt'))).toEqual({
      name: 'vm1.qcow2',
      type: 'file',
      capacityBytes: 268435456,
      allocationBytes: 268435456,
    });
  });

  it('refuses the human-readable form (vol-info without --bytes), so a size is never misread', () => {
    const human =
      'Name:           vm1.qcow2\nType:           file\nCapacity:       256.00 MiB\nAllocation:     196.00 KiB\n';
    expect(() => parseVolInfoBytes(human)).toThrow(/Capacity is not "<n> bytes"/);
  });
});
