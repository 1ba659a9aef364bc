/**
 * Text for a terminal. Names come from hypervisors (a VM may be called anything libvirt accepts), so every cell
 * is shown with control characters escaped: an escape sequence in a VM name must not repaint the screen.
 */

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

export function printable(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export type Cell = string | number | null | undefined;

function cellText(value: Cell): string {
  if (value === null || value === undefined || value === '') return '-';
  return printable(String(value));
}

/** Columns padded to their widest cell, two spaces apart; the last column is not padded. */
export function table(headers: string[], rows: Cell[][]): string {
  const text = [headers, ...rows.map((row) => row.map(cellText))];
  const widths = headers.map((_, column) => Math.max(...text.map((row) => (row[column] ?? '').length)));
  return text
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : (cell ?? '').padEnd(widths[column] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** JSON for scripts: Dates as ISO strings (JSON.stringify does that), one document, a trailing newline. */
export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
