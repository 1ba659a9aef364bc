import { ParseError } from './parse-error';

/** Shared helpers for virsh's line-oriented output. Pure: no I/O. */

export type NumberedLine = { text: string; number: number };

/** Splits on '\n' (a stray '\r' from a remote shell is dropped) and numbers lines from 1; blank lines are kept. */
export function numberedLines(text: string): NumberedLine[] {
  return text
    .split('\n')
    .map((line, index) => ({ text: line.endsWith('\r') ? line.slice(0, -1) : line, number: index + 1 }));
}

export function nonBlankLines(text: string): NumberedLine[] {
  return numberedLines(text).filter((line) => line.text.trim() !== '');
}

/** A non-negative whole number that fits a JS number exactly (byte counts reach 2^53 only beyond 8 PiB). */
export function parseCount(options: { command: string; value: string; line: NumberedLine; what: string }): number {
  const { command, value, line, what } = options;
  if (!/^\d+$/.test(value)) {
    throw new ParseError({
      command,
      reason: `${what} is not a whole number (${JSON.stringify(value)})`,
      line: line.text,
      lineNumber: line.number,
    });
  }
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed)) {
    throw new ParseError({
      command,
      reason: `${what} is too large (${value})`,
      line: line.text,
      lineNumber: line.number,
    });
  }
  return parsed;
}

/** "131072 KiB" → bytes. virsh prints memory in KiB everywhere (dominfo, nodeinfo). */
export function parseKibToBytes(options: { command: string; value: string; line: NumberedLine; what: string }): number {
  const match = /^(\d+) KiB$/.exec(options.value);
  if (match === null) {
    throw new ParseError({
      command: options.command,
      reason: `${options.what} is not "<n> KiB" (${JSON.stringify(options.value)})`,
      line: options.line.text,
      lineNumber: options.line.number,
    });
  }
  return parseCount({ ...options, value: match[1] as string }) * 1024;
}

/**
 * Reads `Key:   value` lines. virsh prints these with printf("%-15s %s") (dominfo) or similar fixed
 * widths, so the value is what follows the colon and the padding; a value's own trailing spaces are kept
 * only where the caller asks for fixed columns. Every non-blank line must have a colon: anything else is
 * a ParseError, since it means the output is not what we think it is.
 */
export function parseKeyValueLines(options: {
  command: string;
  text: string;
}): Map<string, { value: string; line: NumberedLine }> {
  const entries = new Map<string, { value: string; line: NumberedLine }>();
  for (const line of nonBlankLines(options.text)) {
    const colon = line.text.indexOf(':');
    if (colon <= 0) {
      throw new ParseError({
        command: options.command,
        reason: 'expected "Key: value"',
        line: line.text,
        lineNumber: line.number,
      });
    }
    const key = line.text.slice(0, colon).trim();
    const value = line.text.slice(colon + 1).trim();
    if (!entries.has(key)) entries.set(key, { value, line });
  }
  return entries;
}

export function requireEntry(
  entries: Map<string, { value: string; line: NumberedLine }>,
  options: { command: string; key: string },
): { value: string; line: NumberedLine } {
  const entry = entries.get(options.key);
  if (entry === undefined) throw new ParseError({ command: options.command, reason: `no "${options.key}:" line` });
  return entry;
}
