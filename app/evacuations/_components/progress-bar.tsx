/**
 * One bar for a VM's job or for the whole evacuation. `readAt`: when the server read the percent shown from virsh
 * (epoch ms), kept on the element for `npm run bench -- evacuation` to time progress → pixel.
 *
 * The fill jumps to each new percent, with no width transition: the bar is a live readout (virsh reports whole
 * percents, so each step is small), and an eased fill shows a value 300 ms late and keeps the page drawing a frame
 * every 16 ms while any bar moves, so a new percent waits for the next of those frames instead of being drawn at
 * once (`npm run bench -- evacuation`'s throttled run, 50 streams: progress → pixel p95 22–26 ms eased, 17–19 without).
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
      <div className={`h-full ${colour}`} style={{ width: `${percent}%` }} />
    </div>
  );
}
