'use client';

import { useSubscription } from '@trpc/tanstack-react-query';
import { useState, useSyncExternalStore } from 'react';
import { useTRPC } from '@/trpc/client';

/** A job's latest percent as virsh reported it, and when the server read it (epoch ms, for the bench). */
export type JobProgress = { percent: number; readAt: number };

/** The latest progress of each of an evacuation's jobs, for rows to read one job each. */
export type ProgressStore = {
  subscribe(listener: () => void): () => void;
  get(migrationId: string): JobProgress | null;
};

function createProgressStore(): ProgressStore & { set(migrationId: string, progress: JobProgress): void } {
  const latest = new Map<string, JobProgress>();
  const listeners = new Set<() => void>();
  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    get: (migrationId) => latest.get(migrationId) ?? null,
    set(migrationId, progress) {
      latest.set(migrationId, progress);
      for (const listener of listeners) listener();
    },
  };
}

/**
 * Every job's progress of one evacuation, pushed from its event stream (`evacuation.events`): one connection for
 * the whole page, however many jobs run (a browser opens at most 6 to Ferry), so each row's bar moves the moment
 * virsh reports, not at the page's next poll. The stream replays what the jobs reported first, then follows
 * them; a dropped stream resumes after the last event it had. Open while `enabled` (the evacuation is open).
 */
export function useEvacuationProgress(evacuationId: string, enabled: boolean): ProgressStore {
  const trpc = useTRPC();
  const [store] = useState(createProgressStore);
  useSubscription(
    trpc.evacuation.events.subscriptionOptions(
      { id: evacuationId, lastEventId: null },
      {
        enabled,
        onData: (tracked) => {
          const event = tracked.data;
          if (event.type === 'progress') store.set(event.migrationId, { percent: event.percent, readAt: event.readAt });
        },
      },
    ),
  );
  return store;
}

/** One job's latest pushed progress; the row re-renders only when this job's changes. */
export function useJobProgress(store: ProgressStore, migrationId: string): JobProgress | null {
  return useSyncExternalStore(
    store.subscribe,
    () => store.get(migrationId),
    () => null,
  );
}
