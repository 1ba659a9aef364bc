import { z } from 'zod';
import { optionalDate, optionalText } from '../audit/filters';

/** Shared by the history router, the export route and the page (pure: the browser imports it for the URL). */

export const MIGRATION_STATES = [
  'queued',
  'preflight',
  'running',
  'cancelling',
  'succeeded',
  'failed',
  'cancelled',
] as const;
export type MigrationState = (typeof MIGRATION_STATES)[number];

export const HISTORY_PAGE_SIZE_DEFAULT = 50;
export const HISTORY_PAGE_SIZE_MAX = 200;

export const historyFilterSchema = z
  .object({
    from: optionalDate,
    to: optionalDate,
    states: z
      .array(z.enum(MIGRATION_STATES))
      .optional()
      .transform((value) => (value && value.length > 0 ? [...new Set(value)] : undefined)),
    /** Matches the source or the destination. */
    host: optionalText(64),
    vm: optionalText(255),
  })
  .refine((filter) => !filter.from || !filter.to || filter.from < filter.to, {
    message: '"From" must be before "to".',
    path: ['to'],
  });

export type HistoryFilter = Partial<z.output<typeof historyFilterSchema>>;
export type HistoryFilterInput = z.input<typeof historyFilterSchema>;

const PARAM = { from: 'from', to: 'to', state: 'state', host: 'host', vm: 'vm' } as const;

export function historyFilterFromSearchParams(params: URLSearchParams): HistoryFilterInput {
  const states = params.getAll(PARAM.state).filter((value) => value.trim() !== '');
  return {
    from: params.get(PARAM.from) ?? undefined,
    to: params.get(PARAM.to) ?? undefined,
    // Unknown states are passed on for the schema to reject with a message rather than dropped silently.
    states: states.length > 0 ? (states as MigrationState[]) : undefined,
    host: params.get(PARAM.host) ?? undefined,
    vm: params.get(PARAM.vm) ?? undefined,
  };
}

export function historyFilterToSearchParams(filter: HistoryFilterInput): URLSearchParams {
  const params = new URLSearchParams();
  const put = (key: string, value: string | Date | undefined | null) => {
    if (value === undefined || value === null) return;
    const text = value instanceof Date ? value.toISOString() : value.trim();
    if (text !== '') params.set(key, text);
  };
  put(PARAM.from, filter.from);
  put(PARAM.to, filter.to);
  for (const state of filter.states ?? []) params.append(PARAM.state, state);
  put(PARAM.host, filter.host);
  put(PARAM.vm, filter.vm);
  return params;
}
