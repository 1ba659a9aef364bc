'use client';

import { useMutation } from '@tanstack/react-query';
import { ShieldAlert, ShieldCheck } from 'lucide-react';
import { plural } from '@/server/plural';
import { useTRPC } from '@/trpc/client';
import { Button } from '../../_components/ui';

/** Admins recompute the whole hash chain on demand; the answer names the first row that does not check out. */
export function VerifyChain({ onShowRow }: { onShowRow: (id: number) => void }) {
  const trpc = useTRPC();
  const verify = useMutation(trpc.audit.verify.mutationOptions());
  const report = verify.data;

  // `contents`: the button and its answer are items of the page's action row, so a long answer wraps to a line
  // of its own and the button stays where it was clicked.
  return (
    <div className="contents">
      <Button onClick={() => verify.mutate()} disabled={verify.isPending}>
        {verify.isPending ? 'Verifying…' : 'Verify chain'}
      </Button>
      <div role="status" aria-live="polite" className="text-sm">
        {verify.isError ? <span className="text-rose-700">Could not verify: {verify.error.message}</span> : null}
        {report?.ok ? (
          <span className="inline-flex items-center gap-1 text-emerald-700">
            <ShieldCheck className="h-4 w-4" aria-hidden />
            Chain intact: {plural(report.checked, 'row')} checked in {(report.durationMs / 1000).toFixed(1)} s.
          </span>
        ) : null}
        {report && !report.ok && report.firstBreak ? (
          <span className="inline-flex items-center gap-1 text-rose-700">
            <ShieldAlert className="h-4 w-4" aria-hidden />
            Chain broken: {report.firstBreak.message}{' '}
            <button
              type="button"
              className="font-medium underline"
              onClick={() => onShowRow(report.firstBreak?.id ?? 0)}
            >
              Show row {report.firstBreak.id}
            </button>
          </span>
        ) : null}
      </div>
    </div>
  );
}
