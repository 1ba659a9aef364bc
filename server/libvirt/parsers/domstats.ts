import { ParseError } from './parse-error';
import { numberedLines, parseCount, type NumberedLine } from './text';
import { isActiveState, vmStateFromNumber, type VmState } from './vm-state';

export type DomainStatsRecord = {
  name: string;
  /** Every `key=value` line as printed; values are strings because some keys are not numbers (paths, modes). */
  stats: Map<string, string>;
};

const COMMAND = 'domstats --raw';
const HEADER_PREFIX = "Domain: '";

/**
 * Reads `virsh domstats --raw` (any groups): a header per domain, then indented key=value lines.
 *
 *     Domain: 'ferry-cap-run'
 *       block.0.capacity=268435456
 *
 * The name is everything between the first `'` and the last one on the header line, so names with quotes
 * survive. Values are split at the first '=', so paths containing '=' survive too.
 */
export function parseDomstatsRaw(text: string): DomainStatsRecord[] {
  const records: DomainStatsRecord[] = [];
  let current: DomainStatsRecord | null = null;
  for (const line of numberedLines(text)) {
    if (line.text === '') continue;
    if (line.text.startsWith(HEADER_PREFIX)) {
      if (!line.text.endsWith("'") || line.text.length < HEADER_PREFIX.length + 2) {
        throw new ParseError({
          command: COMMAND,
          reason: 'expected "Domain: \'<name>\'"',
          line: line.text,
          lineNumber: line.number,
        });
      }
      current = { name: line.text.slice(HEADER_PREFIX.length, -1), stats: new Map() };
      records.push(current);
      continue;
    }
    const match = /^ {2}([^=\s]+)=(.*)$/.exec(line.text);
    if (match === null || current === null) {
      throw new ParseError({
        command: COMMAND,
        reason: 'expected "  key=value" under a "Domain:" header',
        line: line.text,
        lineNumber: line.number,
      });
    }
    current.stats.set(match[1] as string, match[2] as string);
  }
  return records;
}

export type DomainStatsBlock = {
  target: string;
  /** null for an empty drive: qemu reports no path then. */
  path: string | null;
  capacityBytes: number | null;
  /** Bytes the image takes on the host; see readDomainStats for where that number lives. */
  allocationBytes: number | null;
};

/** The card-relevant facts one domstats record holds. A field is undefined when the driver did not report it. */
export type DomainStatsFacts = {
  name: string;
  state: VmState;
  vcpus: number | undefined;
  memoryBytes: number | undefined;
  maxMemoryBytes: number | undefined;
  blocks: DomainStatsBlock[] | undefined;
};

/**
 * Picks the typed facts out of a record. The test driver reports only `state.*`; qemu reports `vcpu.*`,
 * `balloon.*` (KiB) and `block.*` too. Extra keys are ignored.
 *
 * Disk allocation: for a running qemu domain `block.N.allocation` is the guest's highest written offset and
 * `block.N.physical` is the image's size on the host (qemu's actual-size); for a shut-off domain libvirt
 * reads the file instead and `allocation` is the size on the host. We report the size on the host in both
 * cases, which is what `domblkinfo` calls Allocation (checked against captured qemu output in the tests).
 */
export function readDomainStats(record: DomainStatsRecord): DomainStatsFacts {
  const line: NumberedLine = { text: `Domain: '${record.name}'`, number: 0 };
  const count = (key: string): number | undefined => {
    const value = record.stats.get(key);
    return value === undefined
      ? undefined
      : parseCount({ command: COMMAND, value, line: { ...line, text: `${key}=${value}` }, what: key });
  };

  const stateNumber = count('state.state');
  if (stateNumber === undefined)
    throw new ParseError({ command: COMMAND, reason: `no state.state for domain ${JSON.stringify(record.name)}` });
  const state = vmStateFromNumber(stateNumber);
  if (state === null)
    throw new ParseError({
      command: COMMAND,
      reason: `unknown state.state=${stateNumber} for domain ${JSON.stringify(record.name)}`,
    });

  const kib = (key: string) => {
    const value = count(key);
    return value === undefined ? undefined : value * 1024;
  };

  const blockCount = count('block.count');
  let blocks: DomainStatsBlock[] | undefined;
  if (blockCount !== undefined) {
    const isLive = isActiveState(state);
    blocks = Array.from({ length: blockCount }, (_, index) => {
      const prefix = `block.${index}.`;
      const target = record.stats.get(`${prefix}name`);
      if (target === undefined)
        throw new ParseError({
          command: COMMAND,
          reason: `no ${prefix}name for domain ${JSON.stringify(record.name)}`,
        });
      return {
        target,
        path: record.stats.get(`${prefix}path`) ?? null,
        capacityBytes: count(`${prefix}capacity`) ?? null,
        allocationBytes: (isLive ? count(`${prefix}physical`) : count(`${prefix}allocation`)) ?? null,
      };
    });
  }

  return {
    name: record.name,
    state,
    vcpus: count('vcpu.current'),
    memoryBytes: kib('balloon.current'),
    maxMemoryBytes: kib('balloon.maximum'),
    blocks,
  };
}
