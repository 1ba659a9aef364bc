/** One bar for a VM's job or for the whole evacuation. */
export function ProgressBar({ percent, label, tone }: { percent: number; label: string; tone?: 'failed' | 'muted' }) {
  const colour = tone === 'failed' ? 'bg-rose-500' : tone === 'muted' ? 'bg-slate-400' : 'bg-indigo-600';
  return (
    <div
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={percent}
      aria-label={label}
      className="h-3 w-full overflow-hidden rounded-full bg-slate-100"
    >
      <div className={`h-full transition-[width] duration-300 ${colour}`} style={{ width: `${percent}%` }} />
    </div>
  );
}
