'use client';

import { useWindowVirtualizer, type VirtualItem } from '@tanstack/react-virtual';
import { memo, useLayoutEffect, useMemo, useRef, useState, useSyncExternalStore, type ReactNode } from 'react';
import type { ActiveMigration } from '../../_lib/use-active-migrations';
import type { FleetRow } from './fleet-rows';
import { HostErrorBox, HostHeader } from './host-header';
import type { HostSnapshotView, VmView } from './types';
import { VmCard } from './vm-card';

/**
 * In a fleet of up to this many VMs every row is rendered (the browser's find-in-page sees them all, and a small
 * fleet pays nothing for measuring); in a larger one only the rows near the viewport are in the DOM. The fleet's
 * size decides, not the filter's result: a keystroke that narrows 10 000 VMs to one host's 50 then mounts the ~15
 * cards in view, not all 50 (the frame that paints new cards is most of a keystroke's cost), and the list does
 * not switch between the two ways as one types.
 */
export const FULL_RENDER_MAX_CARDS = 300;
const OVERSCAN_ROWS = 2;
const ESTIMATED_ROW_PX: Readonly<Record<FleetRow<HostSnapshotView>['kind'], number>> = {
  host: 56,
  'host-error': 96,
  'host-empty': 60,
  cards: 200,
};

/** Columns of cards, as the old grid's breakpoints had them (sm: 2, lg: 3). */
function subscribeToWidth(onChange: () => void) {
  window.addEventListener('resize', onChange);
  return () => window.removeEventListener('resize', onChange);
}
function columnsForWidth(): number {
  return window.innerWidth >= 1024 ? 3 : window.innerWidth >= 640 ? 2 : 1;
}
export function useCardColumns(): number {
  return useSyncExternalStore(subscribeToWidth, columnsForWidth, () => 3);
}

export type FleetListProps = {
  rows: FleetRow<HostSnapshotView>[];
  /** Every VM in the fleet, matching or not (decides whether all rows are rendered). */
  fleetSize: number;
  columns: number;
  isFlat: boolean;
  /** Unfinished migrations by `${sourceAlias}\n${vmUuid}`. */
  jobs: ReadonlyMap<string, ActiveMigration>;
  onMigrate: (vm: VmView, host: HostSnapshotView['host']) => void;
  renderHostExtra: (snapshot: HostSnapshotView) => ReactNode;
  renderVmActions: (vm: VmView, snapshot: HostSnapshotView) => ReactNode;
};

export function jobKey(hostAlias: string, vmUuid: string): string {
  return `${hostAlias}\n${vmUuid}`;
}

/**
 * The fleet as one window-scrolled virtual list. Rows are host headers, a host's error or "no VMs" line, and
 * rows of cards. Visible rows of one host are wrapped in that host's `<section data-host>`, placed at its first
 * visible row: rows are contiguous, so the rest follow in normal flow and each is measured as it renders.
 */
