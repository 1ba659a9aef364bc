'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { toast } from 'sonner';
import { useTRPC } from '@/trpc/client';
import { formatTime } from '../_lib/format';
import { toFieldErrors } from '../_lib/trpc-errors';
import { MyApiKeys } from '../_components/api-keys';
import { Button, ErrorBox, Field, TextInput } from '../_components/ui';
import { refreshAfterChange } from '@/trpc/query-client';

function ChangePassword() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [mismatch, setMismatch] = useState(false);
  const change = useMutation(
    trpc.account.changePassword.mutationOptions({
      onSuccess: async () => {
        toast.success('Password changed; your other sessions are signed out.');
        setCurrent('');
        setNext('');
        setAgain('');
        await refreshAfterChange(queryClient, [trpc.account.sessions.queryKey()]);
      },
    }),
  );
  const { fields, form } = toFieldErrors(change.error);

  function submit(event: React.FormEvent) {
    event.preventDefault();
    setMismatch(next !== again);
    if (next !== again) return;
    change.mutate({ current, next });
  }

  return (
    <form onSubmit={submit} className="space-y-3" aria-label="Change password">
      <Field label="Current password" htmlFor="current" error={fields.current}>
        <TextInput
          id="current"
          type="password"
          autoComplete="current-password"
          value={current}
          onChange={(event) => setCurrent(event.target.value)}
          invalid={Boolean(fields.current)}
          required
        />
      </Field>
      <Field label="New password" htmlFor="next" error={fields.next} hint="At least 12 characters.">
        <TextInput
          id="next"
          type="password"
          autoComplete="new-password"
          value={next}
          onChange={(event) => setNext(event.target.value)}
          invalid={Boolean(fields.next)}
          required
        />
      </Field>
      <Field label="New password again" htmlFor="again" error={mismatch ? 'The two new passwords differ.' : null}>
        <TextInput
          id="again"
          type="password"
          autoComplete="new-password"
          value={again}
          onChange={(event) => setAgain(event.target.value)}
          invalid={mismatch}
          required
        />
      </Field>
      {form ? <ErrorBox title={form} /> : null}
      <Button type="submit" variant="primary" disabled={change.isPending}>
        Change password
      </Button>
    </form>
  );
}

function Sessions() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const sessions = useQuery(trpc.account.sessions.queryOptions());
  const refresh = () => refreshAfterChange(queryClient, [trpc.account.sessions.queryKey()]);
  const revoke = useMutation(trpc.account.revokeSession.mutationOptions({ onSuccess: refresh }));
  const everywhere = useMutation(
    trpc.account.signOutEverywhere.mutationOptions({
      onSuccess: () => window.location.assign('/sign-in'),
    }),
  );
  return (
    <div className="space-y-3">
      {sessions.isError ? <ErrorBox title="Could not load sessions">{sessions.error.message}</ErrorBox> : null}
      <table className="w-full text-sm" aria-label="Active sessions">
        <thead>
          <tr className="border-b border-slate-200 text-left text-slate-500">
            <th className="px-2 py-1 font-medium">Signed in</th>
            <th className="px-2 py-1 font-medium">Last seen</th>
            <th className="px-2 py-1 font-medium">Address</th>
            <th className="px-2 py-1 font-medium">Browser</th>
            <th className="px-2 py-1" />
          </tr>
        </thead>
        <tbody>
          {sessions.data?.map((session) => (
            <tr key={session.id} className="border-b border-slate-100" data-session-current={session.isCurrent}>
              <td className="px-2 py-1">{formatTime(session.createdAt)}</td>
              <td className="px-2 py-1">{formatTime(session.lastSeenAt)}</td>
              <td className="px-2 py-1 font-mono text-xs">{session.clientAddress ?? '—'}</td>
              <td className="max-w-xs truncate px-2 py-1 text-xs" title={session.userAgent ?? ''}>
                {session.userAgent ?? '—'}
              </td>
              <td className="px-2 py-1 text-right">
                {session.isCurrent ? (
                  <span className="text-xs text-slate-500">this browser</span>
                ) : (
                  <Button variant="ghost" onClick={() => revoke.mutate({ id: session.id })}>
                    Sign out
                  </Button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Button variant="danger" onClick={() => everywhere.mutate()} disabled={everywhere.isPending}>
        Sign out everywhere
      </Button>
    </div>
  );
}

export default function AccountPage() {
  const trpc = useTRPC();
  const status = useQuery(trpc.account.status.queryOptions());
  const user = status.data?.signedIn;
  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-semibold tracking-tight">My account</h1>
      {user ? (
        <p className="text-sm text-slate-600">
          Signed in as <span className="font-medium text-slate-900">{user.name}</span>, role {user.role}.
        </p>
      ) : null}
      <div className="grid gap-6 lg:grid-cols-5">
        <section className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm lg:col-span-2">
          <h2 className="mb-3 text-lg font-semibold">Change password</h2>
          <ChangePassword />
        </section>
        <section className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm lg:col-span-3">
          <h2 className="mb-3 text-lg font-semibold">Active sessions</h2>
          <Sessions />
        </section>
      </div>
      <section className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm" aria-labelledby="api-keys-heading">
        <h2 id="api-keys-heading" className="mb-1 text-lg font-semibold">
          API keys
        </h2>
        <p className="mb-3 text-sm text-slate-600">
          SSH keys that sign requests of the <code className="font-mono">ferry</code> command-line client for you, with
          your role. Only the public key is stored.
        </p>
        <MyApiKeys />
      </section>
    </div>
  );
}
