'use client';

import { useMutation } from '@tanstack/react-query';
import Link from 'next/link';
import { toast } from 'sonner';
import { useTRPC } from '@/trpc/client';
import { formatBytes, formatDuration, formatRate, formatTime } from '../../_lib/format';
import type { MigrationView } from '../../_lib/migration-view';
import { useMigrationLive, type LiveConnection } from '../../_lib/use-migration-live';
import { describeQueued, useActiveMigrations } from '../../_lib/use-active-migrations';
import { Badge, Button, ErrorBox } from '../../_components/ui';

const CONNECTION_TEXT: Partial<Record<LiveConnection, string>> = {
  connecting: 'connecting…',
  reconnecting: 'reconnecting…',
  error: 'live updates stopped; reload the page',
};

export function MigrationDetail({ id }: { id: string }) {
  const trpc = useTRPC();
  const { migration, view: current, isLive: live, connection } = useMigrationLive(id);
  const active = useActiveMigrations();
  const queued = current.state === 'queued' ? active.data?.find((job) => job.id === id) : undefined;

  const cancel = useMutation(trpc.migration.cancel.mutationOptions({ onError: (error) => toast.error(error.message) }));
  const postcopy = useMutation(
    trpc.migration.switchToPostcopy.mutationOptions({
      onSuccess: () => toast.success('Switched to post-copy'),
      onError: (error) => toast.error(error.message),
    }),
  );

  if (migration.isPending) return <p className="text-slate-500">Loading migration…</p>;
  if (migration.isError) return <ErrorBox title={migration.error.message} />;
  const row = migration.data;
  const latest = current.samples[current.samples.length - 1];

  return (
    <div className="space-y-5">
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-2xl font-semibold tracking-tight">
          <span className="font-mono">{row.vmName}</span>: {row.sourceAlias} → {row.destinationAlias}
        </h1>
        <Badge value={current.state} className="text-sm" />
        {CONNECTION_TEXT[connection] ? (
          <span role="status" data-connection={connection} className="text-sm text-amber-700">
            {CONNECTION_TEXT[connection]}
          </span>
        ) : null}
        <div className="ml-auto flex gap-2">
          <Link href="/migrations" className="text-sm text-indigo-700 hover:underline">
            All migrations
          </Link>
          {current.state === 'running' && row.options.postcopy === true ? (
            <Button
              onClick={() => postcopy.mutate({ id })}
              disabled={postcopy.isPending}
              title="Resume the guest on the destination now and pull the remaining memory on demand"
            >
              Switch to post-copy
            </Button>
          ) : null}
          {live && current.state !== 'cancelling' ? (
            <Button variant="danger" onClick={() => cancel.mutate({ id })} disabled={cancel.isPending}>
              Cancel migration
            </Button>
          ) : null}
        </div>
      </div>

      {current.state === 'queued' ? (
        <section
          role="status"
          aria-label="Queue"
          data-queue-position={queued?.queue?.position ?? ''}
          className="rounded-lg border border-sky-200 bg-sky-50 p-4 text-sm text-sky-900"
        >
          <p className="font-semibold">
            Queued
            {queued?.queue && queued.queue.position > 0 ? ` · position ${queued.queue.position}` : ''}
          </p>
          <p className="mt-1">
            {queued ? `This migration is ${describeQueued(queued.queue)}.` : 'Looking up its place in the queue…'} It
            starts by itself when a slot frees; Cancel removes it from the queue without touching either host.
          </p>
        </section>
      ) : null}

      <section aria-label="Progress" className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
        {/* No width transition: a live readout, as the evacuation page's bars (see its progress-bar.tsx). */}
        <div
          role="progressbar"
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={current.percent}
          aria-label="Migration progress"
          className="h-4 w-full overflow-hidden rounded-full bg-slate-100"
        >
          <div
            className={`h-full ${current.state === 'failed' ? 'bg-rose-500' : current.state === 'cancelled' ? 'bg-slate-400' : 'bg-indigo-600'}`}
            style={{ width: `${current.percent}%` }}
          />
        </div>
        <div className="mt-2 flex flex-wrap gap-x-6 gap-y-1 text-sm text-slate-600">
          <span data-testid="percent">{current.percent}%</span>
          {latest ? <span>phase: {latest.phase}</span> : null}
          {latest?.dataProcessedBytes != null ? (
            <span>
              {formatBytes(latest.dataProcessedBytes)} of {formatBytes(latest.dataTotalBytes)}
            </span>
          ) : null}
          {latest?.bandwidthBps != null ? <span>{formatRate(latest.bandwidthBps)}</span> : null}
          {latest?.dirtyRateBps ? <span>dirty {formatRate(latest.dirtyRateBps)}</span> : null}
          {live && latest?.etaSeconds != null ? <span>ETA {formatDuration(latest.etaSeconds * 1000)}</span> : null}
          {latest?.iteration && latest.iteration > 1 ? (
            <span title="Memory is copied again when the guest dirties it faster than it is sent">
              memory pass {latest.iteration}
            </span>
          ) : null}
        </div>
        {current.progress.some((p, index) => index > 0 && p.percent < (current.progress[index - 1]?.percent ?? 0)) ? (
          <p className="mt-1 text-xs text-amber-700">
            Progress went back: libvirt started another pass over memory the guest changed meanwhile.
          </p>
        ) : null}
      </section>

      {current.result ? <ResultBox result={current.result} /> : null}

      <div className="grid gap-5 lg:grid-cols-2">
        <section aria-label="Summary" className="rounded-lg border border-slate-200 bg-white p-4 text-sm shadow-sm">
          <h2 className="mb-2 font-semibold">Summary</h2>
          <dl className="grid grid-cols-2 gap-y-1">
            <dt className="text-slate-500">Started by</dt>
            <dd>{row.actor}</dd>
            <dt className="text-slate-500">Created</dt>
            <dd>{formatTime(row.createdAt)}</dd>
            <dt className="text-slate-500">Started</dt>
            <dd>{formatTime(row.startedAt)}</dd>
            <dt className="text-slate-500">Ended</dt>
            <dd>{formatTime(row.endedAt)}</dd>
            <dt className="text-slate-500">Duration</dt>
            <dd data-testid="duration">{formatDuration(row.durationMs)}</dd>
            <dt className="text-slate-500">Memory sent</dt>
            <dd>{formatBytes(row.memoryBytes)}</dd>
            <dt className="text-slate-500">Disk sent</dt>
            <dd data-testid="disk-bytes">{formatBytes(row.diskBytes)}</dd>
            <dt className="text-slate-500">Average / peak</dt>
            <dd>
              {formatRate(row.avgBandwidthBps)} / {formatRate(row.peakBandwidthBps)}
            </dd>
            <dt className="text-slate-500">Downtime</dt>
            <dd>{formatDuration(row.downtimeMs)}</dd>
            <dt className="text-slate-500">Options</dt>
            <dd className="font-mono text-xs">
              {Object.entries(row.options)
                .filter(([, v]) => v !== false && v !== undefined && v !== null)
                .map(([k, v]) => (v === true ? k : `${k}=${String(v)}`))
                .join(' ')}
            </dd>
          </dl>
        </section>
        <section aria-label="Throughput" className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
          <h2 className="mb-2 text-sm font-semibold">Throughput</h2>
          <ThroughputChart samples={current.samples} />
        </section>
      </div>

      {current.checks.length > 0 ? (
        <section aria-label="Checklist" className="rounded-lg border border-slate-200 bg-white p-4 text-sm shadow-sm">
          <h2 className="mb-2 font-semibold">Preflight</h2>
          <ul className="space-y-1">
            {current.checks.map((check) => (
              <li
                key={check.id}
                data-check={check.id}
                data-status={check.status}
                className={
                  check.status === 'fail'
                    ? 'text-rose-700'
                    : check.status === 'warn'
                      ? 'text-amber-700'
                      : 'text-emerald-700'
                }
              >
                <b>{check.label}</b>: {check.reason}
              </li>
            ))}
          </ul>
        </section>
      ) : null}

      <section aria-label="Log" className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
        <h2 className="mb-2 text-sm font-semibold">Log</h2>
        <pre
          className="max-h-80 overflow-auto whitespace-pre-wrap rounded bg-slate-900 p-3 text-xs text-slate-100"
          data-testid="log"
        >
          {current.log}
          {row.output ? `\n--- virsh output ---\n${row.output.replace(/\r/g, '\n').replace(/\n+/g, '\n')}` : ''}
        </pre>
      </section>
    </div>
  );
}

