'use client';

import { useQuery } from '@tanstack/react-query';
import { LogOut, UserRound } from 'lucide-react';
import Link from 'next/link';
import { useTRPC } from '@/trpc/client';
import { postAuth } from '../_lib/auth-requests';

/** Who is signed in, a link to their account, the users page for admins, and sign-out. */
export function UserMenu() {
  const trpc = useTRPC();
  const status = useQuery(trpc.account.status.queryOptions());
  const user = status.data?.signedIn;
  if (!user) return null;

  async function signOut() {
    await postAuth('/api/auth/sign-out');
    window.location.assign('/sign-in');
  }

  return (
    <div className="ml-auto flex items-center gap-3 text-sm" data-testid="user-menu">
      {user.role === 'admin' ? (
        <Link href="/users" className="font-medium text-slate-600 hover:text-slate-900">
          Users
        </Link>
      ) : null}
      <Link href="/account" className="flex items-center gap-1 font-medium text-slate-700 hover:text-slate-900">
        <UserRound aria-hidden className="h-4 w-4" />
        <span data-testid="signed-in-as">{user.name}</span>
        <span className="rounded-full bg-slate-100 px-2 py-0.5 text-xs text-slate-600">{user.role}</span>
      </Link>
      <button
        type="button"
        onClick={signOut}
        className="flex items-center gap-1 rounded-md px-2 py-1 text-slate-600 hover:bg-slate-100"
      >
        <LogOut aria-hidden className="h-4 w-4" /> Sign out
      </button>
    </div>
  );
}
