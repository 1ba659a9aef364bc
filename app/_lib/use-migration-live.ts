'use client';

import { useQuery } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { useEffect, useState } from 'react';
import { ACTIVE_STATES } from '@/server/migrations/types';
import { useTRPC } from '@/trpc/client';
import { applyEvents, EMPTY_VIEW, type MigrationView } from './migration-view';

/**
 * How the page is connected to the migration's event stream:
 * `live` streaming; `connecting` first connection; `reconnecting` the stream dropped and the client is retrying
 * (it resumes after the last event it had, so nothing is lost); `ended` the migration is over, no stream needed;
 * `error` the server refused the stream.
 */
export type LiveConnection = 'connecting' | 'live' | 'reconnecting' | 'ended' | 'error';

const isActive = (state: string) => (ACTIVE_STATES as readonly string[]).includes(state);

/**
 * One migration as the browser watches it: the row (for durations, bytes, the full virsh output), the view folded
 * from its events (seeded from the row's events, then live from the subscription), and the connection state.
 */
export function useMigrationLive(id: string) {
  const trpc = useTRPC();
  const migration = useQuery({
    ...trpc.migration.get.queryOptions({ id }),
    staleTime: Infinity,
    refetchOnWindowFocus: false,
  });
  const [view, setView] = useState<MigrationView | null>(null);
  // The id the subscription resumes after, fixed once: later reconnects resume from the last tracked id by themselves.
  const [resumeFrom, setResumeFrom] = useState<string | null>(null);

  // Seeded once from the events so far (React's "adjust state while rendering" pattern, not an effect).
  if (migration.data && view === null) {
    const initial = applyEvents(
      { ...EMPTY_VIEW, state: migration.data.state, percent: migration.data.percent },
      migration.data.events,
    );
    setView(initial);
    setResumeFrom(String(initial.lastEventId));
  }

  const live = view !== null && isActive(view.state);
  const subscription = useSubscription(
    trpc.migration.events.subscriptionOptions(
      { id, lastEventId: resumeFrom },
      {
        enabled: live && resumeFrom !== null,
        onData: (tracked) => setView((current) => applyEvents(current ?? EMPTY_VIEW, [tracked.data])),
      },
    ),
  );

  // After the final event, reload the row for durations, bytes and the full virsh output.
  const isFinal = view !== null && !isActive(view.state);
  const { refetch } = migration;
  useEffect(() => {
    if (isFinal && migration.data && isActive(migration.data.state)) void refetch();
  }, [isFinal, migration.data, refetch]);

  return { migration, view: view ?? EMPTY_VIEW, isLive: live, connection: connectionOf(live, subscription) };
}

function connectionOf(live: boolean, subscription: { status: string; error: unknown }): LiveConnection {
  if (!live) return 'ended';
  switch (subscription.status) {
    case 'pending':
      return 'live';
    case 'error':
      return 'error';
    case 'connecting':
      // The first attempt has no error yet; a retry after a dropped stream carries the error that dropped it.
      return subscription.error ? 'reconnecting' : 'connecting';
    default:
      return 'connecting';
  }
}
