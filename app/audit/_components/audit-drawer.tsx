'use client';

import * as Dialog from '@radix-ui/react-dialog';
import { useQuery } from '@tanstack/react-query';
import { X } from 'lucide-react';
import Link from 'next/link';
import { useTRPC } from '@/trpc/client';
import { ErrorBox } from '../../_components/ui';
import { formatTime } from '../../_lib/format';
import { ResultBadge } from './result-badge';

function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/** One audit row in full: every field, the details JSON and the row's place in the hash chain. */
export function AuditDrawer({ id, onClose }: { id: number | null; onClose: () => void }) {
  const trpc = useTRPC();
  const row = useQuery(trpc.audit.get.queryOptions({ id: id ?? 0 }, { enabled: id !== null }));
  const data = row.data;

  return (
    <Dialog.Root open={id !== null} onOpenChange={(open) => (open ? undefined : onClose())}>
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 bg-slate-900/30" />
        <Dialog.Content className="fixed inset-y-0 right-0 flex w-full max-w-xl flex-col overflow-y-auto bg-white p-5 shadow-xl focus:outline-none">
          <div className="flex items-start justify-between gap-3">
            <Dialog.Title className="text-lg font-semibold">Audit row {id}</Dialog.Title>
            <Dialog.Close className="rounded p-1 text-slate-500 hover:bg-slate-100" aria-label="Close">
              <X className="h-5 w-5" aria-hidden />
            </Dialog.Close>
          </div>
          <Dialog.Description className="sr-only">All recorded fields of this audit row.</Dialog.Description>

          {row.isPending ? <p className="mt-4 text-sm text-slate-500">Loading…</p> : null}
          {row.isError ? (
            <div className="mt-4">
              <ErrorBox title="Could not load this row">{row.error.message}</ErrorBox>
            </div>
          ) : null}
          {data ? (
            <div className="mt-4 space-y-4 text-sm">
              <dl className="grid grid-cols-[8rem_1fr] gap-x-3 gap-y-1.5">
                <dt className="text-slate-500">Time</dt>
                <dd>
                  {formatTime(data.at)}{' '}
                  <span className="text-xs text-slate-400">({new Date(data.at).toISOString()})</span>
                </dd>
                <dt className="text-slate-500">Actor</dt>
                <dd>{data.actor}</dd>
                <dt className="text-slate-500">Client address</dt>
                <dd className="font-mono text-xs">{data.clientAddress ?? '—'}</dd>
                <dt className="text-slate-500">Action</dt>
                <dd className="font-mono text-xs">{data.action}</dd>
                <dt className="text-slate-500">Result</dt>
                <dd>
                  <ResultBadge result={data.result} />
                </dd>
                <dt className="text-slate-500">Host</dt>
                <dd>{data.hostAlias ?? '—'}</dd>
                <dt className="text-slate-500">VM</dt>
                <dd>{data.vmName ?? '—'}</dd>
                <dt className="text-slate-500">Migration</dt>
                <dd>
                  {data.migrationId ? (
                    <Link
                      href={`/migrations/${encodeURIComponent(data.migrationId)}`}
                      className="font-medium text-indigo-700 hover:underline"
                    >
                      Open migration {data.migrationId}
                    </Link>
                  ) : (
                    '—'
                  )}
                </dd>
              </dl>
              <div>
                <h3 className="mb-1 font-medium text-slate-700">Details</h3>
                <pre
                  className="max-h-96 overflow-auto rounded-md bg-slate-50 p-3 font-mono text-xs text-slate-800"
                  data-testid="audit-details"
                >
                  {prettyJson(data.details)}
                </pre>
              </div>
              <div>
                <h3 className="mb-1 font-medium text-slate-700">Hash chain</h3>
                <p className="mb-1 text-xs text-slate-500">
                  SHA-256 over this row and the previous row&apos;s hash; &quot;Verify chain&quot; recomputes them all.
                </p>
                <dl className="grid grid-cols-[8rem_1fr] gap-x-3 gap-y-1 font-mono text-xs break-all">
                  <dt className="font-sans text-slate-500">Previous hash</dt>
                  <dd>{data.prevHash || '(first row)'}</dd>
                  <dt className="font-sans text-slate-500">Hash</dt>
                  <dd>{data.hash}</dd>
                </dl>
              </div>
            </div>
          ) : null}
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
