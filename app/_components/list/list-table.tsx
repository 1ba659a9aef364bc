'use client';

import type { HTMLAttributes, ReactNode } from 'react';

const LOADING_ROWS = 5;

export type ListColumn<Row> = {
  header: string;
  cell: (row: Row) => ReactNode;
  /** Classes of the cell besides the padding. */
  className?: string;
};

/** A list page's table: a header, pulsing placeholder rows while the first page loads, then one row per item. */
export function ListTable<Row>({
  label,
  loadingText,
  columns,
  rows,
  isLoading,
  rowKey,
  rowProps,
}: {
  /** The table's accessible name: "Audit log". */
  label: string;
  /** Read by screen readers while loading: "Loading the audit log…". */
  loadingText: string;
  columns: readonly ListColumn<Row>[];
  rows: readonly Row[];
  isLoading: boolean;
  rowKey: (row: Row) => string | number;
  /** Extra attributes of a row (data-* for tests, onClick, classes). */
  rowProps?: (row: Row) => HTMLAttributes<HTMLTableRowElement> & Record<`data-${string}`, string | number>;
}) {
  return (
    <div className="overflow-x-auto">
      <table className="w-full text-sm" aria-label={label} aria-busy={isLoading}>
        <thead>
          <tr className="border-b border-slate-200 text-left text-slate-500">
            {columns.map((column) => (
              <th key={column.header} className="px-3 py-2 font-medium">
                {column.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {isLoading
            ? Array.from({ length: LOADING_ROWS }, (_, i) => (
                <tr key={i} className="border-b border-slate-100">
                  <td colSpan={columns.length} className="px-3 py-2">
                    <div className="h-4 animate-pulse rounded bg-slate-100" />
                    {i === 0 ? <span className="sr-only">{loadingText}</span> : null}
                  </td>
                </tr>
              ))
            : rows.map((row) => {
                const { className = '', ...props } = rowProps?.(row) ?? {};
                return (
                  <tr
                    key={rowKey(row)}
                    className={`border-b border-slate-100 hover:bg-indigo-50/50 ${className}`}
                    {...props}
                  >
                    {columns.map((column) => (
                      <td key={column.header} className={`px-3 py-2 ${column.className ?? ''}`}>
                        {column.cell(row)}
                      </td>
                    ))}
                  </tr>
                );
              })}
        </tbody>
      </table>
    </div>
  );
}
