/**
 * Reads a pasted libvirt.conf (the client config) for `uri_aliases` and `uri_default`, e.g.
 * `uri_aliases = [ "hv1=qemu+ssh://root@hv1/system", "hail=qemu+ssh://root@hail.cloud.example.com/system" ]`.
 *
 * PURE: takes the text, never a path. The syntax is libvirt's virconf (src/util/virconf.c), reproduced
 * closely enough that a file libvirt refuses is refused here too, with the same line number; the tests
 * check that against real libvirt. The differences are deliberate and in Ferry's favour:
 * - libvirt only looks at the URI after `=` when someone connects; here every URI must pass parseLibvirtUri.
 * - libvirt fails a lookup that reaches a malformed entry; here that entry is an error and the good ones stay.
 */
import { isAliasName, parseLibvirtUri, type UriAlias } from './uri';

export type ConfProblem = { line: number; message: string };

export type LibvirtConf = {
  /** Valid entries in file order; for a repeated name only the first (the one libvirt uses). */
  aliases: UriAlias[];
  /** As written: a URI, or the name of one of `aliases` (libvirt resolves aliases in uri_default too). */
  uriDefault?: string;
  /** Problems that make an entry, or the whole file, unusable. */
  errors: ConfProblem[];
  /** Things ignored on purpose: unknown settings, repeated names, settings Ferry does not import. */
  warnings: ConfProblem[];
};

/** Far above any real libvirt.conf; keeps a pasted blob from tying up the parser. */
const MAX_CONF_LENGTH = 1_000_000;

/** libvirt.conf settings the client library reads that Ferry deliberately does not import. */
const NOT_IMPORTED_SETTINGS = ['remote_mode', 'remote_proxy', 'tls_priority'];

type ConfValue =
  | { type: 'string'; value: string; line: number }
  | { type: 'number'; line: number }
  | { type: 'list'; items: ConfValue[]; line: number };

type ConfEntry = { name: string; value: ConfValue; line: number };

class ConfSyntaxError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

const isEol = (ch: string | undefined) => ch === '\n' || ch === '\r';
const isBlank = (ch: string | undefined) => ch === ' ' || ch === '\t';
const isDigit = (ch: string | undefined) => ch !== undefined && ch >= '0' && ch <= '9';
const isAlpha = (ch: string | undefined) => ch !== undefined && /^[A-Za-z]$/.test(ch);

/**
 * virconf's grammar: statements `name = value` separated by newlines or `;`; values are 'single' or "double"
 * quoted strings without escapes that end at the line, """triple""" strings that may span lines, integers,
 * and [ lists ] whose items are separated by commas, may span lines and may end with a comma. `#` starts a
 * comment at the start of a statement or after a value, but not inside a list (libvirt rejects that).
 * One hand-written scanner over that grammar, kept in one function so its states read top to bottom.
 */
