'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { toast } from 'sonner';
import { useTRPC } from '@/trpc/client';
import { formatTime } from '../_lib/format';
import { toFieldErrors } from '../_lib/trpc-errors';
import { Button, ErrorBox, Field, TextInput } from './ui';
import { refreshAfterChange } from '@/trpc/query-client';

/**
 * SSH keys that sign API requests (the `ferry` CLI), shown by fingerprint and comment. The same table and form
 * serve "My account" (one's own keys) and the Users page (an admin managing someone's); only the procedures
 * differ. The server never sends the key material back.
 */
type KeyRow = {
  id: string;
  fingerprint: string;
  type: string;
  comment: string;
  expiresAt: Date | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  isExpired: boolean;
};

type AddInput = { publicKey: string; comment: string | null; expiresAt: Date | null };

function KeyTable(props: { keys: KeyRow[] | undefined; onRemove: (id: string) => void; isRemoving: boolean }) {
  if (props.keys && props.keys.length === 0) {
    return <p className="text-sm text-slate-500">No keys yet.</p>;
  }
  return (
    <table className="w-full text-sm" aria-label="API keys">
      <thead>
        <tr className="border-b border-slate-200 text-left text-slate-500">
          <th className="px-2 py-1 font-medium">Key</th>
          <th className="px-2 py-1 font-medium">Expires</th>
          <th className="px-2 py-1 font-medium">Last used</th>
          <th className="px-2 py-1" />
        </tr>
      </thead>
      <tbody>
        {props.keys?.map((key) => {
          const hasExpired = key.isExpired;
          return (
            <tr key={key.id} className="border-b border-slate-100" data-api-key={key.fingerprint}>
              <td className="px-2 py-1">
                <div className="font-medium">{key.comment || '(no comment)'}</div>
                <div className="font-mono text-xs break-all text-slate-600">{key.fingerprint}</div>
                <div className="text-xs text-slate-500">{key.type}</div>
              </td>
              <td className={`px-2 py-1 ${hasExpired ? 'text-rose-700' : ''}`}>
                {key.expiresAt ? `${formatTime(key.expiresAt)}${hasExpired ? ' (expired)' : ''}` : 'never'}
              </td>
              <td className="px-2 py-1">{key.lastUsedAt ? formatTime(key.lastUsedAt) : 'never'}</td>
              <td className="px-2 py-1 text-right">
                <Button
                  variant="ghost"
                  onClick={() => props.onRemove(key.id)}
                  disabled={props.isRemoving}
                  aria-label={`Remove key ${key.comment || key.fingerprint}`}
                >
                  Remove
                </Button>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function AddKeyForm(props: {
  idPrefix: string;
  onAdd: (input: AddInput, done: () => void) => void;
  isPending: boolean;
  error: Parameters<typeof toFieldErrors>[0];
}) {
  const [publicKey, setPublicKey] = useState('');
  const [comment, setComment] = useState('');
  const [expires, setExpires] = useState('');
  const { fields, form } = toFieldErrors(props.error);
  const id = (name: string) => `${props.idPrefix}-${name}`;
  return (
    <form
      aria-label="Add an API key"
      className="space-y-3"
      onSubmit={(event) => {
        event.preventDefault();
        props.onAdd(
          {
            publicKey,
            comment: comment.trim() === '' ? null : comment,
            // The end of the chosen day, in the browser's time zone.
            expiresAt: expires === '' ? null : new Date(`${expires}T23:59:59`),
          },
          () => {
            setPublicKey('');
            setComment('');
            setExpires('');
          },
        );
      }}
    >
      <Field
        label="Public key"
        htmlFor={id('public-key')}
        error={fields.publicKey}
        hint="The line of your .pub file, e.g. ssh-ed25519 AAAA… you@laptop (ed25519, ECDSA or RSA ≥ 2048 bits)."
      >
        <textarea
          id={id('public-key')}
          rows={3}
          spellCheck={false}
          aria-invalid={Boolean(fields.publicKey) || undefined}
          className={`block w-full rounded-md border px-3 py-1.5 font-mono text-xs shadow-sm focus:ring-2 focus:ring-indigo-500 focus:outline-none ${
            fields.publicKey ? 'border-rose-400 bg-rose-50' : 'border-slate-300 bg-white'
          }`}
          value={publicKey}
          onChange={(event) => setPublicKey(event.target.value)}
          required
        />
      </Field>
      <Field label="Comment" htmlFor={id('comment')} error={fields.comment} hint="Optional; the key's own by default.">
        <TextInput
          id={id('comment')}
          value={comment}
          onChange={(event) => setComment(event.target.value)}
          invalid={Boolean(fields.comment)}
        />
      </Field>
      <Field
        label="Expires"
        htmlFor={id('expires')}
        error={fields.expiresAt}
        hint="Optional: the key stops working after this day."
      >
        <TextInput
          id={id('expires')}
          type="date"
          value={expires}
          onChange={(event) => setExpires(event.target.value)}
          invalid={Boolean(fields.expiresAt)}
        />
      </Field>
      {form ? <ErrorBox title={form} /> : null}
      <Button type="submit" variant="primary" disabled={props.isPending}>
        Add key
      </Button>
    </form>
  );
}

/** My account: this user's own keys. */
export function MyApiKeys() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const keys = useQuery(trpc.apiKeys.mine.queryOptions());
  const refresh = () => refreshAfterChange(queryClient, [trpc.apiKeys.mine.queryKey()]);
  const add = useMutation(trpc.apiKeys.addMine.mutationOptions({ onSuccess: refresh }));
  const remove = useMutation(
    trpc.apiKeys.removeMine.mutationOptions({ onSuccess: refresh, onError: (error) => toast.error(error.message) }),
  );
  return (
    <div className="space-y-4">
      {keys.isError ? <ErrorBox title="Could not load keys">{keys.error.message}</ErrorBox> : null}
      <KeyTable keys={keys.data} onRemove={(id) => remove.mutate({ id })} isRemoving={remove.isPending} />
      <AddKeyForm
        idPrefix="my-key"
        isPending={add.isPending}
        error={add.error}
        onAdd={(input, done) =>
          add.mutate(input, {
            onSuccess: (key) => {
              toast.success(`Key ${key.fingerprint} added`);
              done();
            },
          })
        }
      />
    </div>
  );
}

/** Users page: an admin manages one user's keys. */
export function UserApiKeys({ userId, userName }: { userId: string; userName: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const keys = useQuery(trpc.apiKeys.list.queryOptions({ userId }));
  const refresh = () => refreshAfterChange(queryClient, [trpc.apiKeys.list.queryKey({ userId })]);
  const add = useMutation(trpc.apiKeys.add.mutationOptions({ onSuccess: refresh }));
  const remove = useMutation(
    trpc.apiKeys.remove.mutationOptions({ onSuccess: refresh, onError: (error) => toast.error(error.message) }),
  );
  return (
    <div className="space-y-4" data-api-keys-of={userName}>
      {keys.isError ? <ErrorBox title="Could not load keys">{keys.error.message}</ErrorBox> : null}
      <KeyTable keys={keys.data} onRemove={(id) => remove.mutate({ id })} isRemoving={remove.isPending} />
      <AddKeyForm
        idPrefix={`user-key-${userId}`}
        isPending={add.isPending}
        error={add.error}
        onAdd={(input, done) =>
          add.mutate(
            { ...input, userId },
            {
              onSuccess: (key) => {
                toast.success(`Key ${key.fingerprint} added for ${userName}`);
                done();
              },
            },
          )
        }
      />
    </div>
  );
}
