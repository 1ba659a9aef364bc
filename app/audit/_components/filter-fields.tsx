'use client';

import { Download } from 'lucide-react';
import type { ReactNode } from 'react';
import { plural } from '@/server/plural';
import { Button } from '../../_components/ui';

/** `<input type="datetime-local">` speaks local wall time without a zone; the URL keeps UTC ISO. */
export function toLocalInputValue(date: Date | undefined): string {
  if (!date) return '';
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

export function fromLocalInputValue(value: string): string | undefined {
  if (value === '') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

export function FilterField({
  label,
  htmlFor,
  children,
  className = '',
}: {
  label: string;
  htmlFor: string;
  children: ReactNode;
  className?: string;
}) {
  return (
    <div className={`space-y-1 ${className}`}>
      <label htmlFor={htmlFor} className="block text-xs font-medium text-slate-600">
        {label}
      </label>
      {children}
    </div>
  );
}

export const INPUT_CLASSES =
  'block w-full rounded-md border border-slate-300 bg-white px-2 py-1.5 text-sm shadow-sm focus:outline-none focus:ring-2 focus:ring-indigo-500';

/** Links, not buttons: the browser streams the download itself, with the filter of the page as it is. */
export function ExportLinks({ basePath, params, what }: { basePath: string; params: URLSearchParams; what: string }) {
  const query = params.toString();
  const href = (format: 'csv' | 'jsonl') => `${basePath}?format=${format}${query ? `&${query}` : ''}`;
  return (
    <div className="flex items-center gap-2 text-sm">
      <a
        href={href('csv')}
        download
        className="inline-flex items-center gap-1 rounded-md border border-slate-300 bg-white px-3 py-1.5 font-medium text-slate-700 shadow-sm hover:bg-slate-50"
      >
        <Download className="h-4 w-4" aria-hidden />
        Export CSV
      </a>
      <a
        href={href('jsonl')}
        download
        className="inline-flex items-center gap-1 rounded-md border border-slate-300 bg-white px-3 py-1.5 font-medium text-slate-700 shadow-sm hover:bg-slate-50"
      >
        <Download className="h-4 w-4" aria-hidden />
        Export JSONL
      </a>
      <span className="sr-only">Exports contain every {what} matching the current filter.</span>
    </div>
  );
}

export function LoadMore({
  hasMore,
  isLoading,
  onClick,
  shown,
  noun,
}: {
  hasMore: boolean;
  isLoading: boolean;
  onClick: () => void;
  shown: number;
  /** Singular; the helper pluralises it for the count. */
  noun: string;
}) {
  return (
    <div className="flex items-center justify-between px-1 py-3 text-sm text-slate-500">
      <span>
        {plural(shown, noun)} shown{hasMore ? '' : ' — that is all of them'}
      </span>
      {hasMore ? (
        <Button onClick={onClick} disabled={isLoading}>
          {isLoading ? 'Loading…' : 'Load more'}
        </Button>
      ) : null}
    </div>
  );
}