function readConf(text: string): ConfEntry[] {
  let pos = 0;
  // Counted where libvirt counts it: newlines between tokens and inside triple-quoted strings (the only places
  // a newline can be consumed), so error lines match libvirt's.
  let line = 1;
  const end = text.length;
  const cur = (): string | undefined => text[pos];
  const found = () => {
    const ch = cur();
    if (ch === undefined) return 'the end of the text';
    if (isEol(ch)) return 'the end of the line';
    return `"${ch}"`;
  };
  const error = (message: string): never => {
    throw new ConfSyntaxError(line, message);
  };
  const skipBlanks = () => {
    while (pos < end && isBlank(cur())) pos += 1;
  };
  const skipBlanksAndEol = () => {
    while (pos < end && (isBlank(cur()) || isEol(cur()))) {
      if (cur() === '\n') line += 1;
      pos += 1;
    }
  };

  const readQuoted = (quote: string): string => {
    pos += 1;
    const base = pos;
    while (pos < end && cur() !== quote && !isEol(cur())) pos += 1;
    if (cur() !== quote) error('A quoted string is not closed before the end of the line.');
    const value = text.slice(base, pos);
    pos += 1;
    return value;
  };

  const readValue = (): ConfValue => {
    skipBlanks();
    const valueLine = line;
    if (pos >= end) error('Expected a value after "=", but the text ends.');
    const ch = cur();
    if (ch === "'") return { type: 'string', value: readQuoted("'"), line: valueLine };
    // libvirt only treats """ as a triple quote when at least 7 characters remain; mirrored exactly.
    if (pos + 6 < end && text.startsWith('"""', pos)) {
      pos += 3;
      const base = pos;
      while (pos + 2 < end && !text.startsWith('"""', pos)) {
        if (cur() === '\n') line += 1;
        pos += 1;
      }
      if (!text.startsWith('"""', pos)) error('A """triple-quoted""" string is not closed.');
      const value = text.slice(base, pos);
      pos += 3;
      return { type: 'string', value, line: valueLine };
    }
    if (ch === '"') return { type: 'string', value: readQuoted('"'), line: valueLine };
    if (ch === '[') {
      pos += 1;
      skipBlanksAndEol();
      const items: ConfValue[] = [];
      if (pos < end && cur() !== ']') {
        items.push(readItem());
        skipBlanksAndEol();
      }
      while (pos < end && cur() !== ']') {
        if (cur() === '#') error('Comments are not allowed inside a [ … ] list; libvirt refuses the whole file.');
        if (cur() !== ',') error(`Expected "," or "]" between list items, found ${found()}.`);
        pos += 1;
        skipBlanksAndEol();
        if (cur() === ']') break;
        items.push(readItem());
        skipBlanksAndEol();
      }
      if (cur() !== ']') error('The list is not closed with "]".');
      pos += 1;
      return { type: 'list', items, line: valueLine };
    }
    if (isDigit(ch) || ch === '-' || ch === '+') {
      if (ch === '-' || ch === '+') pos += 1;
      if (!isDigit(cur())) error(`Expected digits after "${ch}".`);
      while (isDigit(cur())) pos += 1;
      return { type: 'number', line: valueLine };
    }
    return error(`Expected a value (a "string", a number or a [ list ]), found ${found()}.`);
  };

  const readItem = (): ConfValue => {
    if (cur() === '#') error('Comments are not allowed inside a [ … ] list; libvirt refuses the whole file.');
    if (isAlpha(cur())) error(`Expected a list item, found ${found()}; is the list missing its closing "]"?`);
    return readValue();
  };

  const entries: ConfEntry[] = [];
  while (pos < end) {
    skipBlanksAndEol();
    if (cur() === '#') {
      while (pos < end && !isEol(cur())) pos += 1;
    } else {
      skipBlanks();
      if (!isAlpha(cur())) {
        if (pos >= end)
          error(
            'Expected a setting name such as uri_aliases, but the text ends (libvirt rejects text that is only blank).',
          );
        error(`Expected a setting name such as uri_aliases, found ${found()}.`);
      }
      const nameLine = line;
      const base = pos;
      while (pos < end && /^[A-Za-z0-9_]$/.test(cur() ?? '')) pos += 1;
      const name = text.slice(base, pos);
      skipBlanks();
      if (cur() !== '=') error(`Expected "=" after the setting name "${name}", found ${found()}.`);
      pos += 1;
      const value = readValue();
      skipBlanks();
      if (cur() === '#') while (pos < end && !isEol(cur())) pos += 1;
      entries.push({ name, value, line: nameLine });
    }
    skipBlanks();
    if (pos >= end) break;
    if (isEol(cur())) {
      skipBlanksAndEol();
    } else if (cur() === ';') {
      pos += 1;
      skipBlanksAndEol();
    } else {
      error(`Expected a new line or ";" after the value, found ${found()}.`);
    }
  }
  return entries;
}

function describeType(value: ConfValue): string {
  return value.type === 'list' ? 'a list' : value.type === 'number' ? 'a number' : 'a string';
}

