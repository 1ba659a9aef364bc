'use client';

import Link from 'next/link';
import type { ReactNode } from 'react';
import { plural } from '@/server/plural';
import { ErrorBox } from '../ui';
import type { HostSnapshotView } from './types';

/**
 * A host section's header: name, URI, VM count (matches of it while filtering), read time. `extra` is the slot
 * for one more element per host (stream state, maintenance badge, Evacuate button). Links here and on cards
 * do not prefetch: scrolling 200 hosts past the viewport would otherwise ask the server for 200 host pages.
 */
export function HostHeader({
  snapshot,
  matches,
  isFiltered,
  extra,
}: {
  snapshot: HostSnapshotView;
  matches: number;
  isFiltered: boolean;
  extra?: ReactNode;
}) {
  const { host } = snapshot;
  const count = isFiltered ? `${matches} of ${plural(snapshot.vms.length, 'VM')}` : plural(snapshot.vms.length, 'VM');
  return (
    <header className="flex flex-wrap items-baseline gap-x-3 gap-y-1">
      <h2 className="text-lg font-semibold">
        <Link href={`/hosts/${encodeURIComponent(host.alias)}`} prefetch={false} className="hover:underline">
          {host.displayName}
        </Link>
      </h2>
      <code className="text-xs text-slate-500">{host.displayUri}</code>
      {extra}
      <span className="ml-auto text-xs text-slate-500" data-testid="host-vm-count">
        {snapshot.status === 'ok' ? `${count} · read in ${Math.round(snapshot.durationMs)} ms` : 'unreachable'}
      </span>
    </header>
  );
}

/** Why an unreachable host shows no VMs. */
export function HostErrorBox({ snapshot }: { snapshot: HostSnapshotView }) {
  return (
    <ErrorBox title={`${snapshot.host.alias}: ${snapshot.error ?? 'error'}`}>
      {snapshot.errorDetail && snapshot.errorDetail !== snapshot.error ? (
        <pre className="whitespace-pre-wrap text-xs">{snapshot.errorDetail}</pre>
      ) : null}
    </ErrorBox>
  );
}
