'use client';

import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '@/server/api/root';
import { applyFleetMessage } from '@/server/inventory/live/fleet-deltas';
import { useTRPC } from '@/trpc/client';

type FleetList = inferRouterOutputs<AppRouter>['fleet']['list'];

/**
 * The fleet, kept current by the server's live inventory: `fleet.live` sends a snapshot, then only what changed,
 * and both are folded into the TanStack Query cache entry of `fleet.list`, so the result has the same shape as
 * `useQuery(fleet.list)` (HostSnapshotView[], each host with its `stream`, `lastReadAt`, `libvirtVersion`).
 * `refetch()` is a full re-read of every host (the Refresh button); `refetchIntervalMs` > 0 also polls that way,
 * on top of the events; 0 leaves the page to the events alone.
 */
export function useFleetLive(refetchIntervalMs = 0) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const queryKey = trpc.fleet.list.queryKey();
  const fleet = useQuery({
    ...trpc.fleet.list.queryOptions(),
    enabled: refetchIntervalMs > 0,
    refetchInterval: refetchIntervalMs || false,
    refetchOnWindowFocus: false,
    staleTime: Infinity,
  });
  useSubscription(
    trpc.fleet.live.subscriptionOptions(
      { lastEventId: null },
      {
        onData: (tracked) =>
          queryClient.setQueryData<FleetList>(queryKey, (current) => applyFleetMessage(current, tracked.data)),
      },
    ),
  );
  return fleet;
}
