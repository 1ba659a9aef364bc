'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { toast } from 'sonner';
import { useTRPC } from '@/trpc/client';
import { useIsOperator } from '../../_components/remove-leftover-button';
import { Badge, Button, ErrorBox } from '../../_components/ui';
import { ProgressBar } from './progress-bar';
import {
  shownJobProgress,
  useEvacuationProgress,
  useJobProgress,
  useOverallPercent,
  type ProgressStore,
} from './use-job-progress';
import { refreshAfterChange } from '@/trpc/query-client';

const OPEN = ['running', 'paused', 'cancelling'];

/**
 * One evacuation: the overall bar, every VM's row with its job's bar, state and cause, and pause / resume /
 * cancel. The rows are read from the server every second while it is open; the running jobs' bars, and the
 * overall bar with them, follow the evacuation's event stream, so they move as virsh reports.
 */
export function EvacuationDetail({ id }: { id: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const isOperator = useIsOperator();
  const view = useQuery(
    trpc.evacuation.get.queryOptions(
      { id },
      { refetchInterval: (query) => (query.state.data && !OPEN.includes(query.state.data.state) ? false : 1000) },
    ),
  );
  const options = {
    onSuccess: () => refreshAfterChange(queryClient, [trpc.evacuation.pathKey()]),
    onError: (error: { message: string }) => toast.error(error.message),
  };
  const pause = useMutation(trpc.evacuation.pause.mutationOptions(options));
  const resume = useMutation(trpc.evacuation.resume.mutationOptions(options));
  const cancel = useMutation(trpc.evacuation.cancel.mutationOptions(options));
  const progress = useEvacuationProgress(id, view.data !== undefined && OPEN.includes(view.data.state));

  if (view.isPending) return <p className="text-slate-500">Loading…</p>;
  if (view.isError) return <ErrorBox title={view.error.message} />;
  const data = view.data;

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-2xl font-semibold tracking-tight">
          {data.kind === 'evacuate' ? 'Evacuation of ' : 'Bring-back to '}
          <Link href={`/hosts/${encodeURIComponent(data.hostAlias)}`} className="hover:underline">
            {data.hostAlias}
          </Link>
        </h1>
        <span data-testid="evacuation-state">
          <Badge value={data.state} />
        </span>
        <span className="text-sm text-slate-500">started by {data.actor}</span>
        {isOperator ? (
          <div className="ml-auto flex gap-2">
            {data.state === 'running' ? (
              <Button disabled={pause.isPending} onClick={() => pause.mutate({ id })}>
                Pause
              </Button>
            ) : null}
            {data.state === 'paused' ? (
              <Button disabled={resume.isPending} onClick={() => resume.mutate({ id })}>
                Resume
              </Button>
            ) : null}
            {data.state === 'running' || data.state === 'paused' ? (
              <Button
                variant="danger"
                disabled={cancel.isPending}
                onClick={() => {
                  if (window.confirm('Cancel the evacuation? Running migrations are cancelled, queued ones dropped.'))
                    cancel.mutate({ id });
                }}
              >
                Cancel evacuation
              </Button>
            ) : null}
          </div>
        ) : null}
      </div>

      <OverallProgress data={data} progress={progress} />

      <table className="w-full border-collapse text-sm" aria-label="VMs">
        <thead>
          <tr className="border-b border-slate-200 text-left text-xs text-slate-500">
            <th className="py-2 pr-3">VM</th>
            <th className="py-2 pr-3">From → to</th>
            <th className="py-2 pr-3">State</th>
            <th className="w-1/3 py-2 pr-3">Progress</th>
            <th className="py-2">Details</th>
          </tr>
        </thead>
        <tbody>
          {data.items.map((item) => {
            const jobState = item.job?.state ?? null;
            const shown = item.state === 'submitted' && jobState ? jobState : item.state;
            return (
              <tr
                key={item.id}
                data-evac-vm={item.vmName}
                data-evac-state={shown}
                className="border-b border-slate-100 align-top"
              >
                <td className="py-2 pr-3 font-medium">{item.vmName}</td>
                <td className="py-2 pr-3">
                  {item.sourceAlias} → {item.destinationAlias ?? '—'}
                </td>
                <td className="py-2 pr-3">
                  <Badge value={shown} />
                </td>
                <td className="py-2 pr-3">
                  {item.job ? (
                    <JobProgressCell vmName={item.vmName} itemState={item.state} job={item.job} progress={progress} />
                  ) : null}
                </td>
                <td className="py-2 text-xs">
                  {item.error ? (
                    <p
                      className={
                        item.state === 'failed' || item.state === 'unmovable' ? 'text-rose-700' : 'text-slate-600'
                      }
                    >
                      {item.error}
                    </p>
                  ) : null}
                  {item.attempts.map((attempt, index) => (
                    <Link
                      key={attempt.id}
                      href={`/migrations/${attempt.id}`}
                      className="mr-2 text-indigo-700 underline"
                    >
                      {item.attempts.length > 1
                        ? `attempt ${index + 1} (${attempt.destinationAlias}, ${attempt.state})`
                        : 'migration'}
                    </Link>
                  ))}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/**
 * The overall bar and counts. Its own component: it follows every job's pushed percent (see useOverallPercent), and
 * a push re-renders only it and the row that changed, not the whole page.
 */
function OverallProgress({
  data,
  progress,
}: {
  data: {
    state: string;
    counts: { moving: number; succeeded: number; failed: number; running: number; queued: number; pending: number };
    items: readonly { state: string; job: { id: string; state: string; percent: number } | null }[];
  };
  progress: ProgressStore;
}) {
  const percent = useOverallPercent(progress, data.items);
  const { counts } = data;
  return (
    <section aria-label="Overall progress" className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
      <ProgressBar percent={percent} label="Evacuation progress" />
      <p className="mt-2 text-sm text-slate-600" data-testid="evacuation-counts">
        <span data-testid="evacuation-percent">{percent}%</span> · {counts.succeeded} of {counts.moving} moved ·{' '}
        {counts.running} running · {counts.queued} queued · {counts.pending} not yet submitted
        {counts.failed > 0 ? <span className="text-rose-700"> · {counts.failed} failed</span> : null}
        {data.state === 'paused' ? ' · paused: no new jobs are submitted' : null}
      </p>
    </section>
  );
}

/** A VM's job: its bar (pushed while the job runs, else the row's percent), percent and what it waits for. */
function JobProgressCell({
  vmName,
  itemState,
  job,
  progress,
}: {
  vmName: string;
  itemState: string;
  job: { id: string; state: string; percent: number; waitingFor: string | null };
  progress: ProgressStore;
}) {
  const shown = shownJobProgress(job, useJobProgress(progress, job.id));
  const percent = itemState === 'succeeded' ? 100 : shown.percent;
  return (
    <>
      <ProgressBar
        percent={percent}
        label={`Progress of ${vmName}`}
        tone={itemState === 'failed' ? 'failed' : itemState === 'cancelled' ? 'muted' : undefined}
        readAt={shown.readAt}
      />
      <span className="text-xs text-slate-500">
        {percent}%{job.waitingFor ? ` · ${job.waitingFor}` : ''}
      </span>
    </>
  );
}
