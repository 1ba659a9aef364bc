'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { toast } from 'sonner';
import { useTRPC } from '@/trpc/client';
import { toFieldErrors } from '../../_lib/trpc-errors';
import { Button, ErrorBox, Field, TextInput } from '../../_components/ui';
import { refreshAfterChange } from '@/trpc/query-client';

type Limits = { maxOutgoingMigrations: number; maxIncomingMigrations: number; bandwidthCapMiBps: number | null };

/** A number typed in a field; blank is null (no cap), anything unreadable NaN so the server names the problem. */
const parseCount = (text: string) => (text.trim() === '' ? Number.NaN : Number(text));
const parseCap = (text: string) => (text.trim() === '' ? null : Number(text));

/**
 * The host's migration limits: how many may leave it and arrive on it at once (more wait in the queue), and
 * an optional bandwidth cap its running migrations share. Everyone sees them; admins change them.
 */
export function HostLimits({ host }: { host: Limits & { id: string; alias: string } }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const status = useQuery(trpc.account.status.queryOptions());
  const isAdmin = status.data?.signedIn?.role === 'admin';
  const [draft, setDraft] = useState<{ out: string; in: string; cap: string } | null>(null);
  const save = useMutation(
    trpc.host.setLimits.mutationOptions({
      onSuccess: async () => {
        toast.success(`Migration limits of ${host.alias} saved`);
        setDraft(null);
        await refreshAfterChange(queryClient, [trpc.host.pathKey()]);
      },
    }),
  );
  const { fields, form } = toFieldErrors(save.error);
  const values = draft ?? {
    out: String(host.maxOutgoingMigrations),
    in: String(host.maxIncomingMigrations),
    cap: host.bandwidthCapMiBps === null ? '' : String(host.bandwidthCapMiBps),
  };

  return (
    <section
      aria-label="Migration limits"
      className="space-y-3 rounded-lg border border-slate-200 bg-white p-4 text-sm shadow-sm"
    >
      <h2 className="text-lg font-semibold">Migration limits</h2>
      <p className="text-slate-600">
        At most {host.maxOutgoingMigrations} migration{host.maxOutgoingMigrations === 1 ? '' : 's'} leave {host.alias}{' '}
        and {host.maxIncomingMigrations} arrive at once; more wait in the queue and start by themselves.{' '}
        {host.bandwidthCapMiBps === null
          ? 'No bandwidth cap.'
          : `Its running migrations share ${host.bandwidthCapMiBps} MiB/s.`}
      </p>
      {isAdmin ? (
        <form
          className="grid gap-3 sm:grid-cols-3"
          onSubmit={(event) => {
            event.preventDefault();
            save.mutate({
              id: host.id,
              maxOutgoingMigrations: parseCount(values.out),
              maxIncomingMigrations: parseCount(values.in),
              bandwidthCapMiBps: parseCap(values.cap),
            });
          }}
        >
          <Field label="Outgoing at once" htmlFor="limit-out" error={fields.maxOutgoingMigrations}>
            <TextInput
              id="limit-out"
              inputMode="numeric"
              value={values.out}
              invalid={!!fields.maxOutgoingMigrations}
              onChange={(event) => setDraft({ ...values, out: event.target.value })}
            />
          </Field>
          <Field label="Incoming at once" htmlFor="limit-in" error={fields.maxIncomingMigrations}>
            <TextInput
              id="limit-in"
              inputMode="numeric"
              value={values.in}
              invalid={!!fields.maxIncomingMigrations}
              onChange={(event) => setDraft({ ...values, in: event.target.value })}
            />
          </Field>
          <Field
            label="Bandwidth cap (MiB/s)"
            htmlFor="limit-cap"
            error={fields.bandwidthCapMiBps}
            hint="Empty: no cap. Shared evenly by the migrations running from or to this host."
          >
            <TextInput
              id="limit-cap"
              inputMode="numeric"
              value={values.cap}
              invalid={!!fields.bandwidthCapMiBps}
              onChange={(event) => setDraft({ ...values, cap: event.target.value })}
            />
          </Field>
          {form ? (
            <div className="sm:col-span-3">
              <ErrorBox title={form} />
            </div>
          ) : null}
          <div className="sm:col-span-3">
            <Button type="submit" variant="primary" disabled={save.isPending || draft === null}>
              {save.isPending ? 'Saving…' : 'Save limits'}
            </Button>
          </div>
        </form>
      ) : null}
    </section>
  );
}
