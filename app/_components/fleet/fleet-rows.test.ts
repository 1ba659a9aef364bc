import { describe, expect, it } from 'vitest';
import {
  buildRows,
  cardText,
  createRowsBuilder,
  describeMatches,
  filterEntries,
  fleetEntries,
  keepIfSame,
  remembering,
  reuseRows,
  rowFacets,
  sortEntries,
  type FleetFilters,
  type FleetRow,
  type FleetSnapshotLike,
  type FleetVmLike,
} from './fleet-rows';

const GIB = 1024 ** 3;

function vm(name: string, extra: Partial<FleetVmLike> = {}): FleetVmLike {
  return {
    name,
    uuid: `uuid-${name}`,
    state: 'running',
    vcpus: 2,
    memoryBytes: 2 * GIB,
    disks: [{ target: 'vda', path: `/var/lib/libvirt/images/${name}.qcow2`, capacityBytes: 10 * GIB }],
    problem: null,
    ...extra,
  };
}

function host(alias: string, vms: FleetVmLike[], status: 'ok' | 'error' = 'ok'): FleetSnapshotLike {
  return { host: { id: `id-${alias}`, alias, displayName: `${alias} rack` }, status, vms };
}

const FLEET: FleetSnapshotLike[] = [
  host('hv1', [
    vm('web10', { memoryBytes: 4 * GIB, vcpus: 4 }),
    vm('web2', { state: 'shutoff', memoryBytes: 1 * GIB }),
    vm('db1', { state: 'paused', vcpus: null, memoryBytes: null, problem: 'dominfo failed' }),
  ]),
  host('hv2', [vm('web1', { memoryBytes: 8 * GIB, vcpus: 1 }), vm('cache', { state: 'crashed', disks: [] })]),
  host('dead', [], 'error'),
  host('spare', []),
];

const NO_FILTER: FleetFilters = { q: '', name: '', host: '', state: null };

const names = (entries: { vm: { name: string } }[]) => entries.map((entry) => entry.vm.name);

describe('sorting', () => {
  const entries = fleetEntries(FLEET);

  it('by name, as people count: web2 before web10, any case', () => {
    expect(names(sortEntries(entries, { sort: 'name', order: 'asc' }))).toEqual([
      'cache',
      'db1',
      'web1',
      'web2',
      'web10',
    ]);
    expect(names(sortEntries(entries, { sort: 'name', order: 'desc' }))).toEqual([
      'web10',
      'web2',
      'web1',
      'db1',
      'cache',
    ]);
  });

  it('by memory and vCPUs, unknown values last in both orders', () => {
    expect(names(sortEntries(entries, { sort: 'memory', order: 'asc' }))).toEqual([
      'web2',
      'cache',
      'web10',
      'web1',
      'db1',
    ]);
    expect(names(sortEntries(entries, { sort: 'memory', order: 'desc' }))).toEqual([
      'web1',
      'web10',
      'cache',
      'web2',
      'db1',
    ]);
    expect(names(sortEntries(entries, { sort: 'vcpus', order: 'desc' })).at(-1)).toBe('db1');
  });

  it('by state: active ones first, shut off last; ties by name', () => {
    expect(names(sortEntries(entries, { sort: 'state', order: 'asc' }))).toEqual([
      'web1',
      'web10',
      'db1',
      'cache',
      'web2',
    ]);
  });

  it('by host, then name', () => {
    expect(names(sortEntries(entries, { sort: 'host', order: 'desc' }))).toEqual([
      'cache',
      'web1',
      'db1',
      'web2',
      'web10',
    ]);
  });

  it('leaves its input alone', () => {
    const before = names(entries);
    sortEntries(entries, { sort: 'memory', order: 'desc' });
    expect(names(entries)).toEqual(before);
  });
});

