import Link from 'next/link';

export const metadata = { title: 'Not found · Ferry' };

export default function NotFound() {
  return (
    <div className="mx-auto max-w-lg rounded-lg border border-slate-200 bg-white p-6 text-center shadow-sm">
      <h1 className="text-xl font-semibold tracking-tight">Nothing here</h1>
      <p className="mt-2 text-sm text-slate-600">
        No host, migration or page has this address. It may have been removed, or the link is mistyped.
      </p>
      <p className="mt-4 flex justify-center gap-4 text-sm">
        <Link href="/" className="font-medium text-indigo-700 hover:underline">
          Fleet
        </Link>
        <Link href="/hosts" className="font-medium text-indigo-700 hover:underline">
          Hosts
        </Link>
        <Link href="/migrations" className="font-medium text-indigo-700 hover:underline">
          Migrations
        </Link>
      </p>
    </div>
  );
}
