import { parseKeyValueLines, requireEntry } from './text';
import { ParseError } from './parse-error';

export type VolInfo = { name: string; type: string; capacityBytes: number; allocationBytes: number };

/**
 * Reads `virsh vol-info --bytes -- <path>` (libvirt 9.0, the test driver prints the same):
 *
 *     Capacity:       268435456 bytes
 */
export function parseVolInfoBytes(text: string): VolInfo {
  const command = 'vol-info';
  const entries = parseKeyValueLines({ command, text });
  const bytes = (key: string) => {
    const entry = requireEntry(entries, { command, key });
    const match = /^(\d+) bytes$/.exec(entry.value);
    if (!match) throw new ParseError({ command, reason: `${key} is not "<n> bytes"`, line: entry.line.text });
    return Number(match[1]);
  };
  return {
    name: requireEntry(entries, { command, key: 'Name' }).value,
    type: requireEntry(entries, { command, key: 'Type' }).value,
    capacityBytes: bytes('Capacity'),
    allocationBytes: bytes('Allocation'),
  };
}
