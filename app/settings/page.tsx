'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { toast } from 'sonner';
import { useTRPC } from '@/trpc/client';
import { toFieldErrors } from '../_lib/trpc-errors';
import { Button, ErrorBox } from '../_components/ui';
import { FleetLimitSection } from './_components/fleet-limit';
import { refreshAfterChange } from '@/trpc/query-client';

export default function SettingsPage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const network = useQuery(trpc.settings.network.queryOptions());
  const [draft, setDraft] = useState<string | null>(null);
  const [needsConfirm, setNeedsConfirm] = useState(false);
  const save = useMutation(
    trpc.settings.saveAllowList.mutationOptions({
      onSuccess: async () => {
        toast.success('Allow-list saved');
        setDraft(null);
        setNeedsConfirm(false);
        await refreshAfterChange(queryClient, [trpc.settings.network.queryKey()]);
      },
      onError: (error) => setNeedsConfirm(error.data?.field === 'confirmLockout'),
    }),
  );
  const { fields, form } = toFieldErrors(save.error);
  const text = draft ?? network.data?.allowList.join('\n') ?? '';

  return (
    <div className="max-w-2xl space-y-4">
      <h1 className="text-2xl font-semibold tracking-tight">Settings</h1>
      {network.isError ? <ErrorBox title="Could not load settings">{network.error.message}</ErrorBox> : null}
      <section className="space-y-3 rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
        <h2 className="text-lg font-semibold">IP allow-list</h2>
        <p className="text-sm text-slate-600">
          Only these addresses and CIDR ranges (IPv4 or IPv6, one per line) reach Ferry; every other request gets 403
          before anything else runs.{' '}
          {network.data ? (
            <>
              Your address:{' '}
              <span className="font-mono" data-your-address>
                {network.data.yourAddress ?? 'unknown'}
              </span>
              .
              {network.data.source === 'configuration'
                ? ' The list below comes from FERRY_ALLOWED_CIDRS until saved here.'
                : ''}
            </>
          ) : null}
        </p>
        <label htmlFor="allow-list" className="block text-sm font-medium text-slate-700">
          Allowed addresses
        </label>
        <textarea
          id="allow-list"
          value={text}
          onChange={(event) => {
            setDraft(event.target.value);
            setNeedsConfirm(false);
          }}
          rows={8}
          className="block w-full rounded-md border border-slate-300 p-2 font-mono text-xs"
        />
        {fields.cidrs || (form && !needsConfirm) ? <ErrorBox title={fields.cidrs ?? form ?? ''} /> : null}
        {needsConfirm ? (
          <div role="alert" className="space-y-2 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm">
            <p>{fields.confirmLockout}</p>
            <Button variant="danger" onClick={() => save.mutate({ cidrs: text, confirmLockout: true })}>
              Save and lock me out
            </Button>
          </div>
        ) : null}
        <Button
          variant="primary"
          disabled={save.isPending || network.isPending}
          onClick={() => save.mutate({ cidrs: text, confirmLockout: false })}
        >
          Save allow-list
        </Button>
      </section>
      <FleetLimitSection />
    </div>
  );
}
