const RESULT_CLASSES: Record<string, string> = {
  ok: 'bg-emerald-100 text-emerald-800',
  refused: 'bg-amber-100 text-amber-800',
  failed: 'bg-rose-100 text-rose-800',
};

export function ResultBadge({ result }: { result: string }) {
  return (
    <span
      className={`inline-block rounded-full px-2 py-0.5 text-xs font-medium ${RESULT_CLASSES[result] ?? 'bg-slate-100 text-slate-700'}`}
    >
      {result}
    </span>
  );
}
