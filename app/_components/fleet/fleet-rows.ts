import { formatBytes } from '../../_lib/format';
import type { FleetViewState, Grouping, SortKey, SortOrder } from './fleet-url';

/**
 * The fleet page's list, as pure data: fleet → sorted VMs (once per fleet or sort) → filtered VMs (per keystroke)
 * → rows for the virtualised list (per filter or column count). Kept apart from React so each step is memoised on
 * its own inputs and unit-tested.
 */

/** What these functions read of a host snapshot (fleet.list's item; the live hook may add fields). */
export type FleetSnapshotLike = {
  host: { id: string; alias: string; displayName: string };
  status: 'ok' | 'error';
  vms: readonly FleetVmLike[];
};

export type FleetVmLike = {
  name: string;
  uuid: string;
  state: string;
  vcpus: number | null;
  memoryBytes: number | null;
  disks: readonly { target: string; path: string | null; capacityBytes: number | null }[];
  problem: string | null;
};

export type VmOf<S extends FleetSnapshotLike> = S['vms'][number];

/** One VM with its host, and the lower-case text the free-text filter searches. */
export type FleetEntry<S extends FleetSnapshotLike> = {
  vm: VmOf<S>;
  snapshot: S;
  haystack: string;
};

export type FleetFilters = Pick<FleetViewState, 'q' | 'name' | 'host' | 'state'>;

export type FleetRow<S extends FleetSnapshotLike> =
  | { kind: 'host'; key: string; snapshot: S; matches: number; isFiltered: boolean }
  | { kind: 'host-error'; key: string; snapshot: S }
  | { kind: 'host-empty'; key: string; snapshot: S }
  | { kind: 'cards'; key: string; snapshot: S | null; entries: FleetEntry<S>[]; isLastOfHost: boolean };

/** Everything a card shows, lower-cased once per fleet read: a keystroke then costs one `includes` per VM. */
export function cardText(vm: FleetVmLike, host: FleetSnapshotLike['host']): string {
  const parts = [
    vm.name,
    host.alias,
    host.displayName,
    vm.state,
    vm.uuid,
    vm.vcpus === null ? '' : `${vm.vcpus} vcpus`,
    formatBytes(vm.memoryBytes),
    vm.problem ?? '',
  ];
  for (const disk of vm.disks) parts.push(disk.target, disk.path ?? '', formatBytes(disk.capacityBytes));
  return parts.join('\n').toLowerCase();
}

const COLLATOR = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/** Shut-off and crashed guests sort after the ones doing something, in the order virsh numbers states. */
const STATE_RANK: Readonly<Record<string, number>> = {
  running: 0,
  blocked: 1,
  paused: 2,
  pmsuspended: 3,
  shutdown: 4,
  crashed: 5,
  shutoff: 6,
  'no-state': 7,
};

function compareNullable(a: number | null, b: number | null): number {
  // Unknown sizes go last in either order: they are not "smallest".
  if (a === null) return b === null ? 0 : 1;
  if (b === null) return -1;
  return a - b;
}

function compareEntries<S extends FleetSnapshotLike>(key: SortKey, a: FleetEntry<S>, b: FleetEntry<S>): number {
  switch (key) {
    case 'name':
      return 0;
    case 'state':
      return (STATE_RANK[a.vm.state] ?? 99) - (STATE_RANK[b.vm.state] ?? 99);
    case 'memory':
      return compareNullable(a.vm.memoryBytes, b.vm.memoryBytes);
    case 'vcpus':
      return compareNullable(a.vm.vcpus, b.vm.vcpus);
    case 'host':
      return COLLATOR.compare(a.snapshot.host.alias, b.snapshot.host.alias);
    default: {
      const never: never = key;
      throw new Error(`unknown sort key ${String(never)}`);
    }
  }
}

/** Every VM of the fleet with its host and search text, in fleet order. Once per fleet read. */
export function fleetEntries<S extends FleetSnapshotLike>(fleet: readonly S[]): FleetEntry<S>[] {
  const entries: FleetEntry<S>[] = [];
  for (const snapshot of fleet) {
    for (const vm of snapshot.vms as readonly VmOf<S>[]) {
      entries.push({ vm, snapshot, haystack: cardText(vm, snapshot.host) });
    }
  }
  return entries;
}

/**
 * The entries in the order the view asks for; ties by name, then host. Unknown sizes stay last in either
 * order. Once per fleet read or sort change, never per keystroke.
 */
