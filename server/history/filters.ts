import { z } from 'zod';
import { MIGRATION_STATES, type MigrationState } from '../migrations/types';
import { dateRangeFilterSchema, optionalChoices, filterUrlCodec, optionalText } from '../lists/url-filter';

export { MIGRATION_STATES, type MigrationState };

/** Shared by the history router, the export route and the page (pure: the browser imports it for the URL). */

export const HISTORY_PAGE_SIZE_DEFAULT = 50;
export const HISTORY_PAGE_SIZE_MAX = 200;

export const historyFilterSchema = dateRangeFilterSchema({
  states: optionalChoices(z.array(z.enum(MIGRATION_STATES))),
  /** Matches the source or the destination. */
  host: optionalText(64),
  vm: optionalText(255),
});

export type HistoryFilter = Partial<z.output<typeof historyFilterSchema>>;
export type HistoryFilterInput = z.input<typeof historyFilterSchema>;

/** URL parameter names; `state` repeats for several states. */
const historyUrl = filterUrlCodec<HistoryFilterInput>({
  params: { from: 'from', to: 'to', states: 'state', host: 'host', vm: 'vm' },
  lists: ['states'],
});

export const historyFilterFromSearchParams = historyUrl.read;
export const historyFilterToSearchParams = historyUrl.write;
