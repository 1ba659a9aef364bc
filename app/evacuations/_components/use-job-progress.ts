'use client';

import { useSubscription } from '@trpc/tanstack-react-query';
import { useState } from 'react';
import { useTRPC } from '@/trpc/client';

/** A job's latest percent as virsh reported it, and when the server read it (epoch ms, for the bench). */
export type JobProgress = { percent: number; readAt: number };

/**
 * One running job's progress pushed from its event stream (`migration.events`, the single migration page's
 * stream), so an evacuation row's bar moves the moment virsh reports, not at the page's next poll. The stream
 * replays the job's events first, then follows it; a dropped stream resumes after the last event it had.
 */
export function useJobProgress(migrationId: string | null, enabled: boolean): JobProgress | null {
  const trpc = useTRPC();
  const [progress, setProgress] = useState<JobProgress | null>(null);
  useSubscription(
    trpc.migration.events.subscriptionOptions(
      { id: migrationId ?? '', lastEventId: null },
      {
        enabled: enabled && migrationId !== null,
        onData: (tracked) => {
          const event = tracked.data;
          if (event.type === 'progress') setProgress({ percent: event.percent, readAt: event.readAt });
        },
      },
    ),
  );
  return progress;
}
