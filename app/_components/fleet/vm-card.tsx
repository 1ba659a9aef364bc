'use client';

import Link from 'next/link';
import type { ReactNode } from 'react';
import { formatBytes } from '../../_lib/format';
import { ordinal, type ActiveMigration } from '../../_lib/use-active-migrations';
import { Badge, Button } from '../ui';
import type { VmView } from './types';

/**
 * One VM's card. `actions` is the slot below Migrate (power buttons); `hostAlias` is shown when the list is
 * flat, where no host section says whose VM it is.
 */
export function VmCard({
  vm,
  hostAlias,
  isHostShown,
  job,
  onMigrate,
  actions,
}: {
  vm: VmView;
  hostAlias: string;
  isHostShown: boolean;
  job?: ActiveMigration;
  onMigrate?: () => void;
  actions?: ReactNode;
}) {
  return (
    <li
      data-vm={vm.name}
      data-vm-host={hostAlias}
      data-vm-state={vm.state}
      aria-label={`VM ${vm.name}`}
      className="flex min-w-0 flex-col rounded-md border border-slate-200 bg-white p-3"
    >
      <div className="flex items-start gap-2">
        <h3 className="min-w-0 flex-1 truncate font-medium" title={vm.name}>
          {vm.name}
        </h3>
        <Badge value={vm.state} />
      </div>
      {isHostShown ? (
        <p className="mt-0.5 truncate text-xs text-slate-500" data-testid="vm-host">
          on{' '}
          <Link href={`/hosts/${encodeURIComponent(hostAlias)}`} prefetch={false} className="hover:underline">
            {hostAlias}
          </Link>
        </p>
      ) : null}
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
      {job ? <JobLine job={job} hostAlias={hostAlias} /> : null}
      {onMigrate ? (
        <div className="mt-3">
          <Button onClick={onMigrate} aria-label={`Migrate ${vm.name}`}>
            Migrate…
          </Button>
        </div>
      ) : null}
      {actions}
    </li>
  );
}

/**
 * The VM's unfinished migration on its card: where it is going and, while queued, its place in the queue. On the
 * destination's card (the domain libvirt shows there, paused, while it arrives): where it comes from.
 */
function JobLine({ job, hostAlias }: { job: ActiveMigration; hostAlias: string }) {
  const isArriving = hostAlias === job.destinationAlias && hostAlias !== job.sourceAlias;
  const text = isArriving
    ? `Arriving from ${job.sourceAlias}: ${job.state}${job.state === 'running' ? ` ${job.percent}%` : ''}`
    : job.state === 'queued'
      ? job.queue && job.queue.position > 0
        ? `Queued for ${job.destinationAlias}, ${ordinal(job.queue.position)} in line`
        : `Starting migration to ${job.destinationAlias}`
      : `Migrating to ${job.destinationAlias}: ${job.state}${job.state === 'running' ? ` ${job.percent}%` : ''}`;
  return (
    <Link
      href={`/migrations/${encodeURIComponent(job.id)}`}
      prefetch={false}
      data-vm-job={job.state}
      data-vm-job-side={isArriving ? 'destination' : 'source'}
      data-queue-position={job.queue?.position ?? ''}
      title={job.queue?.waitingFor}
      className="mt-2 block text-xs font-medium text-sky-800 hover:underline"
    >
      {text}
    </Link>
  );
}
