'use client';

import { EventSource } from 'eventsource';
import { useEffect, useState, useSyncExternalStore } from 'react';
import { REQUEST_HEADER, REQUEST_HEADER_VALUE } from '@/server/auth/request-header';
import { overallPercent } from '@/server/evacuation/overall-percent';
import { SSE_END_EVENT } from '@/server/events/sse-response';
import { SLOT_STATES } from '@/server/migrations/types';

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

/** The fields of a streamed event this page reads (server/evacuation/events-route.ts sends the whole event). */
type StreamedEvent = { type: string; migrationId: string; percent?: number; readAt?: number };

/**
 * Every job's progress of one evacuation, pushed from its event stream (`/api/evacuations/<id>/events`): one
 * connection for the whole page, however many jobs run (a browser opens at most 6 to Ferry), so each row's bar
 * moves the moment virsh reports, not at the page's next poll. The stream replays what the jobs reported first,
 * then follows them; a dropped stream resumes after the last event it had (Last-Event-ID). Open while `enabled`
 * (the evacuation is open).
 *
 * A plain SSE stream rather than the tRPC subscription: its messages are encoded once for every page watching,
 * which keeps a bar's latency low with many pages open (see server/events/sse-response.ts).
 */
export function useEvacuationProgress(evacuationId: string, enabled: boolean): ProgressStore {
  const [store] = useState(createProgressStore);
  useEffect(() => {
    if (!enabled) return;
    // The browser's own EventSource cannot send Ferry's header; this one is the same protocol over fetch.
    const source = new EventSource(`/api/evacuations/${encodeURIComponent(evacuationId)}/events`, {
      fetch: (url, init) =>
        fetch(url, { ...init, headers: { ...init.headers, [REQUEST_HEADER]: REQUEST_HEADER_VALUE } }),
    });
    source.onmessage = (message) => {
      const event = JSON.parse(message.data) as StreamedEvent;
      if (event.type === 'progress' && typeof event.percent === 'number' && typeof event.readAt === 'number')
        store.set(event.migrationId, { percent: event.percent, readAt: event.readAt });
    };
    // The server has sent everything (the evacuation is over): stop rather than reconnect.
    source.addEventListener(SSE_END_EVENT, () => source.close());
    return () => source.close();
  }, [evacuationId, enabled, store]);
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

type JobRow = { id: string; state: string; percent: number };

/**
 * A job's percent as its bar shows it: the pushed one while the job runs (holds a slot: the states whose percent
 * the stream pushes; the row gets the same one later), with when the server read it; otherwise the row's.
 */
export function shownJobProgress(job: JobRow, live: JobProgress | null): { percent: number; readAt?: number } {
  return live !== null && (SLOT_STATES as readonly string[]).includes(job.state) ? live : { percent: job.percent };
}

/**
 * The evacuation's overall percent with each job at the percent its bar shows, so the overall bar moves in the
 * same frame as the row that changed it rather than at the page's next read of the view (which then changes
 * nothing on screen, and draws no frame that a bar's next change would have to wait behind).
 */
export function useOverallPercent(
  store: ProgressStore,
  items: readonly { state: string; job: JobRow | null }[],
): number {
  const percentOf = (item: { job: JobRow | null }) =>
    item.job ? shownJobProgress(item.job, store.get(item.job.id)).percent : null;
  return useSyncExternalStore(
    store.subscribe,
    () => overallPercent(items, percentOf),
    () => overallPercent(items, percentOf),
  );
}