describe('filtering', () => {
  const sorted = sortEntries(fleetEntries(FLEET), { sort: 'name', order: 'asc' });
  const filter = (filters: Partial<FleetFilters>) => names(filterEntries(sorted, { ...NO_FILTER, ...filters }));

  it('no filter keeps every VM in order', () => {
    expect(filter({})).toEqual(['cache', 'db1', 'web1', 'web2', 'web10']);
  });

  it('name is a part of the name, any case', () => {
    expect(filter({ name: 'WEB1' })).toEqual(['web1', 'web10']);
  });

  it('host is an alias, exactly', () => {
    expect(filter({ host: 'hv2' })).toEqual(['cache', 'web1']);
    expect(filter({ host: 'hv' })).toEqual([]);
  });

  it('state is one state', () => {
    expect(filter({ state: 'shutoff' })).toEqual(['web2']);
  });

  it('free text: every word must appear in what the card shows (host, state, sizes, disks, problem)', () => {
    expect(filter({ q: 'hv2' })).toEqual(['cache', 'web1']);
    expect(filter({ q: 'paused' })).toEqual(['db1']);
    expect(filter({ q: '8.0 gib' })).toEqual(['web1']);
    expect(filter({ q: 'images/web2.qcow2' })).toEqual(['web2']);
    expect(filter({ q: 'dominfo' })).toEqual(['db1']);
    expect(filter({ q: 'web  hv1' })).toEqual(['web2', 'web10']);
    expect(filter({ q: 'rack hv2 crashed' })).toEqual(['cache']);
  });

  it('filters combine', () => {
    expect(filter({ q: 'web', host: 'hv1', state: 'running' })).toEqual(['web10']);
  });

  it('the searched text is lower case and holds the host and the sizes', () => {
    const text = cardText(vm('Big', { memoryBytes: 512 * 1024 ** 2 }), { id: 'x', alias: 'HV9', displayName: 'Nine' });
    expect(text).toContain('big');
    expect(text).toContain('hv9');
    expect(text).toContain('512 mib');
    expect(text).toContain('10.0 gib');
  });
});

type Row = FleetRow<FleetSnapshotLike>;
function describeRow(row: Row): string {
  switch (row.kind) {
    case 'host':
      return `host ${row.snapshot.host.alias} ${row.matches}${row.isFiltered ? ' filtered' : ''}`;
    case 'host-error':
      return `error ${row.snapshot.host.alias}`;
    case 'host-empty':
      return `empty ${row.snapshot.host.alias}`;
    case 'cards':
      return `cards ${names(row.entries).join(',')}${row.isLastOfHost ? ' last' : ''}`;
  }
}

