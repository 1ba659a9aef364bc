'use client';

import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useState } from 'react';
import { z } from 'zod';
import { auditFilterFromSearchParams, auditFilterSchema, auditFilterToSearchParams } from '@/server/audit/filters';
import { useTRPC } from '@/trpc/client';
import { Button, ErrorBox } from '../../_components/ui';
import { AuditDrawer } from './audit-drawer';
import { AuditFilterBar } from './audit-filter-bar';
import { AuditTable } from './audit-table';
import { ExportLinks, LoadMore } from './filter-fields';
import { VerifyChain } from './verify-chain';

const PAGE_SIZE = 50;

export function AuditView() {
  const trpc = useTRPC();
  const router = useRouter();
  const pathname = usePathname();
  const searchParams = useSearchParams();
  const [openId, setOpenId] = useState<number | null>(null);

  const raw = auditFilterFromSearchParams(new URLSearchParams(searchParams.toString()));
  const parsed = auditFilterSchema.safeParse(raw);
  // Exports and the query use the canonical form of what the URL says, so all three agree on the rows.
  const canonical = parsed.success ? auditFilterToSearchParams(parsed.data) : new URLSearchParams();
  const hasFilter = canonical.toString() !== '';

  const access = useQuery(trpc.audit.access.queryOptions());
  const list = useInfiniteQuery(
    trpc.audit.list.infiniteQueryOptions(
      { filter: parsed.success ? parsed.data : {}, limit: PAGE_SIZE },
      { enabled: parsed.success, getNextPageParam: (page) => page.nextCursor ?? undefined },
    ),
  );
  const rows = list.data?.pages.flatMap((page) => page.rows) ?? [];

  const apply = (params: URLSearchParams) => {
    const query = params.toString();
    router.push(query ? `${pathname}?${query}` : pathname);
  };

  return (
    <div className="space-y-4">
      {/* Actions sit left-aligned under the title: the chain check's answer appears after its button and wraps
          below it, so no button moves when it arrives. */}
      <div className="space-y-3">
        <div>
          <h1 className="text-2xl font-semibold tracking-tight">Audit log</h1>
          <p className="text-sm text-slate-500">
            Every change Ferry made or refused, newest first. Rows cannot be edited or deleted.
          </p>
        </div>
        <div className="flex flex-wrap items-center gap-2">
          <ExportLinks basePath="/api/audit/export" params={canonical} what="audit row" />
          {access.data?.canVerify ? <VerifyChain onShowRow={setOpenId} /> : null}
        </div>
      </div>

      <AuditFilterBar key={searchParams.toString()} initial={raw} onApply={apply} />

      {!parsed.success ? (
        <ErrorBox title="This link's filter is not valid">
          <p>{z.prettifyError(parsed.error)}</p>
          <p>Fix the field above and apply, or clear the filters.</p>
        </ErrorBox>
      ) : list.isError ? (
        <ErrorBox title="Could not load the audit log">
          <p>{list.error.message}</p>
          <Button className="mt-2" onClick={() => list.refetch()}>
            Try again
          </Button>
        </ErrorBox>
      ) : (
        <div className="rounded-lg border border-slate-200 bg-white shadow-sm">
          <AuditTable rows={rows} isLoading={list.isPending} onOpen={setOpenId} />
          {list.isPending ? null : rows.length === 0 ? (
            <div className="px-4 py-10 text-center text-sm text-slate-500" role="status">
              {hasFilter ? (
                <>
                  <p className="font-medium text-slate-700">No audit rows match these filters.</p>
                  <p>Widen the time range, untick some actions, or clear the filters.</p>
                  <Button className="mt-3" onClick={() => apply(new URLSearchParams())}>
                    Clear filters
                  </Button>
                </>
              ) : (
                <>
                  <p className="font-medium text-slate-700">Nothing recorded yet.</p>
                  <p>Adding a host, importing aliases or running a migration writes the first rows here.</p>
                </>
              )}
            </div>
          ) : (
            <LoadMore
              hasMore={list.hasNextPage}
              isLoading={list.isFetchingNextPage}
              onClick={() => list.fetchNextPage()}
              shown={rows.length}
              noun="row"
            />
          )}
        </div>
      )}

      <AuditDrawer id={openId} onClose={() => setOpenId(null)} />
    </div>
  );
}