export const FleetList = memo(function FleetList(props: FleetListProps) {
  const { rows } = props;
  const listRef = useRef<HTMLDivElement>(null);
  const [scrollMargin, setScrollMargin] = useState(0);
  useLayoutEffect(() => {
    // The list's distance from the top of the page: the filter bar above it wraps to more lines on narrow screens.
    const element = listRef.current;
    if (!element) return;
    const update = () => setScrollMargin(Math.round(element.getBoundingClientRect().top + window.scrollY));
    update();
    const observer = new ResizeObserver(update);
    observer.observe(document.body);
    return () => observer.disconnect();
  }, []);

  const virtualizer = useWindowVirtualizer({
    count: rows.length,
    estimateSize: (index) => ESTIMATED_ROW_PX[rows[index]?.kind ?? 'cards'],
    getItemKey: (index) => rows[index]?.key ?? index,
    overscan: props.fleetSize <= FULL_RENDER_MAX_CARDS ? rows.length : OVERSCAN_ROWS,
    scrollMargin,
    useFlushSync: false,
  });

  // What every row needs besides itself, one object while none of it changes: a new filter gives the list new rows,
  // and rows it kept (same object) are then not rendered again.
  const { columns, isFlat, jobs, onMigrate, renderHostExtra, renderVmActions } = props;
  const context = useMemo(
    () => ({ columns, isFlat, jobs, onMigrate, renderHostExtra, renderVmActions }),
    [columns, isFlat, jobs, onMigrate, renderHostExtra, renderVmActions],
  );

  const groups: { key: string; snapshot: HostSnapshotView | null; items: VirtualItem[] }[] = [];
  for (const item of virtualizer.getVirtualItems()) {
    const row = rows[item.index];
    if (!row) continue;
    const snapshot = row.snapshot;
    const last = groups.at(-1);
    if (last && last.snapshot?.host.id === snapshot?.host.id) last.items.push(item);
    else groups.push({ key: snapshot ? `host:${snapshot.host.id}` : 'flat', snapshot, items: [item] });
  }

  return (
    <div ref={listRef} data-testid="fleet-list" data-rows={rows.length}>
      <div style={{ height: virtualizer.getTotalSize(), position: 'relative', width: '100%' }}>
        {groups.map((group) => {
          const first = group.items[0];
          const style = {
            position: 'absolute' as const,
            top: 0,
            left: 0,
            width: '100%',
            transform: `translateY(${(first?.start ?? 0) - virtualizer.options.scrollMargin}px)`,
          };
          const content = group.items.map((item) => (
            <div key={item.key} data-index={item.index} ref={virtualizer.measureElement}>
              <Row row={rows[item.index]!} props={context} />
            </div>
          ));
          return group.snapshot && !props.isFlat ? (
            <section
              key={group.key}
              aria-label={`Host ${group.snapshot.host.alias}`}
              data-host={group.snapshot.host.alias}
              style={style}
            >
              {content}
            </section>
          ) : (
            <div key={group.key} style={style}>
              {content}
            </div>
          );
        })}
      </div>
    </div>
  );
});

/**
 * One row, memoised on the row object and the list's row context: scrolling re-renders the list on every frame, and
 * rows that stay in view then cost nothing. A new filter renders only the rows whose content changed (reuseRows).
 */
type RowContext = Pick<
  FleetListProps,
  'columns' | 'isFlat' | 'jobs' | 'onMigrate' | 'renderHostExtra' | 'renderVmActions'
>;

const Row = memo(function Row({ row, props }: { row: FleetRow<HostSnapshotView>; props: RowContext }) {
  switch (row.kind) {
    case 'host':
      return (
        <div className="rounded-t-lg border border-b-0 border-slate-200 bg-white px-4 pt-4 pb-3">
          <HostHeader
            snapshot={row.snapshot}
            matches={row.matches}
            isFiltered={row.isFiltered}
            extra={props.renderHostExtra(row.snapshot)}
          />
        </div>
      );
    case 'host-error':
      return (
        <HostFoot>
          <HostErrorBox snapshot={row.snapshot} />
        </HostFoot>
      );
    case 'host-empty':
      return (
        <HostFoot>
          <p className="text-sm text-slate-500">
            {row.snapshot.vms.length === 0 ? 'No VMs defined on this host.' : 'No VM on this host matches.'}
          </p>
        </HostFoot>
      );
    case 'cards': {
      const grid = { gridTemplateColumns: `repeat(${props.columns}, minmax(0, 1fr))` };
      const cards = row.entries.map(({ vm, snapshot }) => (
        <VmCard
          key={vm.uuid || vm.name}
          vm={vm}
          hostAlias={snapshot.host.alias}
          isHostShown={props.isFlat}
          job={props.jobs.get(jobKey(snapshot.host.alias, vm.uuid))}
          onMigrate={() => props.onMigrate(vm, snapshot.host)}
          actions={props.renderVmActions(vm, snapshot)}
        />
      ));
      if (props.isFlat) {
        return (
          <ul className="grid gap-3 pb-3" style={grid}>
            {cards}
          </ul>
        );
      }
      return (
        <div className={row.isLastOfHost ? 'pb-6' : ''}>
          <ul
            className={`grid gap-3 border-x border-slate-200 bg-white px-4 pb-3 ${row.isLastOfHost ? 'rounded-b-lg border-b pb-4' : ''}`}
            style={grid}
          >
            {cards}
          </ul>
        </div>
      );
    }
    default: {
      const never: never = row;
      throw new Error(`unknown row ${JSON.stringify(never)}`);
    }
  }
});

/** The last part of a host's box, with the gap to the next host inside it so the row's measured height holds it. */
function HostFoot({ children }: { children: ReactNode }) {
  return (
    <div className="pb-6">
      <div className="rounded-b-lg border border-t-0 border-slate-200 bg-white px-4 pb-4">{children}</div>
    </div>
  );
}