function ResultBox({ result }: { result: NonNullable<MigrationView['result']> }) {
  const tone =
    result.state === 'succeeded'
      ? 'border-emerald-200 bg-emerald-50 text-emerald-900'
      : result.state === 'cancelled'
        ? 'border-slate-200 bg-slate-50 text-slate-800'
        : result.state === 'unknown'
          ? 'border-amber-300 bg-amber-50 text-amber-950'
          : 'border-rose-200 bg-rose-50 text-rose-900';
  return (
    <section
      role="status"
      aria-label="Result"
      data-result={result.state}
      className={`rounded-lg border p-4 text-sm ${tone}`}
    >
      <p className="font-semibold">
        {result.errorTitle ?? (result.state === 'succeeded' ? 'Migrated and verified' : result.state)}
      </p>
      {result.message ? <p className="mt-1">{result.message}</p> : null}
      {result.nextStep ? <p className="mt-1">Next: {result.nextStep}</p> : null}
      {result.verification.length > 0 ? (
        <ul className="mt-2 list-disc pl-5 text-xs">
          {result.verification.map((line) => (
            <li key={line}>{line}</li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}

function ThroughputChart({ samples }: { samples: MigrationView['samples'] }) {
  const points = samples.filter((s) => s.elapsedMs != null && s.bandwidthBps != null);
  if (points.length < 2) return <p className="text-sm text-slate-500">Waiting for job statistics…</p>;
  const width = 480;
  const height = 140;
  const maxX = Math.max(...points.map((p) => p.elapsedMs as number));
  const maxY = Math.max(1, ...points.map((p) => p.bandwidthBps as number));
  const path = points
    .map(
      (p, index) =>
        `${index === 0 ? 'M' : 'L'}${(((p.elapsedMs as number) / maxX) * width).toFixed(1)},${(height - ((p.bandwidthBps as number) / maxY) * height).toFixed(1)}`,
    )
    .join(' ');
  return (
    <figure>
      <svg
        viewBox={`0 0 ${width} ${height}`}
        className="h-36 w-full"
        role="img"
        aria-label={`Throughput over time, peak ${formatRate(maxY)}`}
      >
        <path d={path} fill="none" stroke="rgb(79 70 229)" strokeWidth={2} />
      </svg>
      <figcaption className="flex justify-between text-xs text-slate-500">
        <span>0 s</span>
        <span>peak {formatRate(maxY)}</span>
        <span>{formatDuration(maxX)}</span>
      </figcaption>
    </figure>
  );
}