function readAliases(options: { value: ConfValue; result: LibvirtConf }) {
  const { value, result } = options;
  if (value.type !== 'list') {
    const hint = value.type === 'string' ? ', e.g. uri_aliases = [ "name=uri" ]' : '';
    result.errors.push({
      line: value.line,
      message: `uri_aliases must be a list of strings${hint}, not ${describeType(value)}; libvirt fails every connection until it is.`,
    });
    return;
  }
  const notString = value.items.find((item) => item.type !== 'string');
  if (notString !== undefined) {
    result.errors.push({
      line: notString.line,
      message: `uri_aliases must contain only strings, but this item is ${describeType(notString)}; libvirt refuses the whole list.`,
    });
    return;
  }
  const firstLine = new Map<string, number>();
  for (const item of value.items) {
    if (item.type !== 'string') continue;
    const entry = item.value;
    const eq = entry.indexOf('=');
    const malformed = 'libvirt reports the entry as malformed whenever a lookup reaches it';
    if (eq < 0) {
      result.errors.push({
        line: item.line,
        message: `The alias entry "${entry}" has no "=" (expected "name=driver://host/path"); ${malformed}.`,
      });
      continue;
    }
    const name = entry.slice(0, eq);
    const uri = entry.slice(eq + 1);
    if (name === '') {
      result.errors.push({ line: item.line, message: `The alias entry "${entry}" has an empty name before "=".` });
      continue;
    }
    if (!isAliasName(name)) {
      result.errors.push({
        line: item.line,
        message: `The alias name "${name}" may only contain letters, digits, "_" and "-"; ${malformed}.`,
      });
      continue;
    }
    const earlier = firstLine.get(name);
    if (earlier !== undefined) {
      result.warnings.push({
        line: item.line,
        message: `The alias "${name}" is defined again; libvirt uses the first definition (line ${earlier}).`,
      });
      continue;
    }
    // Remembered before the URI is checked: libvirt uses the first entry with a name even if its URI is bad.
    firstLine.set(name, item.line);
    const parsed = parseLibvirtUri(uri);
    if (!parsed.ok) {
      result.errors.push({ line: item.line, message: `The alias "${name}" has an invalid URI: ${parsed.error}` });
      continue;
    }
    if (name.toLowerCase() === 'xen') {
      result.warnings.push({
        line: item.line,
        message:
          'libvirt turns the name "xen" into xen:///system before looking up aliases, so virsh never uses this alias.',
      });
    }
    result.aliases.push({ name, uri });
  }
}

function readUriDefault(options: { value: ConfValue; result: LibvirtConf }) {
  const { value, result } = options;
  if (value.type !== 'string') {
    result.errors.push({
      line: value.line,
      message: `uri_default must be a string such as "qemu:///system", not ${describeType(value)}.`,
    });
    return;
  }
  if (isAliasName(value.value)) {
    if (result.aliases.some((alias) => alias.name === value.value)) {
      result.uriDefault = value.value;
    } else {
      result.errors.push({
        line: value.line,
        message: `uri_default "${value.value}" is neither a URI nor one of the aliases defined here.`,
      });
    }
    return;
  }
  const parsed = parseLibvirtUri(value.value);
  if (!parsed.ok) {
    result.errors.push({ line: value.line, message: `uri_default is not a valid URI: ${parsed.error}` });
    return;
  }
  result.uriDefault = value.value;
}

/**
 * Reads `uri_aliases` and `uri_default` from libvirt.conf text. A syntax error makes libvirt ignore the whole
 * file (every connection fails), so it yields no aliases and a single error with its line.
 */
export function parseLibvirtConf(text: string): LibvirtConf {
  const result: LibvirtConf = { aliases: [], errors: [], warnings: [] };
  if (text.length > MAX_CONF_LENGTH) {
    result.errors.push({
      line: 1,
      message: `The text is longer than ${MAX_CONF_LENGTH} characters; paste only libvirt.conf.`,
    });
    return result;
  }
  let entries: ConfEntry[];
  try {
    entries = readConf(text);
  } catch (caught) {
    if (!(caught instanceof ConfSyntaxError)) throw caught;
    result.errors.push({ line: caught.line, message: caught.message });
    return result;
  }

  // virConfGetValue returns the first entry with a name, so a repeated setting is dead text.
  const seen = new Map<string, number>();
  let uriDefault: ConfValue | undefined;
  for (const entry of entries) {
    const earlier = seen.get(entry.name);
    if (earlier !== undefined) {
      result.warnings.push({
        line: entry.line,
        message: `${entry.name} is set again; libvirt uses only the first one (line ${earlier}).`,
      });
      continue;
    }
    seen.set(entry.name, entry.line);
    if (entry.name === 'uri_aliases') {
      readAliases({ value: entry.value, result });
    } else if (entry.name === 'uri_default') {
      uriDefault = entry.value;
    } else if (NOT_IMPORTED_SETTINGS.includes(entry.name)) {
      result.warnings.push({
        line: entry.line,
        message: `${entry.name} is a libvirt client setting that Ferry does not import.`,
      });
    } else {
      const known = ['uri_aliases', 'uri_default', ...NOT_IMPORTED_SETTINGS].find(
        (name) => name === entry.name.toLowerCase(),
      );
      const hint = known === undefined ? '' : ` Setting names are case-sensitive; did you mean ${known}?`;
      result.warnings.push({ line: entry.line, message: `Unknown setting "${entry.name}" ignored.${hint}` });
    }
  }
  // Read after all aliases are known: uri_default may name an alias defined further down.
  if (uriDefault !== undefined) readUriDefault({ value: uriDefault, result });
  result.errors.sort((a, b) => a.line - b.line);
  result.warnings.sort((a, b) => a.line - b.line);
  return result;
}
