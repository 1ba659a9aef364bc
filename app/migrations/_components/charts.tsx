import type { DayOutcomes } from '@/server/history/stats';

/** Small hand-made SVG charts: a few hundred rectangles at most, no chart library (none is installed). */

const OUTCOMES = [
  { key: 'succeeded', label: 'succeeded', color: '#10b981' },
  { key: 'failed', label: 'failed', color: '#f43f5e' },
  { key: 'cancelled', label: 'cancelled', color: '#94a3b8' },
  { key: 'other', label: 'in progress', color: '#38bdf8' },
] as const;

const WIDTH = 720;
const HEIGHT = 170;
const AXIS = 28;

function niceMax(value: number): number {
  if (value <= 5) return 5;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const steps = [1, 2, 2.5, 5, 10];
  for (const step of steps) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

function ChartFrame({ title, subtitle, children }: { title: string; subtitle?: string; children: React.ReactNode }) {
  return (
    <figure className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
      <figcaption className="mb-2">
        <span className="text-sm font-semibold text-slate-700">{title}</span>
        {subtitle ? <span className="ml-2 text-xs text-slate-500">{subtitle}</span> : null}
      </figcaption>
      {children}
    </figure>
  );
}

export function PerDayChart({ days, subtitle }: { days: DayOutcomes[]; subtitle: string }) {
  const totals = days.map((day) => day.succeeded + day.failed + day.cancelled + day.other);
  const max = niceMax(Math.max(0, ...totals));
  const plotWidth = WIDTH - AXIS;
  const plotHeight = HEIGHT - 20;
  const barWidth = plotWidth / Math.max(days.length, 1);
  const sum = totals.reduce((a, b) => a + b, 0);
  const labelEvery = Math.max(1, Math.ceil(days.length / 6));

  return (
    <ChartFrame title="Migrations per day by outcome" subtitle={subtitle}>
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT + 16}`}
        className="h-auto w-full"
        role="img"
        aria-label={`${sum} migrations over ${days.length} days`}
      >
        <text x={AXIS - 4} y={8} textAnchor="end" className="fill-slate-400 text-[10px]">
          {max}
        </text>
        <text x={AXIS - 4} y={plotHeight} textAnchor="end" className="fill-slate-400 text-[10px]">
          0
        </text>
        <line x1={AXIS} x2={WIDTH} y1={plotHeight} y2={plotHeight} stroke="#e2e8f0" />
        {days.map((day, index) => {
          let y = plotHeight;
          const x = AXIS + index * barWidth;
          return (
            <g key={day.day}>
              <title>{`${day.day}: ${OUTCOMES.map((outcome) => `${day[outcome.key]} ${outcome.label}`).join(', ')}`}</title>
              {/* An invisible full-height target so thin bars still show their tooltip. */}
              <rect x={x} y={0} width={barWidth} height={plotHeight} fill="transparent" />
              {OUTCOMES.map((outcome) => {
                const height = (day[outcome.key] / max) * (plotHeight - 4);
                y -= height;
                return height > 0 ? (
                  <rect
                    key={outcome.key}
                    x={x + barWidth * 0.1}
                    y={y}
                    width={Math.max(barWidth * 0.8, 0.5)}
                    height={height}
                    fill={outcome.color}
                  />
                ) : null;
              })}
              {index % labelEvery === 0 ? (
                <text x={x} y={HEIGHT + 12} className="fill-slate-500 text-[10px]">
                  {day.day.slice(5)}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
      <div className="mt-1 flex flex-wrap gap-3 text-xs text-slate-600">
        {OUTCOMES.map((outcome) => (
          <span key={outcome.key} className="inline-flex items-center gap-1">
            <span className="inline-block h-2.5 w-2.5 rounded-sm" style={{ backgroundColor: outcome.color }} />
            {outcome.label}
          </span>
        ))}
      </div>
    </ChartFrame>
  );
}

export function DurationChart({ buckets }: { buckets: { label: string; count: number }[] }) {
  const max = niceMax(Math.max(0, ...buckets.map((bucket) => bucket.count)));
  // Wide enough that the SVG is drawn near 1:1 in its two-thirds column, so labels keep a readable size.
  const width = 720;
  const height = 150;
  const barWidth = width / Math.max(buckets.length, 1);
  const total = buckets.reduce((a, b) => a + b.count, 0);
  return (
    <ChartFrame title="Duration of successful migrations" subtitle={`${total.toLocaleString()} migrations`}>
      <svg
        viewBox={`0 0 ${width} ${height + 30}`}
        className="h-auto w-full"
        role="img"
        aria-label={buckets.map((b) => `${b.label}: ${b.count}`).join(', ')}
      >
        {buckets.map((bucket, index) => {
          const barHeight = (bucket.count / max) * (height - 14);
          const x = index * barWidth;
          return (
            <g key={bucket.label}>
              <title>{`${bucket.label}: ${bucket.count}`}</title>
              <rect x={x + 8} y={height - barHeight} width={barWidth - 16} height={barHeight} fill="#6366f1" rx={2} />
              <text
                x={x + barWidth / 2}
                y={height - barHeight - 3}
                textAnchor="middle"
                className="fill-slate-600 text-[10px]"
              >
                {bucket.count > 0 ? bucket.count.toLocaleString() : ''}
              </text>
              <text x={x + barWidth / 2} y={height + 14} textAnchor="middle" className="fill-slate-500 text-[10px]">
                {bucket.label}
              </text>
            </g>
          );
        })}
      </svg>
    </ChartFrame>
  );
}

export function FailureCausesChart({
  causes,
}: {
  causes: { errorCode: string; count: number; example: string | null }[];
}) {
  const max = Math.max(1, ...causes.map((cause) => cause.count));
  const rowHeight = 22;
  const width = 360;
  const labelWidth = 150;
  return (
    <ChartFrame title="Most frequent failure causes" subtitle="by error code">
      {causes.length === 0 ? (
        <p className="py-6 text-center text-sm text-slate-500">No failed migrations in this range.</p>
      ) : (
        <svg
          viewBox={`0 0 ${width} ${causes.length * rowHeight}`}
          className="h-auto w-full"
          role="img"
          aria-label={causes.map((c) => `${c.errorCode}: ${c.count}`).join(', ')}
        >
          {causes.map((cause, index) => {
            const y = index * rowHeight;
            const barWidth = ((width - labelWidth - 40) * cause.count) / max;
            return (
              <g key={cause.errorCode}>
                <title>
                  {cause.example
                    ? `${cause.errorCode}: ${cause.count} — e.g. “${cause.example}”`
                    : `${cause.errorCode}: ${cause.count}`}
                </title>
                <text x={labelWidth - 6} y={y + 15} textAnchor="end" className="fill-slate-700 font-mono text-[10px]">
                  {cause.errorCode.length > 24 ? `${cause.errorCode.slice(0, 23)}…` : cause.errorCode}
                </text>
                <rect
                  x={labelWidth}
                  y={y + 4}
                  width={Math.max(barWidth, 1)}
                  height={rowHeight - 8}
                  fill="#f43f5e"
                  rx={2}
                />
                <text x={labelWidth + barWidth + 4} y={y + 15} className="fill-slate-600 text-[10px]">
                  {cause.count.toLocaleString()}
                </text>
              </g>
            );
          })}
        </svg>
      )}
    </ChartFrame>
  );
}