export function sortEntries<S extends FleetSnapshotLike>(
  entries: readonly FleetEntry<S>[],
  options: { sort: SortKey; order: SortOrder },
): FleetEntry<S>[] {
  const sign = options.order === 'desc' ? -1 : 1;
  const isNullableKey = options.sort === 'memory' || options.sort === 'vcpus';
  return [...entries].sort((a, b) => {
    const primary = compareEntries(options.sort, a, b);
    if (primary !== 0) {
      const isNullInvolved =
        isNullableKey && (primaryValue(options.sort, a) === null || primaryValue(options.sort, b) === null);
      return isNullInvolved ? primary : sign * primary;
    }
    const byName = COLLATOR.compare(a.vm.name, b.vm.name);
    if (byName !== 0) return options.sort === 'name' ? sign * byName : byName;
    return COLLATOR.compare(a.snapshot.host.alias, b.snapshot.host.alias);
  });
}

function primaryValue<S extends FleetSnapshotLike>(key: SortKey, entry: FleetEntry<S>): number | null {
  return key === 'memory' ? entry.vm.memoryBytes : key === 'vcpus' ? entry.vm.vcpus : 0;
}

/** Lower-cased words of the free text; every one must appear in the card's text. */
export function queryTerms(text: string): string[] {
  return text.toLowerCase().split(/\s+/).filter(Boolean);
}

export function hasVmFilter(filters: FleetFilters): boolean {
  return filters.q.trim() !== '' || filters.name.trim() !== '' || filters.state !== null;
}

export function hasAnyFilter(filters: FleetFilters): boolean {
  return hasVmFilter(filters) || filters.host !== '';
}

/** The entries that pass every filter, in the given order. */
export function filterEntries<S extends FleetSnapshotLike>(
  entries: readonly FleetEntry<S>[],
  filters: FleetFilters,
): FleetEntry<S>[] {
  const terms = queryTerms(filters.q);
  const name = filters.name.trim().toLowerCase();
  const { host, state } = filters;
  if (terms.length === 0 && name === '' && host === '' && state === null) return [...entries];
  return entries.filter(
    (entry) =>
      (host === '' || entry.snapshot.host.alias === host) &&
      (state === null || entry.vm.state === state) &&
      (name === '' || entry.vm.name.toLowerCase().includes(name)) &&
      terms.every((term) => entry.haystack.includes(term)),
  );
}

/**
 * `next` itself, or `previous` when both hold the same entries in the same order. A keystroke that does not change
 * which VMs match (every VM's text holds "bench-h" as well as "bench-") then keeps the matches array, so the rows
 * built from it and the rendered list stay as they are: one pass of reference checks instead of a new list.
 */
export function keepIfSame<T>(previous: readonly T[] | null, next: T[]): T[] {
  if (previous === null || previous.length !== next.length) return next;
  for (let index = 0; index < next.length; index += 1) if (previous[index] !== next[index]) return next;
  return previous as T[];
}

/** Whether a host with no matching VM still gets its section: only while no VM-level filter hides its VMs. */
function isHostShownEmpty(snapshot: FleetSnapshotLike, filters: FleetFilters): boolean {
  if (filters.host !== '' && snapshot.host.alias !== filters.host) return false;
  if (filters.name.trim() !== '' || filters.state !== null) return false;
  const terms = queryTerms(filters.q);
  if (terms.length === 0) return true;
  // An unreachable host stays findable by its alias or name: its section says why it shows no VMs.
  const hostText = `${snapshot.host.alias}\n${snapshot.host.displayName}`.toLowerCase();
  return terms.every((term) => hostText.includes(term));
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let index = 0; index < items.length; index += size) chunks.push(items.slice(index, index + size));
  return chunks;
}

/**
 * Rows of the virtual list. Grouped: per host a header, then its error, its "no VMs" line, or its cards
 * `columns` to a row; hosts in fleet order (by alias when sorting by host). Flat: card rows only.
 */
export function buildRows<S extends FleetSnapshotLike>(options: {
  fleet: readonly S[];
  matches: readonly FleetEntry<S>[];
  filters: FleetFilters;
  grouping: Grouping;
  sort: SortKey;
  order: SortOrder;
  columns: number;
}): FleetRow<S>[] {
  const columns = Math.max(1, Math.floor(options.columns));
  if (options.grouping === 'flat') {
    return chunk(options.matches, columns).map((entries, index) => ({
      kind: 'cards',
      key: `flat:${index}`,
      snapshot: null,
      entries,
      isLastOfHost: false,
    }));
  }

  const byHost = new Map<string, FleetEntry<S>[]>();
  for (const entry of options.matches) {
    const list = byHost.get(entry.snapshot.host.id);
    if (list) list.push(entry);
    else byHost.set(entry.snapshot.host.id, [entry]);
  }
  let hosts = [...options.fleet];
  if (options.sort === 'host') {
    hosts.sort((a, b) => COLLATOR.compare(a.host.alias, b.host.alias));
    if (options.order === 'desc') hosts = hosts.reverse();
  }

  const isFiltered = hasVmFilter(options.filters);
  const rows: FleetRow<S>[] = [];
  for (const snapshot of hosts) {
    const entries = byHost.get(snapshot.host.id) ?? [];
    if (entries.length === 0 && !isHostShownEmpty(snapshot, options.filters)) continue;
    const id = snapshot.host.id;
    rows.push({ kind: 'host', key: `host:${id}`, snapshot, matches: entries.length, isFiltered });
    if (snapshot.status === 'error') {
      rows.push({ kind: 'host-error', key: `host:${id}:error`, snapshot });
    } else if (entries.length === 0) {
      rows.push({ kind: 'host-empty', key: `host:${id}:empty`, snapshot });
    } else {
      const chunks = chunk(entries, columns);
      chunks.forEach((part, index) =>
        rows.push({
          kind: 'cards',
          key: `host:${id}:${index}`,
          snapshot,
          entries: part,
          isLastOfHost: index === chunks.length - 1,
        }),
      );
    }
  }
  return rows;
}

