import { Suspense } from 'react';
import { HistoryView } from './_components/history-view';

export const metadata = { title: 'Migrations · Ferry' };

/** The filter lives in the URL (useSearchParams), which needs a Suspense boundary to prerender the shell. */
export default function MigrationsPage() {
  return (
    <Suspense fallback={<p className="text-sm text-slate-500">Loading migrations…</p>}>
      <HistoryView />
    </Suspense>
  );
}
