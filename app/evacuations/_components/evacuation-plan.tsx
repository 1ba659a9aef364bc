'use client';

import { keepPreviousData, useMutation, useQuery } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { toast } from 'sonner';
import { useTRPC } from '@/trpc/client';
import { Badge, Button, ErrorBox } from '../../_components/ui';

type Kind = 'evacuate' | 'bring-back';

/** Excluded VMs are pinned to `null`. */
type Overrides = Record<string, string | null>;

const LEAVE = '__leave__';

/**
 * The dry run: each VM's destination and why, or why it cannot move. Changing a destination or leaving a VM
 * out asks the server for the plan again with that change, so every reason shown is the server's.
 */
export function EvacuationPlan({ hostId, kind }: { hostId: string; kind: Kind }) {
  const trpc = useTRPC();
  const router = useRouter();
  const [overrides, setOverrides] = useState<Overrides>({});
  const list = Object.entries(overrides).map(([vmUuid, destinationHostId]) => ({ vmUuid, destinationHostId }));
  const evacuatePlan = useQuery(
    trpc.evacuation.plan.queryOptions(
      { hostId, overrides: list },
      { enabled: kind === 'evacuate', placeholderData: keepPreviousData, refetchOnWindowFocus: false },
    ),
  );
  const bringBackPlan = useQuery(
    trpc.evacuation.planBringBack.queryOptions(
      { hostId },
      { enabled: kind === 'bring-back', refetchOnWindowFocus: false },
    ),
  );
  const plan = kind === 'evacuate' ? evacuatePlan : bringBackPlan;
  const onStarted = {
    onSuccess: ({ id }: { id: string }) => router.push(`/evacuations/${id}`),
    onError: (error: { message: string }) => toast.error(error.message),
  };
  const start = useMutation(trpc.evacuation.start.mutationOptions(onStarted));
  const startBack = useMutation(trpc.evacuation.startBringBack.mutationOptions(onStarted));

  if (plan.isPending) return <p className="text-slate-500">Asking every host for its free memory, CPUs and pools…</p>;
  if (plan.isError) return <ErrorBox title={plan.error.message} />;
  const data = plan.data;
  const movable = data.items.filter((item) => item.kind === 'move').length;
  const title = kind === 'evacuate' ? `Evacuate ${data.host.alias}` : `Bring VMs back to ${data.host.alias}`;

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-2xl font-semibold tracking-tight">{title}</h1>
        <span className="text-sm text-slate-500">
          Plan (dry run): nothing moves until you start. {movable} of {data.items.length} VMs will move.
        </span>
        {plan.isFetching ? <span className="text-sm text-slate-400">re-planning…</span> : null}
        <Button
          variant="primary"
          className="ml-auto"
          disabled={movable === 0 || start.isPending || startBack.isPending || plan.isFetching}
          onClick={() => {
            if (kind === 'evacuate') {
              const warning = `Start evacuating ${data.host.alias}? It goes into maintenance at once: no migrations go to it until maintenance is ended.`;
              if (window.confirm(warning)) start.mutate({ hostId, overrides: list });
            } else {
              const excluded = list.filter((entry) => entry.destinationHostId === null).map((entry) => entry.vmUuid);
              startBack.mutate({ hostId, excluded });
            }
          }}
        >
          {kind === 'evacuate' ? 'Start evacuation' : 'Start bringing back'}
        </Button>
      </div>
      {kind === 'evacuate' ? (
        <p className="text-sm text-slate-600">
          Each VM goes where the most memory is left after it, among hosts with the CPU, vCPU headroom, storage pool and
          free space it needs and no domain of the same name. Jobs run through the migration queue, within every
          host&apos;s limits.
        </p>
      ) : null}
      <table className="w-full border-collapse text-sm" aria-label="Evacuation plan">
        <thead>
          <tr className="border-b border-slate-200 text-left text-xs text-slate-500">
            <th className="py-2 pr-3">VM</th>
            <th className="py-2 pr-3">From</th>
            <th className="py-2 pr-3">Destination</th>
            <th className="py-2">Why</th>
          </tr>
        </thead>
        <tbody>
          {data.items.map((item) => {
            const chosen = overrides[item.vmUuid];
            const value = chosen === null ? LEAVE : (chosen ?? item.destination?.id ?? '');
            return (
              <tr
                key={item.vmUuid}
                data-plan-vm={item.vmName}
                data-plan-kind={item.kind}
                className="border-b border-slate-100 align-top"
              >
                <td className="py-2 pr-3 font-medium">
                  {item.vmName} <Badge value={item.vmState} />
                </td>
                <td className="py-2 pr-3">{item.sourceAlias}</td>
                <td className="py-2 pr-3">
                  {item.kind === 'unmovable' && chosen === undefined ? (
                    <span className="font-medium text-rose-700">cannot move</span>
                  ) : (
                    <select
                      aria-label={`Destination of ${item.vmName}`}
                      className="rounded-md border border-slate-300 px-2 py-1"
                      value={value}
                      onChange={(event) => {
                        const next = event.target.value;
                        setOverrides((current) => ({ ...current, [item.vmUuid]: next === LEAVE ? null : next }));
                      }}
                    >
                      {kind === 'evacuate'
                        ? data.candidates.map((host) => (
                            <option key={host.id} value={host.id}>
                              {host.alias}
                            </option>
                          ))
                        : item.destination
                          ? [
                              <option key={item.destination.id} value={item.destination.id}>
                                {item.destination.alias}
                              </option>,
                            ]
                          : null}
                      {item.kind === 'unmovable' ? <option value="">(cannot move)</option> : null}
                      <option value={LEAVE}>Leave on {item.sourceAlias}</option>
                    </select>
                  )}
                  {item.kind === 'move' && item.storage === 'shared' ? (
                    <span className="ml-2 text-xs text-slate-500">shared storage</span>
                  ) : null}
                </td>
                <td className="py-2">
                  <ul className={`list-disc pl-4 ${item.kind === 'unmovable' ? 'text-rose-700' : 'text-slate-700'}`}>
                    {item.reasons.map((reason) => (
                      <li key={reason}>{reason}</li>
                    ))}
                  </ul>
                  {item.kind === 'move' && item.rejected.length > 0 ? (
                    <p className="mt-1 text-xs text-slate-500">
                      Not: {item.rejected.map((entry) => `${entry.alias} (${entry.reason})`).join('; ')}
                    </p>
                  ) : null}
                  {item.concurrency ? <p className="mt-1 text-xs text-slate-500">{item.concurrency}</p> : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
