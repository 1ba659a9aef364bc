'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { toast } from 'sonner';
import { useTRPC } from '@/trpc/client';
import { useIsOperator } from '../../_components/remove-leftover-button';
import { Badge, Button } from '../../_components/ui';
import { MaintenanceBadge } from '../../_components/maintenance-badge';
import { plural } from '@/server/plural';
import { refreshAfterChange } from '@/trpc/query-client';

/**
 * The host page's maintenance box: "Evacuate", the maintenance badge and "End maintenance", then the offer to
 * bring back what the last evacuation moved away; and the host's recent evacuations.
 */
export function HostEvacuation({ host }: { host: { id: string; alias: string } }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const isOperator = useIsOperator();
  const summary = useQuery(trpc.evacuation.forHost.queryOptions({ hostId: host.id }, { refetchInterval: 5_000 }));
  const end = useMutation(
    trpc.evacuation.endMaintenance.mutationOptions({
      onSuccess: async (result) => {
        toast.success(`${host.alias} is out of maintenance`);
        if (result.movedAway > 0) toast(`${plural(result.movedAway, 'VM')} can be brought back`);
        await refreshAfterChange(queryClient, [trpc.evacuation.pathKey(), trpc.host.pathKey()]);
      },
      onError: (error) => toast.error(error.message),
    }),
  );
  const data = summary.data;
  const open = data?.recent.find((entry) => ['running', 'paused', 'cancelling'].includes(entry.state));

  return (
    <section
      aria-label="Maintenance"
      className="space-y-3 rounded-lg border border-slate-200 bg-white p-4 text-sm shadow-sm"
    >
      <div className="flex flex-wrap items-center gap-3">
        <h2 className="text-base font-semibold">Maintenance</h2>
        <MaintenanceBadge host={{ alias: host.alias, inMaintenance: data?.inMaintenance }} />
        <div className="ml-auto flex gap-2">
          {isOperator && !open ? (
            <Link
              href={`/evacuations/plan?host=${encodeURIComponent(host.id)}`}
              className="rounded-md bg-indigo-600 px-3 py-1.5 font-medium text-white shadow-sm hover:bg-indigo-700"
            >
              Evacuate {host.alias}
            </Link>
          ) : null}
          {isOperator && data?.inMaintenance ? (
            <Button disabled={end.isPending || Boolean(open)} onClick={() => end.mutate({ hostId: host.id })}>
              End maintenance
            </Button>
          ) : null}
        </div>
      </div>
      {open ? (
        <p>
          An evacuation is {open.state}:{' '}
          <Link href={`/evacuations/${open.id}`} className="text-indigo-700 underline">
            open it
          </Link>
          .
        </p>
      ) : null}
      {isOperator && data && !data.inMaintenance && data.movedAway > 0 && !open ? (
        <p role="note" className="rounded-md border border-indigo-200 bg-indigo-50 p-3 text-indigo-900">
          The last evacuation moved {plural(data.movedAway, 'VM')} away from {host.alias}.{' '}
          <Link
            href={`/evacuations/plan?host=${encodeURIComponent(host.id)}&kind=bring-back`}
            className="font-medium underline"
          >
            Bring them back
          </Link>
        </p>
      ) : null}
      {data && data.recent.length > 0 ? (
        <ul className="space-y-1">
          {data.recent.map((entry) => (
            <li key={entry.id} className="flex items-center gap-2">
              <Link href={`/evacuations/${entry.id}`} className="text-indigo-700 underline">
                {entry.kind === 'evacuate' ? 'Evacuation' : 'Bring-back'} of{' '}
                {new Date(entry.createdAt).toLocaleString()}
              </Link>
              <Badge value={entry.state} />
              <span className="text-slate-500">by {entry.actor}</span>
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}
