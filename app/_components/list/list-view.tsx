'use client';

import { Download } from 'lucide-react';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import type { ReactNode } from 'react';
import { z } from 'zod';
import { plural } from '@/server/plural';
import { Button, ErrorBox } from '../ui';

/**
 * The frame of a list page whose filter lives in the URL (audit log, migration history): read and check the
 * filter, navigate on apply, and show the page's header, filter bar, table, empty state and "Load more".
 */

/** The page's filter as the URL says it: raw for the form, checked for the query, canonical for links. */
export function useUrlFilter<Input, Filter>(options: {
  read: (params: URLSearchParams) => Input;
  schema: z.ZodType<Filter, Input>;
  write: (filter: Input) => URLSearchParams;
}) {
  const router = useRouter();
  const pathname = usePathname();
  const searchParams = useSearchParams();
  const raw = options.read(new URLSearchParams(searchParams.toString()));
  const parsed = options.schema.safeParse(raw);
  // Exports and the query use the canonical form of what the URL says, so all three agree on the rows.
  const canonical = parsed.success ? options.write(parsed.data as unknown as Input) : new URLSearchParams();
  const apply = (params: URLSearchParams) => {
    const query = params.toString();
    router.push(query ? `${pathname}?${query}` : pathname);
  };
  /** The filter bar's props: a new URL remounts the bar (`key`) with what the URL says. */
  const bar = {
    key: searchParams.toString(),
    initial: raw,
    onApply: (filter: Input) => apply(options.write(filter)),
  };
  return {
    raw,
    parsed,
    canonical,
    hasFilter: canonical.toString() !== '',
    apply,
    bar,
  };
}

/** Links, not buttons: the browser streams the download itself, with the filter of the page as it is. */
export function ExportLinks({ basePath, params, what }: { basePath: string; params: URLSearchParams; what: string }) {
  const query = params.toString();
  const href = (format: 'csv' | 'jsonl') => `${basePath}?format=${format}${query ? `&${query}` : ''}`;
  return (
    <div className="flex items-center gap-2 text-sm">
      {(['csv', 'jsonl'] as const).map((format) => (
        <a
          key={format}
          href={href(format)}
          download
          className="inline-flex items-center gap-1 rounded-md border border-slate-300 bg-white px-3 py-1.5 font-medium text-slate-700 shadow-sm hover:bg-slate-50"
        >
          <Download className="h-4 w-4" aria-hidden />
          Export {format.toUpperCase()}
        </a>
      ))}
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

export function InvalidFilter({ error }: { error: z.ZodError }) {
  return (
    <ErrorBox title="This link's filter is not valid">
      <p>{z.prettifyError(error)}</p>
      <p>Fix the field above and apply, or clear the filters.</p>
    </ErrorBox>
  );
}

/** A list's words: heading, description, singular noun ("row"), load-error title, and what it says when empty. */
export type ListTexts = {
  title: string;
  description: string;
  noun: string;
  errorTitle: string;
  /** When a filter hides every row, and when there is nothing yet: a title and a hint each. */
  empty: { filtered: [title: string, hint: string]; none: [title: string, hint: string] };
};

/** An infinite tRPC list query, as the list body needs it. */
type ListQuery = {
  data?: { pages: { rows: readonly unknown[] }[] };
  isPending: boolean;
  isError: boolean;
  error: { message: string } | null;
  refetch: () => unknown;
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  fetchNextPage: () => unknown;
};

type ListFilter = {
  parsed: { error?: z.ZodError };
  hasFilter: boolean;
  apply: (params: URLSearchParams) => void;
};

/** Every row the list query has loaded so far. */
export function loadedRows<Row>(query: { data?: { pages: { rows: Row[] }[] } }): Row[] {
  return query.data?.pages.flatMap((page) => page.rows) ?? [];
}

/**
 * The table with what surrounds it: the invalid-filter message, the load error with "Try again", the empty
 * state ("Clear filters" when a filter hides everything), and "Load more".
 */
export function ListBody({
  query,
  filter,
  texts,
  children,
}: {
  query: ListQuery;
  filter: ListFilter;
  texts: ListTexts;
  /** The table. */
  children: ReactNode;
}) {
  if (filter.parsed.error) return <InvalidFilter error={filter.parsed.error} />;
  if (query.isError) {
    return (
      <ErrorBox title={texts.errorTitle}>
        <p>{query.error?.message}</p>
        <Button className="mt-2" onClick={() => query.refetch()}>
          Try again
        </Button>
      </ErrorBox>
    );
  }
  const shown = query.data?.pages.reduce((count, page) => count + page.rows.length, 0) ?? 0;
  const [title, hint] = filter.hasFilter ? texts.empty.filtered : texts.empty.none;
  return (
    <div className="rounded-lg border border-slate-200 bg-white shadow-sm">
      {children}
      {query.isPending ? null : shown === 0 ? (
        <div className="px-4 py-10 text-center text-sm text-slate-500" role="status">
          <p className="font-medium text-slate-700">{title}</p>
          <p>{hint}</p>
          {filter.hasFilter ? (
            <Button className="mt-3" onClick={() => filter.apply(new URLSearchParams())}>
              Clear filters
            </Button>
          ) : null}
        </div>
      ) : (
        <LoadMore
          hasMore={query.hasNextPage}
          isLoading={query.isFetchingNextPage}
          onClick={() => query.fetchNextPage()}
          shown={shown}
          noun={texts.noun}
        />
      )}
    </div>
  );
}

/** A whole list page: heading with actions (exports), the filter bar, what sits above the list, the list. */
export function ListPage({
  texts,
  actions,
  filterBar,
  aboveList,
  query,
  filter,
  children,
}: {
  texts: ListTexts;
  actions: ReactNode;
  filterBar: ReactNode;
  /** Charts, for the migration history. */
  aboveList?: ReactNode;
  query: ListQuery;
  filter: ListFilter;
  /** The table. */
  children: ReactNode;
}) {
  return (
    <div className="space-y-4">
      {/* Actions sit left-aligned under the title: an answer that appears after a button (the chain check's) wraps
          below it, so no button moves when it arrives. */}
      <div className="space-y-3">
        <div>
          <h1 className="text-2xl font-semibold tracking-tight">{texts.title}</h1>
          <p className="text-sm text-slate-500">{texts.description}</p>
        </div>
        <div className="flex flex-wrap items-center gap-2">{actions}</div>
      </div>
      {filterBar}
      {aboveList}
      <ListBody query={query} filter={filter} texts={texts}>
        {children}
      </ListBody>
    </div>
  );
}
