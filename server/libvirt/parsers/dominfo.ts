import { ParseError } from './parse-error';
import { numberedLines, parseCount, parseKeyValueLines, parseKibToBytes, requireEntry } from './text';
import { vmStateFromWords, type VmState } from './vm-state';

export type DomainInfo = {
  /** null while shut off (virsh prints "-"). */
  id: number | null;
  name: string;
  uuid: string;
  osType: string | null;
  state: VmState;
  vcpus: number;
  maxMemoryBytes: number;
  /** "Used memory": the balloon's current size, or the configured current memory while shut off. */
  memoryBytes: number;
  isPersistent: boolean | null;
  isAutostart: boolean | null;
};

const COMMAND = 'dominfo';
/** dominfo prints every line as printf("%-15s %s\n", key, value): the value starts at this column. */
const VALUE_COLUMN = 16;

/**
 * Reads `virsh dominfo <domain>`:
 *
 *     Max memory:     131072 KiB
 *
 * Unknown keys (Security label, Messages, CPU time…) are ignored. The name is read at its fixed column so
 * a name with leading or trailing spaces comes back exactly.
 */
export function parseDominfo(text: string): DomainInfo {
  const entries = parseKeyValueLines({ command: COMMAND, text });
  const get = (key: string) => requireEntry(entries, { command: COMMAND, key });

  const idEntry = get('Id');
  const stateEntry = get('State');
  const state = vmStateFromWords(stateEntry.value);
  if (state === null) {
    throw new ParseError({
      command: COMMAND,
      reason: `unknown state "${stateEntry.value}"`,
      line: stateEntry.line.text,
      lineNumber: stateEntry.line.number,
    });
  }
  const yesNo = (key: string, yes: string, no: string): boolean | null => {
    const value = entries.get(key)?.value;
    return value === yes ? true : value === no ? false : null;
  };

  return {
    id:
      idEntry.value === '-'
        ? null
        : parseCount({ command: COMMAND, value: idEntry.value, line: idEntry.line, what: 'Id' }),
    name: readExactName(text),
    uuid: get('UUID').value,
    osType: entries.get('OS Type')?.value ?? null,
    state,
    vcpus: parseCount({ command: COMMAND, value: get('CPU(s)').value, line: get('CPU(s)').line, what: 'CPU(s)' }),
    maxMemoryBytes: parseKibToBytes({
      command: COMMAND,
      value: get('Max memory').value,
      line: get('Max memory').line,
      what: 'Max memory',
    }),
    memoryBytes: parseKibToBytes({
      command: COMMAND,
      value: get('Used memory').value,
      line: get('Used memory').line,
      what: 'Used memory',
    }),
    isPersistent: yesNo('Persistent', 'yes', 'no'),
    isAutostart: yesNo('Autostart', 'enable', 'disable'),
  };
}

function readExactName(text: string): string {
  const line = numberedLines(text).find((candidate) => candidate.text.startsWith('Name:'));
  if (line === undefined) throw new ParseError({ command: COMMAND, reason: 'no "Name:" line' });
  if (line.text.length <= VALUE_COLUMN || line.text.slice(5, VALUE_COLUMN).trim() !== '') {
    throw new ParseError({
      command: COMMAND,
      reason: `expected the name at column ${VALUE_COLUMN + 1}`,
      line: line.text,
      lineNumber: line.number,
    });
  }
  return line.text.slice(VALUE_COLUMN);
}
