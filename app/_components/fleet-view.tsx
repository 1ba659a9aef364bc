'use client';

import Link from 'next/link';
import { useState } from 'react';
import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '@/server/api/root';
import { plural } from '@/server/plural';
import { formatBytes, formatTime } from '../_lib/format';
import { ordinal, useActiveMigrations, type ActiveMigration } from '../_lib/use-active-migrations';
import { MaintenanceBadge } from './maintenance-badge';
import { useFleetLive } from '../_lib/use-fleet-live';
import { HostStreamBadge } from './host-stream-badge';
import { MigrateDialog, type MigrateTarget } from './migrate-dialog';
import { Badge, Button, ErrorBox } from './ui';
import { VmPowerMenu } from './vm-power-menu';

type FleetOutput = inferRouterOutputs<AppRouter>['fleet']['list'];
export type HostSnapshotView = FleetOutput[number];
export type VmView = HostSnapshotView['vms'][number];

const INTERVALS = [
  { label: 'off', ms: 0 },
  { label: '5 s', ms: 5_000 },
  { label: '15 s', ms: 15_000 },
  { label: '60 s', ms: 60_000 },
] as const;

export function FleetView() {
  const [intervalMs, setIntervalMs] = useState<number>(15_000);
  const fleet = useFleetLive(intervalMs);
  const [target, setTarget] = useState<MigrateTarget | null>(null);
  const onMigrate = (vm: VmView, host: HostSnapshotView['host']) => setTarget({ vm, host });
  const active = useActiveMigrations();

  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-2xl font-semibold tracking-tight">Fleet</h1>
        <span className="text-sm text-slate-500" data-testid="fleet-updated">
          {fleet.dataUpdatedAt ? `Updated ${formatTime(new Date(fleet.dataUpdatedAt))}` : 'Not loaded yet'}
        </span>
        <div className="ml-auto flex items-center gap-2">
          <label htmlFor="refresh-interval" className="text-sm text-slate-600">
            Auto-refresh
          </label>
          <select
            id="refresh-interval"
            value={intervalMs}
            onChange={(event) => setIntervalMs(Number(event.target.value))}
            className="rounded-md border border-slate-300 bg-white px-2 py-1 text-sm"
          >
            {INTERVALS.map((option) => (
              <option key={option.ms} value={option.ms}>
                {option.label}
              </option>
            ))}
          </select>
          <Button onClick={() => fleet.refetch()} disabled={fleet.isFetching} aria-label="Refresh now">
            {fleet.isFetching ? 'Refreshing…' : 'Refresh'}
          </Button>
        </div>
      </div>

      {fleet.isPending ? <p className="text-slate-500">Reading every host…</p> : null}
      {fleet.isError ? <ErrorBox title="Could not load the fleet">{fleet.error.message}</ErrorBox> : null}
      {fleet.data && fleet.data.length === 0 ? (
        <div className="rounded-lg border border-dashed border-slate-300 bg-white p-8 text-center">
          <p className="font-medium">No hosts yet.</p>
          <p className="mt-1 text-sm text-slate-500">
            <Link href="/hosts" className="text-indigo-700 underline">
              Add a host
            </Link>{' '}
            by libvirt URI or alias to see its VMs here.
          </p>
        </div>
      ) : null}

      {fleet.data?.map((snapshot) => (
        <HostSection
          key={snapshot.host.id}
          snapshot={snapshot}
          onMigrate={onMigrate}
          active={active.data?.filter((job) => job.sourceAlias === snapshot.host.alias) ?? []}
        />
      ))}
      {target && fleet.data ? (
        <MigrateDialog target={target} fleet={fleet.data} onClose={() => setTarget(null)} />
      ) : null}
    </div>
  );
}

