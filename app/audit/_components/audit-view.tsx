'use client';

import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { auditFilterFromSearchParams, auditFilterSchema, auditFilterToSearchParams } from '@/server/audit/filters';
import { useTRPC } from '@/trpc/client';
import { ExportLinks, ListPage, loadedRows, useUrlFilter, type ListTexts } from '../../_components/list/list-view';
import { AuditDrawer } from './audit-drawer';
import { AuditFilterBar } from './audit-filter-bar';
import { AuditTable } from './audit-table';
import { VerifyChain } from './verify-chain';

const PAGE_SIZE = 50;

const TEXTS: ListTexts = {
  title: 'Audit log',
  description: 'Every change Ferry made or refused, newest first. Rows cannot be edited or deleted.',
  noun: 'row',
  errorTitle: 'Could not load the audit log',
  empty: {
    filtered: [
      'No audit rows match these filters.',
      'Widen the time range, untick some actions, or clear the filters.',
    ],
    none: [
      'Nothing recorded yet.',
      'Adding a host, importing aliases or running a migration writes the first rows here.',
    ],
  },
};

export function AuditView() {
  const trpc = useTRPC();
  const [openId, setOpenId] = useState<number | null>(null);
  const filter = useUrlFilter({
    read: auditFilterFromSearchParams,
    schema: auditFilterSchema,
    write: auditFilterToSearchParams,
  });
  const { parsed } = filter;

  const access = useQuery(trpc.audit.access.queryOptions());
  const list = useInfiniteQuery(
    trpc.audit.list.infiniteQueryOptions(
      { filter: parsed.success ? parsed.data : {}, limit: PAGE_SIZE },
      { enabled: parsed.success, getNextPageParam: (page) => page.nextCursor ?? undefined },
    ),
  );

  return (
    <>
      <ListPage
        texts={TEXTS}
        actions={
          <>
            <ExportLinks basePath="/api/audit/export" params={filter.canonical} what="audit row" />
            {access.data?.canVerify ? <VerifyChain onShowRow={setOpenId} /> : null}
          </>
        }
        filterBar={<AuditFilterBar key={filter.bar.key} initial={filter.bar.initial} onApply={filter.bar.onApply} />}
        query={list}
        filter={filter}
      >
        <AuditTable rows={loadedRows(list)} isLoading={list.isPending} onOpen={setOpenId} />
      </ListPage>
      <AuditDrawer id={openId} onClose={() => setOpenId(null)} />
    </>
  );
}
