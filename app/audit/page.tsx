import { Suspense } from 'react';
import { AuditView } from './_components/audit-view';

export const metadata = { title: 'Audit log · Ferry' };

/** The filter lives in the URL (useSearchParams), which needs a Suspense boundary to prerender the shell. */
export default function AuditPage() {
  return (
    <Suspense fallback={<p className="text-sm text-slate-500">Loading the audit log…</p>}>
      <AuditView />
    </Suspense>
  );
}
