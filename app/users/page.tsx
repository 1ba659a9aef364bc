'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { toast } from 'sonner';
import { useTRPC } from '@/trpc/client';
import { ROLES, type Role } from '@/server/auth/roles';
import { toFieldErrors } from '../_lib/trpc-errors';
import { UserApiKeys } from '../_components/api-keys';
import { Button, ErrorBox, Field, TextInput } from '../_components/ui';
import { refreshAfterChange } from '@/trpc/query-client';

const SELECT_CLASSES = 'rounded-md border border-slate-300 bg-white px-2 py-1 text-sm shadow-sm';

function AddUser() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [password, setPassword] = useState('');
  const add = useMutation(
    trpc.users.add.mutationOptions({
      onSuccess: async (user) => {
        toast.success(`User ${user.name} added`);
        setName('');
        setPassword('');
        await refreshAfterChange(queryClient, [trpc.users.list.queryKey()]);
      },
    }),
  );
  const { fields, form } = toFieldErrors(add.error);
  return (
    <form
      aria-label="Add a user"
      className="space-y-3"
      onSubmit={(event) => {
        event.preventDefault();
        add.mutate({ name, role, password });
      }}
    >
      <Field label="User name" htmlFor="new-user-name" error={fields.name}>
        <TextInput id="new-user-name" value={name} onChange={(event) => setName(event.target.value)} required />
      </Field>
      <Field label="Role" htmlFor="new-user-role">
        <select
          id="new-user-role"
          className={SELECT_CLASSES}
          value={role}
          onChange={(event) => setRole(event.target.value as Role)}
        >
          {ROLES.map((value) => (
            <option key={value}>{value}</option>
          ))}
        </select>
      </Field>
      <Field
        label="Initial password"
        htmlFor="new-user-password"
        error={fields.password}
        hint="At least 12 characters; hand it over in person. They can change it under My account."
      >
        <TextInput
          id="new-user-password"
          type="password"
          autoComplete="new-password"
          value={password}
          onChange={(event) => setPassword(event.target.value)}
          required
        />
      </Field>
      {form ? <ErrorBox title={form} /> : null}
      <Button type="submit" variant="primary" disabled={add.isPending}>
        Add user
      </Button>
    </form>
  );
}

export default function UsersPage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const users = useQuery(trpc.users.list.queryOptions());
  const [issued, setIssued] = useState<{ name: string; password: string } | null>(null);
  const [keysOf, setKeysOf] = useState<{ id: string; name: string } | null>(null);
  const refresh = () => refreshAfterChange(queryClient, [trpc.users.list.queryKey()]);
  const onError = (error: { message: string }) => toast.error(error.message);
  const setRole = useMutation(trpc.users.setRole.mutationOptions({ onSuccess: refresh, onError }));
  const setDisabled = useMutation(trpc.users.setDisabled.mutationOptions({ onSuccess: refresh, onError }));
  const reset = useMutation(
    trpc.users.resetPassword.mutationOptions({
      onSuccess: async (result) => {
        setIssued(result);
        await refresh();
      },
      onError,
    }),
  );

  return (
    <div className="grid gap-6 lg:grid-cols-5">
      <section className="space-y-3 lg:col-span-3">
        <h1 className="text-2xl font-semibold tracking-tight">Users</h1>
        {users.isError ? <ErrorBox title="Could not load users">{users.error.message}</ErrorBox> : null}
        {issued ? (
          <div role="status" className="rounded-md border border-amber-200 bg-amber-50 p-3 text-sm text-amber-900">
            New password for <span className="font-medium">{issued.name}</span>, shown once:{' '}
            <code className="rounded bg-white px-1 font-mono" data-testid="issued-password">
              {issued.password}
            </code>
            . Their sessions have ended.
          </div>
        ) : null}
        {users.data ? (
          <table className="w-full rounded-lg bg-white text-sm shadow-sm" aria-label="Users">
            <thead>
              <tr className="border-b border-slate-200 text-left text-slate-500">
                <th className="px-3 py-2 font-medium">Name</th>
                <th className="px-3 py-2 font-medium">Role</th>
                <th className="px-3 py-2 font-medium">Status</th>
                <th className="px-3 py-2 font-medium">Sessions</th>
                <th className="px-3 py-2 font-medium">API keys</th>
                <th className="px-3 py-2" />
              </tr>
            </thead>
            <tbody>
              {users.data.map((user) => (
                <tr key={user.id} className="border-b border-slate-100" data-user-row={user.name}>
                  <td className="px-3 py-2 font-medium">
                    {user.name}
                    {user.isYou ? <span className="ml-1 text-xs text-slate-500">(you)</span> : null}
                  </td>
                  <td className="px-3 py-2">
                    <select
                      aria-label={`Role of ${user.name}`}
                      className={SELECT_CLASSES}
                      value={user.role}
                      onChange={(event) => setRole.mutate({ id: user.id, role: event.target.value as Role })}
                    >
                      {ROLES.map((value) => (
                        <option key={value}>{value}</option>
                      ))}
                    </select>
                  </td>
                  <td className="px-3 py-2" data-testid="user-status">
                    {user.disabled ? 'disabled' : 'enabled'}
                  </td>
                  <td className="px-3 py-2">{user.sessions}</td>
                  <td className="px-3 py-2">
                    <Button
                      variant="ghost"
                      aria-label={`API keys of ${user.name}`}
                      aria-pressed={keysOf?.id === user.id}
                      onClick={() => setKeysOf(keysOf?.id === user.id ? null : { id: user.id, name: user.name })}
                    >
                      {user.apiKeys}
                    </Button>
                  </td>
                  <td className="space-x-1 px-3 py-2 text-right whitespace-nowrap">
                    <Button onClick={() => setDisabled.mutate({ id: user.id, disabled: !user.disabled })}>
                      {user.disabled ? 'Enable' : 'Disable'}
                    </Button>
                    <Button onClick={() => reset.mutate({ id: user.id })}>Reset password</Button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        {keysOf ? (
          <section
            className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm"
            aria-labelledby="user-keys-heading"
          >
            <h2 id="user-keys-heading" className="mb-3 text-lg font-semibold">
              API keys of {keysOf.name}
            </h2>
            <UserApiKeys key={keysOf.id} userId={keysOf.id} userName={keysOf.name} />
          </section>
        ) : null}
      </section>
      <section className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm lg:col-span-2">
        <h2 className="mb-3 text-lg font-semibold">Add a user</h2>
        <AddUser />
      </section>
    </div>
  );
}
