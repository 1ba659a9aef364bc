'use client';

import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { z } from 'zod';
import {
  historyFilterFromSearchParams,
  historyFilterSchema,
  historyFilterToSearchParams,
} from '@/server/history/filters';
import { plural } from '@/server/plural';
import { useTRPC } from '@/trpc/client';
import { Button, ErrorBox } from '../../_components/ui';
import { ExportLinks, LoadMore } from '../../audit/_components/filter-fields';
import { DurationChart, FailureCausesChart, PerDayChart } from './charts';
import { HistoryFilterBar } from './history-filter-bar';
import { HistoryTable } from './history-table';

const PAGE_SIZE = 50;

function windowLabel(window: { from: Date; to: Date; isDefault: boolean }): string {
  const days = Math.round((new Date(window.to).getTime() - new Date(window.from).getTime()) / 86_400_000);
  return window.isDefault ? `last ${plural(days, 'day')} (set a time range to change)` : `${plural(days, 'day')}, UTC`;
}

export function HistoryView() {
  const trpc = useTRPC();
  const router = useRouter();
  const pathname = usePathname();
  const searchParams = useSearchParams();

  const raw = historyFilterFromSearchParams(new URLSearchParams(searchParams.toString()));
  const parsed = historyFilterSchema.safeParse(raw);
  const canonical = parsed.success ? historyFilterToSearchParams(parsed.data) : new URLSearchParams();
  const hasFilter = canonical.toString() !== '';
  const filter = parsed.success ? parsed.data : {};

  const list = useInfiniteQuery(
    trpc.history.list.infiniteQueryOptions(
      { filter, limit: PAGE_SIZE },
      { enabled: parsed.success, getNextPageParam: (page) => page.nextCursor ?? undefined },
    ),
  );
  const stats = useQuery(trpc.history.stats.queryOptions({ filter }, { enabled: parsed.success }));
  const rows = list.data?.pages.flatMap((page) => page.rows) ?? [];

  const apply = (params: URLSearchParams) => {
    const query = params.toString();
    router.push(query ? `${pathname}?${query}` : pathname);
  };

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-end justify-between gap-3">
        <div>
          <h1 className="text-2xl font-semibold tracking-tight">Migrations</h1>
          <p className="text-sm text-slate-500">Every migration Ferry ran or tried, newest first.</p>
        </div>
        <ExportLinks basePath="/api/migrations/export" params={canonical} what="migration" />
      </div>

      <HistoryFilterBar key={searchParams.toString()} initial={raw} onApply={apply} />

      {!parsed.success ? (
        <ErrorBox title="This link's filter is not valid">
          <p>{z.prettifyError(parsed.error)}</p>
          <p>Fix the field above and apply, or clear the filters.</p>
        </ErrorBox>
      ) : (
        <>
          {stats.isError ? (
            <ErrorBox title="Could not load the charts">{stats.error.message}</ErrorBox>
          ) : stats.data ? (
            <div className="grid gap-4 lg:grid-cols-3">
              <div className="lg:col-span-3">
                <PerDayChart days={stats.data.perDay} subtitle={windowLabel(stats.data.window)} />
              </div>
              <div className="lg:col-span-2">
                <DurationChart buckets={stats.data.durations} />
              </div>
              <FailureCausesChart causes={stats.data.failureCauses} />
            </div>
          ) : (
            <div className="h-48 animate-pulse rounded-lg bg-slate-100" aria-label="Loading charts" />
          )}

          {list.isError ? (
            <ErrorBox title="Could not load migrations">
              <p>{list.error.message}</p>
              <Button className="mt-2" onClick={() => list.refetch()}>
                Try again
              </Button>
            </ErrorBox>
          ) : (
            <div className="rounded-lg border border-slate-200 bg-white shadow-sm">
              <HistoryTable rows={rows} isLoading={list.isPending} />
              {list.isPending ? null : rows.length === 0 ? (
                <div className="px-4 py-10 text-center text-sm text-slate-500" role="status">
                  {hasFilter ? (
                    <>
                      <p className="font-medium text-slate-700">No migrations match these filters.</p>
                      <p>Widen the time range, tick more states, or clear the filters.</p>
                      <Button className="mt-3" onClick={() => apply(new URLSearchParams())}>
                        Clear filters
                      </Button>
                    </>
                  ) : (
                    <>
                      <p className="font-medium text-slate-700">No migrations yet.</p>
                      <p>Start one from a VM card on the Fleet page; it will be listed here with its outcome.</p>
                    </>
                  )}
                </div>
              ) : (
                <LoadMore
                  hasMore={list.hasNextPage}
                  isLoading={list.isFetchingNextPage}
                  onClick={() => list.fetchNextPage()}
                  shown={rows.length}
                  noun="migration"
                />
              )}
            </div>
          )}
        </>
      )}
    </div>
  );
}
