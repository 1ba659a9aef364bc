export type CsvValue = string | number | null;

/** A field that a spreadsheet would run as a formula: = + - @, TAB, CR, and their full-width forms. */
const FORMULA_START = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;
const NEEDS_QUOTES = /[",\r\n]/;

function csvField(value: CsvValue): string {
  if (value === null) return '';
  // A negative number is data, not a formula.
  if (typeof value === 'number') return String(value);
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * CSV records (RFC 4180: CRLF, quotes doubled, fields with a comma, quote, CR or LF quoted) that are safe to
 * open in a spreadsheet: a text field starting with = + - @ TAB or CR (or their full-width forms) gets a
 * leading apostrophe, so `=HYPERLINK(…)` typed into a VM description reads as text instead of running.
 *
 * Hand-written rather than csv-stringify: the export spent three quarters of its time in csv-stringify's
 * per-field machinery (33 µs a row); these rules are all an export needs, and csv.test.ts pins them.
 */
export function toCsv(records: CsvValue[][]): string {
  let out = '';
  for (const record of records) out += `${record.map(csvField).join(',')}\r\n`;
  return out;
}

export function csvTimestamp(date: Date | null): string | null {
  return date ? date.toISOString() : null;
}