describe('rows of the virtual list', () => {
  const sorted = sortEntries(fleetEntries(FLEET), { sort: 'name', order: 'asc' });
  const rows = (options: { filters?: Partial<FleetFilters>; grouping?: 'host' | 'flat'; columns?: number }) => {
    const filters = { ...NO_FILTER, ...options.filters };
    return buildRows({
      fleet: FLEET,
      matches: filterEntries(sorted, filters),
      filters,
      grouping: options.grouping ?? 'host',
      sort: 'name',
      order: 'asc',
      columns: options.columns ?? 2,
    }).map(describeRow);
  };

  it('grouped: each host a header, then its cards N to a row, its error, or "no VMs"; fleet order', () => {
    expect(rows({})).toEqual([
      'host hv1 3',
      'cards db1,web2',
      'cards web10 last',
      'host hv2 2',
      'cards cache,web1 last',
      'host dead 0',
      'error dead',
      'host spare 0',
      'empty spare',
    ]);
  });

  it('grouped and filtered: hosts without a match drop out, and headers know they count matches', () => {
    expect(rows({ filters: { state: 'running' } })).toEqual([
      'host hv1 1 filtered',
      'cards web10 last',
      'host hv2 1 filtered',
      'cards web1 last',
    ]);
  });

  it('an unreachable host stays findable by its alias', () => {
    expect(rows({ filters: { q: 'dead' } })).toEqual(['host dead 0 filtered', 'error dead']);
  });

  it('a host filter keeps that host even when it has no VMs', () => {
    expect(rows({ filters: { host: 'spare' } })).toEqual(['host spare 0', 'empty spare']);
  });

  it('flat: only card rows, in sort order across hosts', () => {
    expect(rows({ grouping: 'flat', columns: 3 })).toEqual(['cards cache,db1,web1', 'cards web2,web10']);
  });

  it('sorting by host orders the sections too', () => {
    const filters = NO_FILTER;
    const built = buildRows({
      fleet: FLEET,
      matches: filterEntries(sortEntries(fleetEntries(FLEET), { sort: 'host', order: 'desc' }), filters),
      filters,
      grouping: 'host',
      sort: 'host',
      order: 'desc',
      columns: 3,
    });
    expect(built.filter((row) => row.kind === 'host').map((row) => row.snapshot.host.alias)).toEqual([
      'spare',
      'hv2',
      'hv1',
      'dead',
    ]);
  });

  it('keys are unique and stable across a refilter, so measured heights stay with their rows', () => {
    const all = buildRows({
      fleet: FLEET,
      matches: sorted,
      filters: NO_FILTER,
      grouping: 'host',
      sort: 'name',
      order: 'asc',
      columns: 1,
    });
    const keys = all.map((row) => row.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys[0]).toBe('host:id-hv1');
  });

  it('10 000 VMs on 200 hosts make 200 headers and ceil(50 / 3) card rows each', () => {
    const big = Array.from({ length: 200 }, (_, h) =>
      host(
        `hv${h}`,
        Array.from({ length: 50 }, (_, v) => vm(`hv${h}-vm${v}`)),
      ),
    );
    const entries = sortEntries(fleetEntries(big), { sort: 'name', order: 'asc' });
    expect(entries).toHaveLength(10_000);
    const built = buildRows({
      fleet: big,
      matches: entries,
      filters: NO_FILTER,
      grouping: 'host',
      sort: 'name',
      order: 'asc',
      columns: 3,
    });
    expect(built.filter((row) => row.kind === 'host')).toHaveLength(200);
    expect(built.filter((row) => row.kind === 'cards')).toHaveLength(200 * 17);
    expect(names(filterEntries(entries, { ...NO_FILTER, q: 'hv199-vm4' }))).toEqual([
      'hv199-vm4',
      'hv199-vm40',
      'hv199-vm41',
      'hv199-vm42',
      'hv199-vm43',
      'hv199-vm44',
      'hv199-vm45',
      'hv199-vm46',
      'hv199-vm47',
      'hv199-vm48',
      'hv199-vm49',
    ]);
  });
});

describe('the match count', () => {
  it('says how many of how many, with digits grouped', () => {
    expect(describeMatches({ matches: 37, total: 10_000, isFiltered: true })).toBe('37 of 10\u00a0000 VMs');
    expect(describeMatches({ matches: 10_000, total: 10_000, isFiltered: false })).toBe('10\u00a0000 VMs');
    expect(describeMatches({ matches: 1, total: 1, isFiltered: false })).toBe('1 VM');
  });
});

