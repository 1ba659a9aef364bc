'use client';

import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '@/server/api/root';
import { ListTable, type ListColumn } from '../../_components/list/list-table';
import { formatTime } from '../../_lib/format';
import { ResultBadge } from './result-badge';

export type AuditListRow = inferRouterOutputs<AppRouter>['audit']['list']['rows'][number];

function columns(onOpen: (id: number) => void): ListColumn<AuditListRow>[] {
  return [
    {
      header: 'Time',
      className: 'whitespace-nowrap',
      cell: (row) => (
        // The row is clickable; this button makes it reachable from the keyboard too.
        <button
          type="button"
          className="text-indigo-700 hover:underline"
          onClick={(event) => (event.stopPropagation(), onOpen(row.id))}
        >
          <time dateTime={new Date(row.at).toISOString()}>{formatTime(row.at)}</time>
        </button>
      ),
    },
    { header: 'Actor', cell: (row) => row.actor },
    {
      header: 'Client',
      className: 'font-mono text-xs text-slate-500',
      cell: (row) => row.clientAddress ?? '—',
    },
    { header: 'Action', className: 'font-mono text-xs', cell: (row) => row.action },
    {
      header: 'Target',
      cell: (row) => (
        <>
          {row.hostAlias ?? '—'}
          {row.vmName ? <span className="text-slate-500"> · {row.vmName}</span> : null}
        </>
      ),
    },
    { header: 'Result', cell: (row) => <ResultBadge result={row.result} /> },
    {
      header: 'Details',
      className: 'max-w-md truncate font-mono text-xs text-slate-500',
      cell: (row) => <span title={row.detailsPreview}>{row.detailsPreview}</span>,
    },
  ];
}

export function AuditTable({
  rows,
  isLoading,
  onOpen,
}: {
  rows: AuditListRow[];
  isLoading: boolean;
  onOpen: (id: number) => void;
}) {
  return (
    <ListTable
      label="Audit log"
      loadingText="Loading the audit log…"
      columns={columns(onOpen)}
      rows={rows}
      isLoading={isLoading}
      rowKey={(row) => row.id}
      rowProps={(row) => ({
        'data-audit-row': row.id,
        'data-action': row.action,
        onClick: () => onOpen(row.id),
        className: 'cursor-pointer align-top',
      })}
    />
  );
}
