import { ParseError } from './parse-error';
import { nonBlankLines } from './text';

export type BlockDevice = {
  /** `file`, `block`, `network`, `volume`… as in <disk type=…>. */
  type: string;
  /** `disk`, `cdrom`, `floppy`, `lun`. */
  device: string;
  target: string;
  /** null for an empty drive (virsh prints "-"). */
  source: string | null;
};

const COMMAND = 'domblklist --details';

/**
 * Reads `virsh domblklist --details <domain>`:
 *
 *      file   disk     vda      /var/lib/libvirt/images/run-root.qcow2
 *
 * Type, Device and Target never contain spaces; Source is the rest of the line, read from the column the
 * header puts it at, so a path with spaces (or one starting with spaces) comes back whole.
 */
export function parseDomblklistDetails(text: string): BlockDevice[] {
  const lines = nonBlankLines(text);
  const header = lines[0];
  if (header === undefined) return [];
  const sourceColumn = header.text.indexOf('Source');
  if (!/^\s*Type\s+Device\s+Target\s+Source\s*$/.test(header.text)) {
    throw new ParseError({
      command: COMMAND,
      reason: 'expected the "Type Device Target Source" header',
      line: header.text,
      lineNumber: header.number,
    });
  }
  const rule = lines[1];
  if (rule === undefined || !/^-+$/.test(rule.text)) {
    throw new ParseError({
      command: COMMAND,
      reason: 'expected a dashed rule under the header',
      line: rule?.text ?? null,
      lineNumber: rule?.number ?? null,
    });
  }
  return lines.slice(2).map((line) => {
    const match = /^\s*(\S+)\s+(\S+)\s+(\S+)\s+/.exec(line.text);
    if (match === null || match[0].length > sourceColumn) {
      throw new ParseError({
        command: COMMAND,
        reason: 'expected "<type> <device> <target> <source>"',
        line: line.text,
        lineNumber: line.number,
      });
    }
    const source = line.text.slice(sourceColumn).replace(/ +$/, '');
    return {
      type: match[1] as string,
      device: match[2] as string,
      target: match[3] as string,
      source: source === '-' ? null : source,
    };
  });
}
