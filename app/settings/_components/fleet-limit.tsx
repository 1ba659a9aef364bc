'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { toast } from 'sonner';
import { useTRPC } from '@/trpc/client';
import { toFieldErrors } from '../../_lib/trpc-errors';
import { Button, ErrorBox, Field, TextInput } from '../../_components/ui';
import { refreshAfterChange } from '@/trpc/query-client';

/** The fleet-wide cap on migrations running at once; each host's own limits are on its page. */
export function FleetLimitSection() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const limits = useQuery(trpc.settings.migrationLimits.queryOptions());
  const [draft, setDraft] = useState<string | null>(null);
  const save = useMutation(
    trpc.settings.saveFleetLimit.mutationOptions({
      onSuccess: async () => {
        toast.success('Fleet-wide migration limit saved');
        setDraft(null);
        await refreshAfterChange(queryClient, [trpc.settings.migrationLimits.queryKey()]);
      },
    }),
  );
  const { fields, form } = toFieldErrors(save.error);
  const value = draft ?? (limits.data ? String(limits.data.fleetLimit) : '');

  return (
    <section
      aria-label="Migration limits"
      className="space-y-3 rounded-lg border border-slate-200 bg-white p-4 shadow-sm"
    >
      <h2 className="text-lg font-semibold">Migrations at once</h2>
      <p className="text-sm text-slate-600">
        How many migrations may run at the same time across all hosts (default {limits.data?.defaultFleetLimit ?? 10}
        ). Each host also has its own outgoing and incoming limits, on its page. A migration beyond a limit waits in the
        queue and starts by itself when a slot frees.
      </p>
      {limits.isError ? <ErrorBox title="Could not load the limit">{limits.error.message}</ErrorBox> : null}
      <form
        className="flex items-end gap-3"
        onSubmit={(event) => {
          event.preventDefault();
          save.mutate({ fleetLimit: value.trim() === '' ? Number.NaN : Number(value) });
        }}
      >
        <Field label="Fleet-wide limit" htmlFor="fleet-limit" error={fields.fleetLimit ?? form}>
          <TextInput
            id="fleet-limit"
            inputMode="numeric"
            className="w-32"
            value={value}
            invalid={!!(fields.fleetLimit ?? form)}
            onChange={(event) => setDraft(event.target.value)}
          />
        </Field>
        <Button type="submit" variant="primary" disabled={save.isPending || draft === null}>
          Save limit
        </Button>
      </form>
    </section>
  );
}
