import { ParseError } from './parse-error';
import { nonBlankLines } from './text';
import { VIRSH_STATE_WORDS, vmStateFromWords, type VmState } from './vm-state';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isUuid(text: string): boolean {
  return UUID_PATTERN.test(text);
}

export type ListedDomain = { uuid: string; name: string };

/**
 * Reads `virsh list --all --uuid --name`, the exact way to get names: one domain per line, the UUID, one
 * space, then the name verbatim to the end of the line (spaces at either end included).
 *
 *     5a0c7c52-0d1e-4c55-9d1b-000000000001 ferry-cap-run
 *
 * Real drivers refuse '\n' in names; the test driver does not, and such a name shows up here as a line
 * that does not start with a UUID, which is a ParseError rather than a silently split VM.
 */
export function parseListUuidName(text: string): ListedDomain[] {
  const command = 'list --all --uuid --name';
  return nonBlankLines(text).map((line) => {
    const uuid = line.text.slice(0, 36);
    if (!isUuid(uuid) || line.text[36] !== ' ' || line.text.length < 38) {
      throw new ParseError({ command, reason: 'expected "<uuid> <name>"', line: line.text, lineNumber: line.number });
    }
    return { uuid, name: line.text.slice(37) };
  });
}

/**
 * Reads `virsh list --all --uuid`: one UUID per line.
 *
 *     5a0c7c52-0d1e-4c55-9d1b-000000000001
 */
export function parseListUuids(text: string): string[] {
  return nonBlankLines(text).map((line) => {
    if (!isUuid(line.text)) {
      throw new ParseError({
        command: 'list --all --uuid',
        reason: 'expected a UUID',
        line: line.text,
        lineNumber: line.number,
      });
    }
    return line.text;
  });
}

/**
 * Reads `virsh list --all --name`: one name per line, verbatim. Only blank lines are skipped, so a VM
 * whose name is all spaces would be lost; `--uuid --name` has no such gap.
 *
 *     ferry-cap-run
 */
export function parseListNames(text: string): string[] {
  return nonBlankLines(text).map((line) => line.text);
}

export type ListTableRow = { id: number | null; name: string; state: VmState };

/**
 * Reads the `virsh list --all` table (without --title):
 *
 *      1    ferry-cap-run      running
 *
 * The Name column is padded to the widest name, so a name's own trailing spaces cannot be told from the
 * padding and are trimmed here; use parseListUuidName when names must be exact.
 */
export function parseListTable(text: string): ListTableRow[] {
  const command = 'list --all';
  const lines = nonBlankLines(text);
  const header = lines[0];
  const rule = lines[1];
  if (header === undefined) return [];
  const nameStart = header.text.indexOf('Name');
  if (!/^\s*Id\s+Name\s+State\s*$/.test(header.text) || nameStart < 0) {
    throw new ParseError({
      command,
      reason: 'expected the "Id Name State" header',
      line: header.text,
      lineNumber: header.number,
    });
  }
  if (rule === undefined || !/^-+$/.test(rule.text)) {
    throw new ParseError({
      command,
      reason: 'expected a dashed rule under the header',
      line: rule?.text ?? null,
      lineNumber: rule?.number ?? null,
    });
  }
  const statePattern = new RegExp(
    `\\s+(${VIRSH_STATE_WORDS.map((words) => words.replace(' ', '\\s')).join('|')})\\s*$`,
  );
  return lines.slice(2).map((line) => {
    const idText = line.text.slice(0, nameStart).trim();
    const stateMatch = statePattern.exec(line.text);
    if (stateMatch === null || !/^(\d+|-)$/.test(idText)) {
      throw new ParseError({
        command,
        reason: 'expected "<id|-> <name> <state>"',
        line: line.text,
        lineNumber: line.number,
      });
    }
    const state = vmStateFromWords(stateMatch[1] as string) as VmState;
    const name = line.text.slice(nameStart, stateMatch.index).trimEnd();
    if (name === '') throw new ParseError({ command, reason: 'empty name', line: line.text, lineNumber: line.number });
    return { id: idText === '-' ? null : Number(idText), name, state };
  });
}
