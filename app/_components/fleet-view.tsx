'use client';

import Link from 'next/link';
import { useQueryStates } from 'nuqs';
import { useCallback, useMemo, useState } from 'react';
import { formatTime } from '../_lib/format';
import { useActiveMigrations, type ActiveMigration } from '../_lib/use-active-migrations';
import { useFleetLive } from '../_lib/use-fleet-live';
import { FilterBar } from './fleet/filter-bar';
import { FleetList, jobKey, useCardColumns } from './fleet/fleet-list';
import {
  createRowsBuilder,
  describeMatches,
  filterEntries,
  fleetEntries,
  hasAnyFilter,
  keepIfSame,
  remembering,
  sortEntries,
  type FleetEntry,
} from './fleet/fleet-rows';
import { fleetSearchParams, type FleetViewState } from './fleet/fleet-url';
import { HostStreamBadge } from './host-stream-badge';
import { MaintenanceBadge } from './maintenance-badge';
import type { HostSnapshotView, VmView } from './fleet/types';
import { MigrateDialog, type MigrateTarget } from './migrate-dialog';
import { Button, ErrorBox } from './ui';
import { PowerMenuProvider, VmPowerMenu } from './vm-power-menu';

export type { HostSnapshotView, VmView } from './fleet/types';

const INTERVALS = [
  { label: 'off', ms: 0 },
  { label: '5 s', ms: 5_000 },
  { label: '15 s', ms: 15_000 },
  { label: '60 s', ms: 60_000 },
] as const;

/** Elements in each host section's header: event stream state and the maintenance badge. */
function HostHeaderExtra({ snapshot }: { snapshot: HostSnapshotView }) {
  return (
    <>
      <HostStreamBadge
        stream={snapshot.stream}
        lastReadAt={snapshot.lastReadAt}
        libvirtVersion={snapshot.libvirtVersion}
      />
      <MaintenanceBadge host={snapshot.host} />
    </>
  );
}

const renderHostExtra = (snapshot: HostSnapshotView) => <HostHeaderExtra snapshot={snapshot} />;
/** Actions on each VM card beside Migrate: the power menu. */
const renderVmActions = (vm: VmView, snapshot: HostSnapshotView) => <VmPowerMenu host={snapshot.host} vm={vm} />;

export function FleetView() {
  const [intervalMs, setIntervalMs] = useState<number>(15_000);
  // The fleet's one data source (HostSnapshotView[]): fleet.live's snapshot and deltas, plus polling if chosen.
  const fleet = useFleetLive(intervalMs);
  const [target, setTarget] = useState<MigrateTarget | null>(null);
  const onMigrate = useCallback((vm: VmView, host: HostSnapshotView['host']) => setTarget({ vm, host }), []);
  const active = useActiveMigrations();

  const [view, setView] = useQueryStates(fleetSearchParams, { history: 'replace' });
  const onViewChange = useCallback((change: Partial<FleetViewState>) => void setView(change), [setView]);
  // The list is rendered for the view in the same render as the bar (no deferred copy: a keystroke that leaves the
  // matches as they were costs one pass over the VMs' search text, one that changes them renders only the rows that
  // changed, and the list shows what was typed in the next frame).
  const columns = useCardColumns();

  const data = fleet.data;
  const entries = useMemo(() => fleetEntries(data ?? []), [data]);
  const sorted = useMemo(
    () => sortEntries(entries, { sort: view.sort, order: view.order }),
    [entries, view.sort, view.order],
  );
  const filters = useMemo(
    () => ({ q: view.q, name: view.name, host: view.host, state: view.state }),
    [view.q, view.name, view.host, view.state],
  );
  // Matches and rows that did not change keep their objects, so a keystroke that leaves them as they were renders
  // nothing below, and a host whose matches stay the same is not rendered again.
  const [keepMatches] = useState(() => remembering(keepIfSame<FleetEntry<HostSnapshotView>>));
  const [rowsFor] = useState(() => createRowsBuilder<HostSnapshotView>());
  const matches = useMemo(() => keepMatches(filterEntries(sorted, filters)), [keepMatches, sorted, filters]);
  const rows = useMemo(
    () =>
      rowsFor({
        fleet: data ?? [],
        matches,
        filters,
        grouping: view.group,
        sort: view.sort,
        order: view.order,
        columns,
      }),
    [rowsFor, data, matches, filters, view.group, view.sort, view.order, columns],
  );
  const hostAliases = useMemo(() => (data ?? []).map((snapshot) => snapshot.host.alias), [data]);
  const jobs = useMemo(() => {
    const byVm = new Map<string, ActiveMigration>();
    for (const job of active.data ?? []) {
      if (!job.vmUuid) continue;
      byVm.set(jobKey(job.sourceAlias, job.vmUuid), job);
      // While it runs, libvirt shows the arriving domain (paused) on the destination too: its card says so.
      if (job.state === 'running' || job.state === 'cancelling')
        byVm.set(jobKey(job.destinationAlias, job.vmUuid), job);
    }
    return byVm;
  }, [active.data]);
  const summary = describeMatches({
    matches: matches.length,
    total: entries.length,
    isFiltered: hasAnyFilter(filters),
  });

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

      {data && data.length > 0 ? (
        <FilterBar view={view} onChange={onViewChange} hostAliases={hostAliases} summary={summary} />
      ) : null}

      {fleet.isPending ? <p className="text-slate-500">Reading every host…</p> : null}
      {fleet.isError ? <ErrorBox title="Could not load the fleet">{fleet.error.message}</ErrorBox> : null}
      {data && data.length === 0 ? (
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
      {data && data.length > 0 && rows.length === 0 ? (
        <p className="text-sm text-slate-500" data-testid="fleet-no-match">
          No VM matches these filters.
        </p>
      ) : null}

      {/* data-shown-q: the search the list below was rendered for (the bench times a keystroke until it matches). */}
      <div data-shown-q={view.q}>
        <PowerMenuProvider>
          <FleetList
            rows={rows}
            fleetSize={entries.length}
            columns={columns}
            isFlat={view.group === 'flat'}
            jobs={jobs}
            onMigrate={onMigrate}
            renderHostExtra={renderHostExtra}
            renderVmActions={renderVmActions}
          />
        </PowerMenuProvider>
      </div>
      {target && data ? <MigrateDialog target={target} fleet={data} onClose={() => setTarget(null)} /> : null}
    </div>
  );
}
