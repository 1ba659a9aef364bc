'use client';

import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '@/server/api/root';
import { formatTime } from '../../_lib/format';
import { ResultBadge } from './result-badge';

export type AuditListRow = inferRouterOutputs<AppRouter>['audit']['list']['rows'][number];

const LOADING_ROWS = 5;

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
    <div className="overflow-x-auto">
      <table className="w-full text-sm" aria-label="Audit log" aria-busy={isLoading}>
        <thead>
          <tr className="border-b border-slate-200 text-left text-slate-500">
            <th className="px-3 py-2 font-medium">Time</th>
            <th className="px-3 py-2 font-medium">Actor</th>
            <th className="px-3 py-2 font-medium">Client</th>
            <th className="px-3 py-2 font-medium">Action</th>
            <th className="px-3 py-2 font-medium">Target</th>
            <th className="px-3 py-2 font-medium">Result</th>
            <th className="px-3 py-2 font-medium">Details</th>
          </tr>
        </thead>
        <tbody>
          {isLoading
            ? Array.from({ length: LOADING_ROWS }, (_, i) => (
                <tr key={i} className="border-b border-slate-100">
                  <td colSpan={7} className="px-3 py-2">
                    <div className="h-4 animate-pulse rounded bg-slate-100" />
                    {i === 0 ? <span className="sr-only">Loading the audit log…</span> : null}
                  </td>
                </tr>
              ))
            : rows.map((row) => (
                <tr
                  key={row.id}
                  data-audit-row={row.id}
                  data-action={row.action}
                  onClick={() => onOpen(row.id)}
                  className="cursor-pointer border-b border-slate-100 align-top hover:bg-indigo-50/50"
                >
                  <td className="whitespace-nowrap px-3 py-2">
                    {/* The row is clickable; this button makes it reachable from the keyboard too. */}
                    <button
                      type="button"
                      className="text-indigo-700 hover:underline"
                      onClick={(event) => (event.stopPropagation(), onOpen(row.id))}
                    >
                      <time dateTime={new Date(row.at).toISOString()}>{formatTime(row.at)}</time>
                    </button>
                  </td>
                  <td className="px-3 py-2">{row.actor}</td>
                  <td className="px-3 py-2 font-mono text-xs text-slate-500">{row.clientAddress ?? '—'}</td>
                  <td className="px-3 py-2 font-mono text-xs">{row.action}</td>
                  <td className="px-3 py-2">
                    {row.hostAlias ?? '—'}
                    {row.vmName ? <span className="text-slate-500"> · {row.vmName}</span> : null}
                  </td>
                  <td className="px-3 py-2">
                    <ResultBadge result={row.result} />
                  </td>
                  <td
                    className="max-w-md truncate px-3 py-2 font-mono text-xs text-slate-500"
                    title={row.detailsPreview}
                  >
                    {row.detailsPreview}
                  </td>
                </tr>
              ))}
        </tbody>
      </table>
    </div>
  );
}
