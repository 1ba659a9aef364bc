'use client';

import { useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useTRPC } from '@/trpc/client';
import { Button, ErrorBox, Field, TextInput } from '../_components/ui';
import { postAuth, safeNextPath } from '../_lib/auth-requests';

function nextPath(): string {
  return safeNextPath(new URLSearchParams(window.location.search).get('next'));
}

export default function SignInPage() {
  const trpc = useTRPC();
  const status = useQuery(trpc.account.status.queryOptions());
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [isBusy, setIsBusy] = useState(false);

  // A link from another site arrives without the Strict cookie; this same-site call has it, so go on.
  useEffect(() => {
    if (status.data?.signedIn) window.location.replace(nextPath());
  }, [status.data?.signedIn]);

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    setIsBusy(true);
    setError(null);
    const message = await postAuth('/api/auth/sign-in', { name, password }).catch(() => 'Ferry did not answer.');
    if (message) {
      setError(message);
      setIsBusy(false);
      return;
    }
    window.location.assign(nextPath());
  }

  return (
    <div className="mx-auto mt-10 max-w-sm space-y-4">
      <h1 className="text-2xl font-semibold tracking-tight">Sign in</h1>
      {status.data && !status.data.hasUsers ? (
        <div role="status" className="rounded-md border border-amber-200 bg-amber-50 p-3 text-sm text-amber-900">
          <p className="font-medium">No user exists yet.</p>
          <p className="mt-1">
            Create the first admin on the Ferry machine, in its directory:{' '}
            <code className="rounded bg-white px-1 font-mono text-xs">
              npm run user -- add &lt;name&gt; --role admin
            </code>{' '}
            (it asks for the password), then sign in here.
          </p>
        </div>
      ) : null}
      <form onSubmit={submit} className="space-y-3 rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
        <Field label="Name" htmlFor="sign-in-name">
          <TextInput
            id="sign-in-name"
            name="username"
            autoComplete="username"
            value={name}
            onChange={(event) => setName(event.target.value)}
            required
          />
        </Field>
        <Field label="Password" htmlFor="sign-in-password">
          <TextInput
            id="sign-in-password"
            type="password"
            name="password"
            autoComplete="current-password"
            value={password}
            onChange={(event) => setPassword(event.target.value)}
            required
          />
        </Field>
        {error ? <ErrorBox title={error} /> : null}
        <Button type="submit" variant="primary" disabled={isBusy}>
          {isBusy ? 'Signing in…' : 'Sign in'}
        </Button>
      </form>
    </div>
  );
}
