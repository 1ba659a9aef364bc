'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useTRPC } from '@/trpc/client';
import { AliasImport } from './_components/alias-import';
import { HostForm } from './_components/host-form';
import { ErrorBox } from '../_components/ui';

export default function HostsPage() {
  const trpc = useTRPC();
  const hosts = useQuery(trpc.host.list.queryOptions());
  return (
    <div className="grid gap-6 lg:grid-cols-5">
      {/* min-w-0 and its own scroll: on a phone the hosts table scrolls here, not the whole page sideways. */}
      <section className="min-w-0 space-y-3 overflow-x-auto lg:col-span-3">
        <h1 className="text-2xl font-semibold tracking-tight">Hosts</h1>
        {hosts.isError ? <ErrorBox title="Could not load hosts">{hosts.error.message}</ErrorBox> : null}
        <table className="w-full rounded-lg bg-white text-sm shadow-sm" aria-label="Registered hosts">
          <thead>
            <tr className="border-b border-slate-200 text-left text-slate-500">
              <th className="px-3 py-2 font-medium">Alias</th>
              <th className="px-3 py-2 font-medium">URI</th>
              <th className="px-3 py-2 font-medium">Executor</th>
              <th className="px-3 py-2 font-medium">Host key</th>
            </tr>
          </thead>
          <tbody>
            {hosts.data?.map((host) => (
              <tr key={host.id} className="border-b border-slate-100" data-host-row={host.alias}>
                <td className="px-3 py-2">
                  <Link
                    href={`/hosts/${encodeURIComponent(host.alias)}`}
                    className="font-medium text-indigo-700 hover:underline"
                  >
                    {host.alias}
                  </Link>
                  {host.displayName !== host.alias ? (
                    <div className="text-xs text-slate-500">{host.displayName}</div>
                  ) : null}
                </td>
                <td className="px-3 py-2 font-mono text-xs">{host.displayUri}</td>
                <td className="px-3 py-2">{host.executorKind}</td>
                <td className="px-3 py-2 font-mono text-xs">
                  {host.pinnedFingerprint ? `${host.pinnedFingerprint.slice(0, 20)}…` : '—'}
                </td>
              </tr>
            ))}
            {hosts.data?.length === 0 ? (
              <tr>
                <td colSpan={4} className="px-3 py-6 text-center text-slate-500">
                  No hosts registered. Add one with the form.
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
        <div className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
          <h2 className="mb-3 text-lg font-semibold">Import aliases</h2>
          <AliasImport />
        </div>
      </section>
      <section className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm lg:col-span-2">
        <h2 className="mb-3 text-lg font-semibold">Add a host</h2>
        <HostForm />
      </section>
    </div>
  );
}
