'use client';

import { VM_STATES, type VmState } from '@/server/libvirt/parsers/vm-state';
import { Button } from '../ui';
import {
  GROUPINGS,
  SORT_KEYS,
  SORT_LABELS,
  SORT_ORDERS,
  type FleetViewState,
  type Grouping,
  type SortKey,
  type SortOrder,
} from './fleet-url';

const FIELD = 'rounded-md border border-slate-300 bg-white px-2 py-1 text-sm';
const GROUPING_LABELS: Readonly<Record<Grouping, string>> = { host: 'by host', flat: 'flat' };
const ORDER_LABELS: Readonly<Record<SortOrder, string>> = { asc: 'ascending', desc: 'descending' };

/**
 * Search, filters, grouping and sort of the fleet page. Controlled by the URL state (nuqs): what it shows is
 * what a copied link reproduces.
 */
export function FilterBar({
  view,
  onChange,
  hostAliases,
  summary,
}: {
  view: FleetViewState;
  onChange: (change: Partial<FleetViewState>) => void;
  hostAliases: readonly string[];
  /** "37 of 10 000 VMs" */
  summary: string;
}) {
  const isFiltered = view.q !== '' || view.name !== '' || view.host !== '' || view.state !== null;
  return (
    <div role="search" aria-label="Filter VMs" className="flex flex-wrap items-end gap-3">
      <label className="flex min-w-48 flex-1 flex-col gap-1 text-xs text-slate-600">
        Search
        <input
          type="search"
          value={view.q}
          onChange={(event) => onChange({ q: event.target.value })}
          placeholder="name, host, state, disk…"
          aria-label="Search VMs"
          className={FIELD}
        />
      </label>
      <label className="flex w-40 flex-col gap-1 text-xs text-slate-600">
        Name
        <input
          type="text"
          value={view.name}
          onChange={(event) => onChange({ name: event.target.value })}
          aria-label="Filter by name"
          className={FIELD}
        />
      </label>
      <label className="flex flex-col gap-1 text-xs text-slate-600">
        Host
        <select
          value={view.host}
          onChange={(event) => onChange({ host: event.target.value })}
          aria-label="Filter by host"
          className={FIELD}
        >
          <option value="">all hosts</option>
          {hostAliases.map((alias) => (
            <option key={alias} value={alias}>
              {alias}
            </option>
          ))}
          {view.host !== '' && !hostAliases.includes(view.host) ? <option value={view.host}>{view.host}</option> : null}
        </select>
      </label>
      <label className="flex flex-col gap-1 text-xs text-slate-600">
        State
        <select
          value={view.state ?? ''}
          onChange={(event) => onChange({ state: event.target.value === '' ? null : (event.target.value as VmState) })}
          aria-label="Filter by state"
          className={FIELD}
        >
          <option value="">any state</option>
          {VM_STATES.map((state) => (
            <option key={state} value={state}>
              {state}
            </option>
          ))}
        </select>
      </label>
      <label className="flex flex-col gap-1 text-xs text-slate-600">
        Group
        <select
          value={view.group}
          onChange={(event) => onChange({ group: event.target.value as Grouping })}
          aria-label="Group VMs"
          className={FIELD}
        >
          {GROUPINGS.map((grouping) => (
            <option key={grouping} value={grouping}>
              {GROUPING_LABELS[grouping]}
            </option>
          ))}
        </select>
      </label>
      <label className="flex flex-col gap-1 text-xs text-slate-600">
        Sort
        <select
          value={view.sort}
          onChange={(event) => onChange({ sort: event.target.value as SortKey })}
          aria-label="Sort by"
          className={FIELD}
        >
          {SORT_KEYS.map((key) => (
            <option key={key} value={key}>
              {SORT_LABELS[key]}
            </option>
          ))}
        </select>
      </label>
      <label className="flex flex-col gap-1 text-xs text-slate-600">
        Order
        <select
          value={view.order}
          onChange={(event) => onChange({ order: event.target.value as SortOrder })}
          aria-label="Sort order"
          className={FIELD}
        >
          {SORT_ORDERS.map((order) => (
            <option key={order} value={order}>
              {ORDER_LABELS[order]}
            </option>
          ))}
        </select>
      </label>
      {isFiltered ? (
        <Button onClick={() => onChange({ q: '', name: '', host: '', state: null })}>Clear filters</Button>
      ) : null}
      <p
        className="ml-auto self-center text-sm tabular-nums text-slate-600"
        data-testid="fleet-match-count"
        aria-live="polite"
      >
        {summary}
      </p>
    </div>
  );
}
