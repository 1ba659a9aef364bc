import { z } from 'zod';
import { MIGRATION_STATES, type MigrationState } from '../migrations/types';
import {
  DATE_RANGE_RULE,
  optionalChoices,
  optionalDate,
  optionalText,
  readFilterParams,
  writeFilterParams,
} from '../lists/url-filter';

export { MIGRATION_STATES, type MigrationState };

/** Shared by the history router, the export route and the page (pure: the browser imports it for the URL). */

export const HISTORY_PAGE_SIZE_DEFAULT = 50;
export const HISTORY_PAGE_SIZE_MAX = 200;

export const historyFilterSchema = z
  .object({
    from: optionalDate,
    to: optionalDate,
    states: optionalChoices(z.array(z.enum(MIGRATION_STATES))),
    /** Matches the source or the destination. */
    host: optionalText(64),
    vm: optionalText(255),
  })
  .refine(...DATE_RANGE_RULE);

export type HistoryFilter = Partial<z.output<typeof historyFilterSchema>>;
export type HistoryFilterInput = z.input<typeof historyFilterSchema>;

/** URL parameter names; `state` repeats for several states. */
const SINGLE_PARAMS = ['from', 'to', 'host', 'vm'] as const;

export function historyFilterFromSearchParams(params: URLSearchParams): HistoryFilterInput {
  const { state, ...single } = readFilterParams(params, { single: SINGLE_PARAMS, lists: ['state'] });
  // Unknown states are passed on for the schema to reject with a message rather than dropped silently.
  return { ...single, states: state as MigrationState[] | undefined };
}

export function historyFilterToSearchParams(filter: HistoryFilterInput): URLSearchParams {
  return writeFilterParams([
    ['from', filter.from],
    ['to', filter.to],
    ['state', filter.states],
    ['host', filter.host],
    ['vm', filter.vm],
  ]);
}
