'use client';

import { useQuery } from '@tanstack/react-query';
import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '@/server/api/root';
import { useTRPC } from '@/trpc/client';

export type ActiveMigration = inferRouterOutputs<AppRouter>['migration']['active'][number];

/**
 * Every unfinished migration with its queue position, polled: a queued job's position changes when another job
 * (of any VM, on any page) starts or ends, which no event of its own announces. Fast while anything is active.
 */
export function useActiveMigrations() {
  const trpc = useTRPC();
  return useQuery({
    ...trpc.migration.active.queryOptions(),
    refetchInterval: (query) => ((query.state.data?.length ?? 0) > 0 ? 2_000 : 15_000),
  });
}

/** "2nd in the queue" */
export function ordinal(position: number): string {
  const tens = position % 100;
  const suffix =
    tens >= 11 && tens <= 13
      ? 'th'
      : position % 10 === 1
        ? 'st'
        : position % 10 === 2
          ? 'nd'
          : position % 10 === 3
            ? 'rd'
            : 'th';
  return `${position}${suffix}`;
}

/** One line for a queued job: its place and what it waits for. */
export function describeQueued(queue: ActiveMigration['queue']): string {
  if (!queue || queue.position === 0) return 'starting now';
  return `${ordinal(queue.position)} in the queue, ${queue.waitingFor}`;
}
