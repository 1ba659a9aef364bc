import { CliError, EXIT } from './errors';

const UNIT_MS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/**
 * `--since` values: a span back from now (`90s`, `30m`, `12h`, `1d`, `2w`) or a date/time
 * (`2026-12-01`, `2026-12-01T08:00:00Z`). Returns the instant, for the list's `from` filter.
 */
export function parseSince(text: string, now: Date = new Date()): Date {
  const span = /^(\d{1,6})([smhdw])$/.exec(text.trim());
  if (span) return new Date(now.getTime() - Number(span[1]) * (UNIT_MS[span[2] ?? 'd'] ?? 0));
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim())) {
    const date = new Date(text.trim());
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw new CliError(
    EXIT.usage,
    `--since takes a span such as 30m, 12h, 1d, 2w or a date such as 2026-12-01; "${text}" is neither.`,
  );
}