describe('keeping what a keystroke did not change', () => {
  const sorted = sortEntries(fleetEntries(FLEET), { sort: 'name', order: 'asc' });
  const build = (matches: ReturnType<typeof filterEntries<FleetSnapshotLike>>, filters: FleetFilters) =>
    buildRows({ fleet: FLEET, matches, filters, grouping: 'host', sort: 'name', order: 'asc', columns: 2 });

  it('keeps the previous matches when a new filter matches the same VMs in the same order', () => {
    const all = filterEntries(sorted, NO_FILTER);
    const sameVms = filterEntries(sorted, { ...NO_FILTER, q: 'rack' });
    expect(sameVms).not.toBe(all);
    expect(keepIfSame(all, sameVms)).toBe(all);
    const fewer = filterEntries(sorted, { ...NO_FILTER, q: 'web' });
    expect(keepIfSame(all, fewer)).toBe(fewer);
    expect(keepIfSame(null, fewer)).toBe(fewer);
    // Same VMs, another order (a new sort): not the same list.
    const reversed = [...all].reverse();
    expect(keepIfSame(all, reversed)).toBe(reversed);
  });

  it('keeps every row whose content is unchanged, and the whole list when nothing changed', () => {
    const first = build(filterEntries(sorted, NO_FILTER), NO_FILTER);
    const again = build(filterEntries(sorted, NO_FILTER), NO_FILTER);
    expect(reuseRows(first, again)).toBe(first);

    // "web" hides hv1's db1 and hv2's cache: hv1's and hv2's rows change, the error and empty rows of the
    // other hosts go (a VM filter hides hosts without matches), and the headers now say "filtered".
    const webFilter = { ...NO_FILTER, q: 'web' };
    const web = reuseRows(first, build(filterEntries(sorted, webFilter), webFilter));
    expect(web.map(describeRow)).toEqual([
      'host hv1 2 filtered',
      'cards web2,web10 last',
      'host hv2 1 filtered',
      'cards web1 last',
    ]);
    expect(web.some((row) => first.includes(row))).toBe(false);

    // "web1" after "web": hv1's header says 1 now and its cards change; hv2's header and card row are the same
    // objects as before.
    const web1Filter = { ...NO_FILTER, q: 'web1' };
    const web1 = reuseRows(web, build(filterEntries(sorted, web1Filter), web1Filter));
    expect(web1.map(describeRow)).toEqual([
      'host hv1 1 filtered',
      'cards web10 last',
      'host hv2 1 filtered',
      'cards web1 last',
    ]);
    expect(web1).not.toBe(web);
    expect(web1.map((row) => web.includes(row))).toEqual([false, false, true, true]);
  });

  it('remembers the value it returned last, per instance', () => {
    const keep = remembering(keepIfSame<number>);
    const other = remembering(keepIfSame<number>);
    const a = [1, 2];
    expect(keep(a)).toBe(a);
    expect(keep([1, 2])).toBe(a);
    expect(other([1, 2])).not.toBe(a);
    const b = [1, 3];
    expect(keep(b)).toBe(b);
    expect(keep([1, 3])).toBe(b);
  });
});

describe('the rows builder with a memory', () => {
  const sorted = sortEntries(fleetEntries(FLEET), { sort: 'name', order: 'asc' });
  const layout = { fleet: FLEET, grouping: 'host' as const, sort: 'name' as const, order: 'asc' as const, columns: 2 };

  it('gives the same rows for the same matches when the filters shape no row differently', () => {
    const rowsFor = createRowsBuilder<FleetSnapshotLike>();
    const keep = remembering(keepIfSame<ReturnType<typeof filterEntries<FleetSnapshotLike>>[number]>);
    const run = (q: string) => {
      const filters = { ...NO_FILTER, q };
      return rowsFor({ ...layout, matches: keep(filterEntries(sorted, filters)), filters });
    };
    // "rac" and "rack" match every VM (their host's display name); neither shows a host without VMs differently.
    const rac = run('rac');
    expect(rac.map(describeRow)).toEqual([
      'host hv1 3 filtered',
      'cards db1,web2',
      'cards web10 last',
      'host hv2 2 filtered',
      'cards cache,web1 last',
      'host dead 0 filtered',
      'error dead',
      'host spare 0 filtered',
      'empty spare',
    ]);
    expect(run('rack')).toBe(rac);
    // Same matches, but no VM filter any more: headers no longer say "filtered", so new rows.
    const none = run('');
    expect(none).not.toBe(rac);
    expect(none[0]).toEqual({ ...rac[0], isFiltered: false });
    // Another column count is another layout.
    const matches = filterEntries(sorted, NO_FILTER);
    expect(rowsFor({ ...layout, columns: 3, matches, filters: NO_FILTER }).map(describeRow)[1]).toBe(
      'cards db1,web2,web10 last',
    );
  });

  it('row facets: the VM-filter flag and which hosts without matches keep their section', () => {
    expect(rowFacets(FLEET, NO_FILTER)).toBe('no-vm-filter:1111');
    // Free text naming a host keeps that host's section; the others have matching VMs or go.
    expect(rowFacets(FLEET, { ...NO_FILTER, q: 'spare' })).toBe('vm-filter:0001');
    expect(rowFacets(FLEET, { ...NO_FILTER, state: 'running' })).toBe('vm-filter:0000');
    expect(rowFacets(FLEET, { ...NO_FILTER, host: 'dead' })).toBe('no-vm-filter:0010');
  });
});
