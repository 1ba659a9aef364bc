'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { toast } from 'sonner';
import { useTRPC } from '@/trpc/client';
import { formatBytes } from '../../_lib/format';
import { HostEvacuation } from './host-evacuation';
import { HostForm } from './host-form';
import { HostLimits } from './host-limits';
import { LeftoverVolumes } from './leftover-volumes';
import { MaintenanceBadge } from '../../_components/maintenance-badge';
import { Button, ErrorBox } from '../../_components/ui';
import { refreshAfterChange } from '@/trpc/query-client';

export function HostDetail({ alias }: { alias: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState(false);
  const detail = useQuery(trpc.host.get.queryOptions({ alias }));
  const test = useMutation(trpc.host.test.mutationOptions());
  const remove = useMutation(
    trpc.host.remove.mutationOptions({
      onSuccess: async (removed) => {
        toast.success(`Host ${removed.alias} removed`);
        await refreshAfterChange(queryClient, [trpc.host.pathKey()]);
        router.push('/hosts');
      },
      onError: (error) => toast.error(error.message),
    }),
  );

  if (detail.isPending) return <p className="text-slate-500">Loading {alias}…</p>;
  if (detail.isError) return <ErrorBox title={detail.error.message} />;
  const { host, info } = detail.data;

  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-2xl font-semibold tracking-tight">{host.displayName}</h1>
        <code className="text-sm text-slate-500">{host.displayUri}</code>
        <MaintenanceBadge host={host} />
        <div className="ml-auto flex gap-2">
          <Button onClick={() => test.mutate({ id: host.id })} disabled={test.isPending}>
            {test.isPending ? 'Testing…' : 'Test connection'}
          </Button>
          <Button onClick={() => setEditing((value) => !value)}>{editing ? 'Close editor' : 'Edit'}</Button>
          <Button
            variant="danger"
            disabled={remove.isPending}
            onClick={() => {
              if (window.confirm(`Remove host ${host.alias} from Ferry? Its VMs are not touched.`))
                remove.mutate({ id: host.id });
            }}
          >
            Remove
          </Button>
        </div>
      </div>

      {test.data ? (
        test.data.ok ? (
          <div
            role="status"
            className="rounded-md border border-emerald-200 bg-emerald-50 p-3 text-sm text-emerald-900"
            data-testid="test-result"
          >
            Connected in {Math.round(test.data.latencyMs)} ms.
            <pre className="mt-1 whitespace-pre-wrap text-xs">{test.data.output}</pre>
          </div>
        ) : (
          <ErrorBox title={`Connection failed: ${test.data.error}`}>
            {test.data.errorDetail ? <pre className="whitespace-pre-wrap text-xs">{test.data.errorDetail}</pre> : null}
          </ErrorBox>
        )
      ) : null}

      {editing ? (
        <div className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
          <HostForm
            hostId={host.id}
            initial={{
              alias: host.alias,
              reference: '',
              displayName: host.displayName,
              executorKind: host.executorKind as 'local' | 'ssh',
              tlsCapable: host.tlsCapable,
              migrationAddress: host.migrationAddress ?? '',
              confirmedFingerprint: host.pinnedFingerprint ?? undefined,
            }}
            currentDisplayUri={host.displayUri}
            onDone={() => setEditing(false)}
          />
        </div>
      ) : null}

      {detail.data.warnings.length > 0 ? (
        <div
          role="note"
          className="rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900"
          data-uri-warning
        >
          <p className="font-medium">This host's URI uses a feature that can run programs or touch files as root:</p>
          <ul className="list-disc pl-5">
            {detail.data.warnings.map((warning) => (
              <li key={warning}>{warning}</li>
            ))}
          </ul>
        </div>
      ) : null}

      {detail.data.error ? (
        <ErrorBox title={`${host.alias} is not answering: ${detail.data.error}`}>
          {detail.data.errorDetail ? (
            <pre className="whitespace-pre-wrap text-xs">{detail.data.errorDetail}</pre>
          ) : null}
        </ErrorBox>
      ) : null}

      <dl
        className="grid grid-cols-2 gap-x-6 gap-y-2 rounded-lg border border-slate-200 bg-white p-4 text-sm shadow-sm sm:grid-cols-4"
        aria-label="Host facts"
      >
        <Fact label="libvirt version" value={info?.libvirtVersion} />
        <Fact label="Hypervisor" value={info?.hypervisorVersion} />
        <Fact label="Host UUID" value={info?.hostUuid ?? host.hostUuid} mono />
        <Fact label="CPU model" value={info?.cpuModel} />
        <Fact label="CPUs" value={info?.cpus?.toString()} />
        <Fact label="Memory" value={info ? formatBytes(info.memoryBytes) : null} />
        <Fact label="VMs" value={info?.vmCount?.toString()} />
        <Fact label="Executor" value={host.executorKind} />
        <Fact label="Pinned host key" value={host.pinnedFingerprint} mono />
        <Fact label="Migration address" value={host.migrationAddress} />
        <Fact label="Native TLS" value={host.tlsCapable ? 'yes' : 'no'} />
      </dl>

      <HostEvacuation host={host} />
      <HostLimits host={host} />
      <LeftoverVolumes alias={host.alias} />
    </div>
  );
}

function Fact({ label, value, mono }: { label: string; value: string | null | undefined; mono?: boolean }) {
  return (
    <div>
      <dt className="text-xs text-slate-500">{label}</dt>
      <dd className={`${mono ? 'font-mono text-xs' : ''} break-all`} data-fact={label}>
        {value ?? '—'}
      </dd>
    </div>
  );
}
