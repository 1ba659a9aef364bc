import { ParseError } from './parse-error';
import { nonBlankLines, parseCount, parseKeyValueLines, requireEntry } from './text';

export type BlockInfo = {
  capacityBytes: number | null;
  /** Bytes the image takes on the host (for a file: its allocated blocks). */
  allocationBytes: number | null;
  /** Size of the container: a file's length, a block device's size. */
  physicalBytes: number | null;
};

export type TargetBlockInfo = BlockInfo & { target: string };

/**
 * Reads `virsh domblkinfo <domain> <target>` (bytes, no --human):
 *
 *     Capacity:       268435456
 */
export function parseDomblkinfo(text: string): BlockInfo {
  const command = 'domblkinfo';
  const entries = parseKeyValueLines({ command, text });
  const read = (key: string) => {
    const entry = requireEntry(entries, { command, key });
    return entry.value === '-' ? null : parseCount({ command, value: entry.value, line: entry.line, what: key });
  };
  return { capacityBytes: read('Capacity'), allocationBytes: read('Allocation'), physicalBytes: read('Physical') };
}

/**
 * Reads `virsh domblkinfo --all <domain>` (bytes, no --human); "-" marks an empty drive:
 *
 *      vdb      67108864    4096         67108864
 */
export function parseDomblkinfoAll(text: string): TargetBlockInfo[] {
  const command = 'domblkinfo --all';
  const lines = nonBlankLines(text);
  const header = lines[0];
  if (header === undefined) return [];
  if (!/^\s*Target\s+Capacity\s+Allocation\s+Physical\s*$/.test(header.text)) {
    throw new ParseError({
      command,
      reason: 'expected the "Target Capacity Allocation Physical" header',
      line: header.text,
      lineNumber: header.number,
    });
  }
  const rule = lines[1];
  if (rule === undefined || !/^-+$/.test(rule.text)) {
    throw new ParseError({
      command,
      reason: 'expected a dashed rule under the header',
      line: rule?.text ?? null,
      lineNumber: rule?.number ?? null,
    });
  }
  return lines.slice(2).map((line) => {
    const fields = line.text.trim().split(/\s+/);
    if (fields.length !== 4) {
      throw new ParseError({
        command,
        reason: 'expected "<target> <capacity> <allocation> <physical>"',
        line: line.text,
        lineNumber: line.number,
      });
    }
    const [target, capacity, allocation, physical] = fields as [string, string, string, string];
    const size = (value: string, what: string) => (value === '-' ? null : parseCount({ command, value, line, what }));
    return {
      target,
      capacityBytes: size(capacity, 'Capacity'),
      allocationBytes: size(allocation, 'Allocation'),
      physicalBytes: size(physical, 'Physical'),
    };
  });
}
