'use client';

import type { inferRouterOutputs } from '@trpc/server';
import Link from 'next/link';
import type { AppRouter } from '@/server/api/root';
import { Badge } from '../../_components/ui';
import { formatBytes, formatDuration, formatTime } from '../../_lib/format';

export type HistoryListRow = inferRouterOutputs<AppRouter>['history']['list']['rows'][number];

const LOADING_ROWS = 5;

function transferred(row: HistoryListRow): number | null {
  if (row.memoryBytes === null && row.diskBytes === null) return null;
  return (row.memoryBytes ?? 0) + (row.diskBytes ?? 0);
}

export function HistoryTable({ rows, isLoading }: { rows: HistoryListRow[]; isLoading: boolean }) {
  return (
    <div className="overflow-x-auto">
      <table className="w-full text-sm" aria-label="Migration history" aria-busy={isLoading}>
        <thead>
          <tr className="border-b border-slate-200 text-left text-slate-500">
            <th className="px-3 py-2 font-medium">VM</th>
            <th className="px-3 py-2 font-medium">Source → destination</th>
            <th className="px-3 py-2 font-medium">State</th>
            <th className="px-3 py-2 font-medium">Started</th>
            <th className="px-3 py-2 font-medium">Duration</th>
            <th className="px-3 py-2 font-medium">Transferred</th>
            <th className="px-3 py-2 font-medium">By</th>
          </tr>
        </thead>
        <tbody>
          {isLoading
            ? Array.from({ length: LOADING_ROWS }, (_, i) => (
                <tr key={i} className="border-b border-slate-100">
                  <td colSpan={7} className="px-3 py-2">
                    <div className="h-4 animate-pulse rounded bg-slate-100" />
                    {i === 0 ? <span className="sr-only">Loading migrations…</span> : null}
                  </td>
                </tr>
              ))
            : rows.map((row) => (
                <tr
                  key={row.id}
                  data-migration-row={row.id}
                  className="border-b border-slate-100 hover:bg-indigo-50/50"
                >
                  <td className="px-3 py-2">
                    <Link
                      href={`/migrations/${encodeURIComponent(row.id)}`}
                      className="font-medium text-indigo-700 hover:underline"
                    >
                      {row.vmName}
                    </Link>
                  </td>
                  <td className="px-3 py-2">
                    {row.sourceAlias} <span className="text-slate-400">→</span> {row.destinationAlias}
                  </td>
                  <td className="px-3 py-2">
                    <Badge value={row.state} />
                    {row.state === 'failed' && row.errorCode ? (
                      <span className="ml-1.5 font-mono text-xs text-rose-700">{row.errorCode}</span>
                    ) : null}
                  </td>
                  <td className="whitespace-nowrap px-3 py-2">{formatTime(row.startedAt ?? row.createdAt)}</td>
                  <td className="px-3 py-2">{formatDuration(row.durationMs)}</td>
                  <td className="px-3 py-2">{formatBytes(transferred(row))}</td>
                  <td className="px-3 py-2">{row.actor}</td>
                </tr>
              ))}
        </tbody>
      </table>
    </div>
  );
}
