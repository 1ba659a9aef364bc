'use client';

import type { inferRouterOutputs } from '@trpc/server';
import Link from 'next/link';
import type { AppRouter } from '@/server/api/root';
import { ListTable, type ListColumn } from '../../_components/list/list-table';
import { Badge } from '../../_components/ui';
import { formatBytes, formatDuration, formatTime } from '../../_lib/format';
import { useActiveMigrations } from '../../_lib/use-active-migrations';

export type HistoryListRow = inferRouterOutputs<AppRouter>['history']['list']['rows'][number];

function transferred(row: HistoryListRow): number | null {
  if (row.memoryBytes === null && row.diskBytes === null) return null;
  return (row.memoryBytes ?? 0) + (row.diskBytes ?? 0);
}

function columns(positions: Map<string, number>): ListColumn<HistoryListRow>[] {
  return [
    {
      header: 'VM',
      cell: (row) => (
        <Link
          href={`/migrations/${encodeURIComponent(row.id)}`}
          className="font-medium text-indigo-700 hover:underline"
        >
          {row.vmName}
        </Link>
      ),
    },
    {
      header: 'Source → destination',
      cell: (row) => (
        <>
          {row.sourceAlias} <span className="text-slate-400">→</span> {row.destinationAlias}
        </>
      ),
    },
    {
      header: 'State',
      cell: (row) => (
        <>
          <Badge value={row.state} />
          {row.state === 'queued' && positions.get(row.id) ? (
            <span className="ml-1.5 text-xs text-sky-800" data-queue-position={positions.get(row.id)}>
              #{positions.get(row.id)} in queue
            </span>
          ) : null}
          {row.state === 'failed' && row.errorCode ? (
            <span className="ml-1.5 font-mono text-xs text-rose-700">{row.errorCode}</span>
          ) : null}
        </>
      ),
    },
    { header: 'Started', className: 'whitespace-nowrap', cell: (row) => formatTime(row.startedAt ?? row.createdAt) },
    { header: 'Duration', cell: (row) => formatDuration(row.durationMs) },
    { header: 'Transferred', cell: (row) => formatBytes(transferred(row)) },
    { header: 'By', cell: (row) => row.actor },
  ];
}

export function HistoryTable({ rows, isLoading }: { rows: HistoryListRow[]; isLoading: boolean }) {
  const active = useActiveMigrations();
  const positions = new Map(
    (active.data ?? []).flatMap((job) => (job.queue && job.queue.position > 0 ? [[job.id, job.queue.position]] : [])),
  );
  return (
    <ListTable
      label="Migration history"
      loadingText="Loading migrations…"
      columns={columns(positions)}
      rows={rows}
      isLoading={isLoading}
      rowKey={(row) => row.id}
      rowProps={(row) => ({ 'data-migration-row': row.id })}
    />
  );
}