function HostSection({
  snapshot,
  onMigrate,
  active = [],
}: {
  snapshot: HostSnapshotView;
  onMigrate?: (vm: VmView, host: HostSnapshotView['host']) => void;
  /** Unfinished migrations leaving this host. */
  active?: ActiveMigration[];
}) {
  const { host } = snapshot;
  return (
    <section
      aria-label={`Host ${host.alias}`}
      data-host={host.alias}
      className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm"
    >
      <header className="mb-3 flex flex-wrap items-baseline gap-x-3 gap-y-1">
        <h2 className="text-lg font-semibold">
          <Link href={`/hosts/${encodeURIComponent(host.alias)}`} className="hover:underline">
            {host.displayName}
          </Link>
        </h2>
        <code className="text-xs text-slate-500">{host.displayUri}</code>
        <MaintenanceBadge host={host} />
        <HostStreamBadge
          stream={snapshot.stream}
          lastReadAt={snapshot.lastReadAt}
          libvirtVersion={snapshot.libvirtVersion}
        />
        <span className="ml-auto text-xs text-slate-500">
          {snapshot.status === 'ok'
            ? `${plural(snapshot.vms.length, 'VM')} · read in ${Math.round(snapshot.durationMs)} ms`
            : 'unreachable'}
        </span>
      </header>
      {snapshot.status === 'error' ? (
        <ErrorBox title={`${host.alias}: ${snapshot.error ?? 'error'}`}>
          {snapshot.errorDetail && snapshot.errorDetail !== snapshot.error ? (
            <pre className="whitespace-pre-wrap text-xs">{snapshot.errorDetail}</pre>
          ) : null}
        </ErrorBox>
      ) : snapshot.vms.length === 0 ? (
        <p className="text-sm text-slate-500">No VMs defined on this host.</p>
      ) : (
        <ul className="grid gap-3 sm:grid-cols-2 lg:grid-cols-3">
          {snapshot.vms.map((vm) => (
            <VmCardView
              key={vm.uuid || vm.name}
              vm={vm}
              host={host}
              job={active.find((job) => job.vmUuid === vm.uuid)}
              onMigrate={onMigrate ? () => onMigrate(vm, host) : undefined}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

function VmCardView({
  vm,
  host,
  job,
  onMigrate,
}: {
  vm: VmView;
  host: HostSnapshotView['host'];
  job?: ActiveMigration;
  onMigrate?: () => void;
}) {
  return (
    <li data-vm={vm.name} aria-label={`VM ${vm.name}`} className="flex flex-col rounded-md border border-slate-200 p-3">
      <div className="flex items-start gap-2">
        <h3 className="min-w-0 flex-1 truncate font-medium" title={vm.name}>
          {vm.name}
        </h3>
        <Badge value={vm.state} />
      </div>
      <dl className="mt-2 grid grid-cols-2 gap-x-2 text-xs text-slate-600">
        <dt>vCPUs</dt>
        <dd data-testid="vcpus">{vm.vcpus ?? '—'}</dd>
        <dt>Memory</dt>
        <dd data-testid="memory">{formatBytes(vm.memoryBytes)}</dd>
      </dl>
      {vm.problem ? <p className="mt-1 text-xs text-amber-700">{vm.problem}</p> : null}
      {vm.disks.length > 0 ? (
        <ul className="mt-2 space-y-0.5 text-xs text-slate-600">
          {vm.disks.map((disk) => (
            <li key={disk.target} className="truncate" title={disk.path ?? ''}>
              <span className="font-mono">{disk.target}</span> {formatBytes(disk.capacityBytes)}{' '}
              <span className="text-slate-400">{disk.path ?? '(no source)'}</span>
            </li>
          ))}
        </ul>
      ) : (
        <p className="mt-2 text-xs text-slate-400">No disks</p>
      )}
      {job ? <JobLine job={job} /> : null}
      <VmPowerMenu host={host} vm={vm} />
      {onMigrate ? (
        <div className="mt-3">
          <Button onClick={onMigrate} aria-label={`Migrate ${vm.name}`}>
            Migrate…
          </Button>
        </div>
      ) : null}
    </li>
  );
}

/** The VM's unfinished migration on its card: where it is going and, while queued, its place in the queue. */
function JobLine({ job }: { job: ActiveMigration }) {
  const text =
    job.state === 'queued'
      ? job.queue && job.queue.position > 0
        ? `Queued for ${job.destinationAlias}, ${ordinal(job.queue.position)} in line`
        : `Starting migration to ${job.destinationAlias}`
      : `Migrating to ${job.destinationAlias}: ${job.state}${job.state === 'running' ? ` ${job.percent}%` : ''}`;
  return (
    <Link
      href={`/migrations/${encodeURIComponent(job.id)}`}
      data-vm-job={job.state}
      data-queue-position={job.queue?.position ?? ''}
      title={job.queue?.waitingFor}
      className="mt-2 block text-xs font-medium text-sky-800 hover:underline"
    >
      {text}
    </Link>
  );
}
