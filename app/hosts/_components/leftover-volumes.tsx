'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useTRPC } from '@/trpc/client';
import { RemoveLeftoverButton, useIsOperator } from '../../_components/remove-leftover-button';
import { Badge, ErrorBox } from '../../_components/ui';
import { formatBytes, formatTime } from '../../_lib/format';

const ROLE_LABEL = { source: 'kept source', 'copy-target': 'copy', precreated: 'pre-created' } as const;

/** The host page's "Leftover volumes": what Ferry created or left on this host and did not clean up, and why. */
export function LeftoverVolumes({ alias }: { alias: string }) {
  const trpc = useTRPC();
  const isOperator = useIsOperator();
  const leftovers = useQuery(trpc.volumes.leftovers.queryOptions({ alias }));

  return (
    <section aria-label="Leftover volumes" className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
      <h2 className="mb-2 text-lg font-semibold">Leftover volumes</h2>
      {leftovers.isError ? <ErrorBox title={leftovers.error.message} /> : null}
      {leftovers.isPending ? <p className="text-sm text-slate-500">Loading…</p> : null}
      {leftovers.data?.length === 0 ? (
        <p className="text-sm text-slate-500" data-testid="no-leftovers">
          Ferry has left no volumes on {alias}.
        </p>
      ) : null}
      {leftovers.data && leftovers.data.length > 0 ? (
        <table className="w-full text-left text-sm">
          <thead className="text-xs text-slate-500">
            <tr>
              <th className="py-1 pr-3 font-medium">Volume</th>
              <th className="py-1 pr-3 font-medium">Size</th>
              <th className="py-1 pr-3 font-medium">Age</th>
              <th className="py-1 pr-3 font-medium">From migration</th>
              <th className="py-1 pr-3 font-medium">Why it is here</th>
              {isOperator ? <th className="py-1 font-medium" /> : null}
            </tr>
          </thead>
          <tbody>
            {leftovers.data.map((volume) => (
              <tr key={volume.id} data-leftover={volume.name} className="border-t border-slate-100 align-top">
                <td className="py-1.5 pr-3">
                  <span className="font-mono">{volume.path}</span> <Badge value={ROLE_LABEL[volume.role]} />
                </td>
                <td className="py-1.5 pr-3 whitespace-nowrap">{formatBytes(volume.capacityBytes)}</td>
                <td className="py-1.5 pr-3 whitespace-nowrap" title={formatTime(volume.createdAt)}>
                  {volume.age}
                </td>
                <td className="py-1.5 pr-3 whitespace-nowrap">
                  {volume.migration ? (
                    <Link
                      href={`/migrations/${encodeURIComponent(volume.migration.id)}`}
                      className="text-indigo-700 hover:underline"
                    >
                      {volume.migration.ref} {volume.migration.vmName} ({volume.migration.state})
                    </Link>
                  ) : (
                    '—'
                  )}
                </td>
                <td className="py-1.5 pr-3">{volume.reason ?? '—'}</td>
                {isOperator ? (
                  <td className="py-1.5">
                    <RemoveLeftoverButton id={volume.id} name={volume.name} hostAlias={volume.hostAlias} />
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
