'use client';

import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '@/server/api/root';
import {
  historyFilterFromSearchParams,
  historyFilterSchema,
  historyFilterToSearchParams,
} from '@/server/history/filters';
import { useTRPC } from '@/trpc/client';
import { ExportLinks, ListPage, loadedRows, useUrlFilter, type ListTexts } from '../../_components/list/list-view';
import { ErrorBox } from '../../_components/ui';
import { DurationChart, FailureCausesChart, PerDayChart } from './charts';
import { HistoryFilterBar } from './history-filter-bar';
import { HistoryTable } from './history-table';

const PAGE_SIZE = 50;

const TEXTS: ListTexts = {
  title: 'Migrations',
  description: 'Every migration Ferry ran or tried, newest first.',
  noun: 'migration',
  errorTitle: 'Could not load migrations',
  empty: {
    filtered: ['No migrations match these filters.', 'Widen the time range, tick more states, or clear the filters.'],
    none: [
      'No migrations yet.',
      'Start one from a VM card on the Fleet page; it will be listed here with its outcome.',
    ],
  },
};

function windowLabel(window: { from: Date; to: Date; isDefault: boolean }): string {
  const days = Math.round((new Date(window.to).getTime() - new Date(window.from).getTime()) / 86_400_000);
  return window.isDefault ? `last ${days} days (set a time range to change)` : `${days} days, UTC`;
}

export function HistoryView() {
  const trpc = useTRPC();
  const urlFilter = useUrlFilter({
    read: historyFilterFromSearchParams,
    schema: historyFilterSchema,
    write: historyFilterToSearchParams,
  });
  const { parsed } = urlFilter;
  const filter = parsed.success ? parsed.data : {};

  const list = useInfiniteQuery(
    trpc.history.list.infiniteQueryOptions(
      { filter, limit: PAGE_SIZE },
      { enabled: parsed.success, getNextPageParam: (page) => page.nextCursor ?? undefined },
    ),
  );
  const stats = useQuery(trpc.history.stats.queryOptions({ filter }, { enabled: parsed.success }));

  return (
    <ListPage
      texts={TEXTS}
      actions={<ExportLinks basePath="/api/migrations/export" params={urlFilter.canonical} what="migration" />}
      filterBar={
        <HistoryFilterBar key={urlFilter.bar.key} initial={urlFilter.bar.initial} onApply={urlFilter.bar.onApply} />
      }
      aboveList={parsed.success ? <HistoryCharts stats={stats} /> : null}
      query={list}
      filter={urlFilter}
    >
      <HistoryTable rows={loadedRows(list)} isLoading={list.isPending} />
    </ListPage>
  );
}

type HistoryStats = inferRouterOutputs<AppRouter>['history']['stats'];

function HistoryCharts({ stats }: { stats: { error: { message: string } | null; data?: HistoryStats } }) {
  if (stats.error) return <ErrorBox title="Could not load the charts">{stats.error.message}</ErrorBox>;
  if (!stats.data) return <div className="h-48 animate-pulse rounded-lg bg-slate-100" aria-label="Loading charts" />;
  return (
    <div className="grid gap-4 lg:grid-cols-3">
      <div className="lg:col-span-3">
        <PerDayChart days={stats.data.perDay} subtitle={windowLabel(stats.data.window)} />
      </div>
      <div className="lg:col-span-2">
        <DurationChart buckets={stats.data.durations} />
      </div>
      <FailureCausesChart causes={stats.data.failureCauses} />
    </div>
  );
}
