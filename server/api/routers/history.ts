import { z } from 'zod';
import { HISTORY_PAGE_SIZE_DEFAULT, HISTORY_PAGE_SIZE_MAX, historyFilterSchema } from '../../history/filters';
import { queryHistoryPage } from '../../history/query';
import { migrationStats } from '../../history/stats';
import { createTRPCRouter, viewerProcedure } from '../trpc';

const listInput = z.object({
  filter: historyFilterSchema,
  cursor: z.string().max(100).nullish(),
  limit: z.number().int().min(1).max(HISTORY_PAGE_SIZE_MAX).default(HISTORY_PAGE_SIZE_DEFAULT),
});

export const historyRouter = createTRPCRouter({
  /** Migrations newest first, one keyset page at a time. */
  list: viewerProcedure
    .input(listInput)
    .query(({ ctx, input }) =>
      queryHistoryPage({ db: ctx.db, filter: input.filter, cursor: input.cursor, limit: input.limit }),
    ),

  /** Chart data for the same filter (last 90 days when it has no time range). */
  stats: viewerProcedure
    .input(z.object({ filter: historyFilterSchema }))
    .query(({ ctx, input }) => migrationStats({ db: ctx.db, filter: input.filter })),
});
