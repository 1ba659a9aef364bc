import { createLoader, createSerializer, parseAsString, parseAsStringLiteral, type inferParserType } from 'nuqs';
import { VM_STATES } from '@/server/libvirt/parsers/vm-state';

/**
 * The fleet page's view, kept in the URL so a link reproduces it:
 * `/?q=web&state=running&group=flat&sort=memory&order=desc`.
 * Defaults are left out of the URL (nuqs' clearOnDefault), so the plain `/` is the default view.
 */

export const GROUPINGS = ['host', 'flat'] as const;
export const SORT_KEYS = ['name', 'state', 'memory', 'vcpus', 'host'] as const;
export const SORT_ORDERS = ['asc', 'desc'] as const;

export type Grouping = (typeof GROUPINGS)[number];
export type SortKey = (typeof SORT_KEYS)[number];
export type SortOrder = (typeof SORT_ORDERS)[number];

export const SORT_LABELS: Readonly<Record<SortKey, string>> = {
  name: 'Name',
  state: 'State',
  memory: 'Memory',
  vcpus: 'vCPUs',
  host: 'Host',
};

export const fleetSearchParams = {
  /** Free text: every word must appear in what a card shows (name, host, state, sizes, disks, problem). */
  q: parseAsString.withDefault(''),
  /** Part of the VM's name, any case. */
  name: parseAsString.withDefault(''),
  /** A host alias, exactly; '' is every host. */
  host: parseAsString.withDefault(''),
  state: parseAsStringLiteral(VM_STATES),
  group: parseAsStringLiteral(GROUPINGS).withDefault('host'),
  sort: parseAsStringLiteral(SORT_KEYS).withDefault('name'),
  order: parseAsStringLiteral(SORT_ORDERS).withDefault('asc'),
};

export type FleetViewState = inferParserType<typeof fleetSearchParams>;

/** Parses a URL's search params (a string, URLSearchParams or a Next searchParams object) into the view. */
export const loadFleetView = createLoader(fleetSearchParams);

/** The query string of a view, defaults left out: `serializeFleetView('/', view)`. */
export const serializeFleetView = createSerializer(fleetSearchParams);