/**
 * A function that passes each value through `combine` with the value it returned last time (keepIfSame,
 * reuseRows). A render React throws away may leave its value as "last": harmless, as both only reuse a previous
 * value whose content equals the new one.
 */
export function remembering<T>(combine: (previous: T | null, next: T) => T): (next: T) => T {
  let last: T | null = null;
  return (next) => (last = combine(last, next));
}

function isSameRow<S extends FleetSnapshotLike>(a: FleetRow<S>, b: FleetRow<S>): boolean {
  if (a.kind !== b.kind || a.key !== b.key || a.snapshot !== b.snapshot) return false;
  if (a.kind === 'host' && b.kind === 'host') return a.matches === b.matches && a.isFiltered === b.isFiltered;
  if (a.kind === 'cards' && b.kind === 'cards') {
    return (
      a.isLastOfHost === b.isLastOfHost &&
      a.entries.length === b.entries.length &&
      a.entries.every((entry, index) => entry === b.entries[index])
    );
  }
  return true;
}

/**
 * `next` with every row that equals the previous row of its key replaced by that previous object, or `previous`
 * itself when nothing changed. The list's rows are memoised on the row object, so a new filter renders only the
 * rows whose content changed (a host whose matches stay the same is not rendered again).
 */
export function reuseRows<S extends FleetSnapshotLike>(
  previous: readonly FleetRow<S>[] | null,
  next: FleetRow<S>[],
): FleetRow<S>[] {
  if (previous === null) return next;
  const byKey = new Map(previous.map((row) => [row.key, row]));
  let isAllReused = previous.length === next.length;
  const rows = next.map((row, index) => {
    const before = byKey.get(row.key);
    if (before && isSameRow(before, row)) {
      if (previous[index] !== before) isAllReused = false;
      return before;
    }
    isAllReused = false;
    return row;
  });
  return isAllReused ? (previous as FleetRow<S>[]) : rows;
}

/**
 * What of the filters, besides the matches, shapes the rows: whether a VM filter is set (host headers say
 * "filtered") and which hosts get a section although none of their VMs match.
 */
export function rowFacets(fleet: readonly FleetSnapshotLike[], filters: FleetFilters): string {
  let facets = hasVmFilter(filters) ? 'vm-filter:' : 'no-vm-filter:';
  for (const snapshot of fleet) facets += isHostShownEmpty(snapshot, filters) ? '1' : '0';
  return facets;
}

type RowsOptions<S extends FleetSnapshotLike> = Parameters<typeof buildRows<S>>[0];

/**
 * buildRows with a memory: the same matches (keepIfSame), fleet, layout and row facets as last time give last
 * time's rows without building them (a keystroke that changes nothing on the list costs a string compare); else
 * the new rows, with the unchanged ones kept as objects (reuseRows).
 */
export function createRowsBuilder<S extends FleetSnapshotLike>(): (options: RowsOptions<S>) => FleetRow<S>[] {
  let last: { options: RowsOptions<S>; facets: string; rows: FleetRow<S>[] } | null = null;
  return (options) => {
    const facets = rowFacets(options.fleet, options.filters);
    const before = last?.options;
    if (
      last &&
      before &&
      before.matches === options.matches &&
      before.fleet === options.fleet &&
      before.grouping === options.grouping &&
      before.sort === options.sort &&
      before.order === options.order &&
      before.columns === options.columns &&
      last.facets === facets
    ) {
      return last.rows;
    }
    const rows = reuseRows(last?.rows ?? null, buildRows(options));
    last = { options, facets, rows };
    return rows;
  };
}

/** "37 of 10 000 VMs": groups of three digits split by a no-break space, as the issue writes them. */
export function formatCount(value: number): string {
  return String(value).replace(/\B(?=(\d{3})+(?!\d))/g, '\u00a0');
}

export function describeMatches(options: { matches: number; total: number; isFiltered: boolean }): string {
  const noun = options.total === 1 ? 'VM' : 'VMs';
  return options.isFiltered
    ? `${formatCount(options.matches)} of ${formatCount(options.total)} ${noun}`
    : `${formatCount(options.total)} ${noun}`;
}
