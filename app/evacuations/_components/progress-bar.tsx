/**
 * One bar for a VM's job or for the whole evacuation. `readAt`: when the server read the percent shown from virsh
 * (epoch ms), kept on the element for `npm run bench -- evacuation` to time progress → pixel.
 */
export function ProgressBar({
  percent,
  label,
  tone,
  readAt,
}: {
  percent: number;
  label: string;
  tone?: 'failed' | 'muted';
  readAt?: number;
}) {
  const colour = tone === 'failed' ? 'bg-rose-500' : tone === 'muted' ? 'bg-slate-400' : 'bg-indigo-600';
  return (
    <div
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={percent}
      aria-label={label}
      data-read-at={readAt}
      className="h-3 w-full overflow-hidden rounded-full bg-slate-100"
    >
      <div className={`h-full transition-[width] duration-300 ${colour}`} style={{ width: `${percent}%` }} />
    </div>
  );
}
