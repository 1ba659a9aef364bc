import { plural } from '@/server/plural';
import type { DayOutcomes } from '@/server/history/stats';

/**
 * Small hand-made charts: bars are boxes sized in percent and every label is HTML text. An SVG viewBox would
 * scale its text with the column (17 px labels at 1280 px, 5 px on a phone); here labels stay at text-xs, below
 * the page's own text, at every width. No chart library: a few hundred boxes at most.
 */

const OUTCOMES = [
  { key: 'succeeded', label: 'succeeded', color: '#10b981' },
  { key: 'failed', label: 'failed', color: '#f43f5e' },
  { key: 'cancelled', label: 'cancelled', color: '#94a3b8' },
  { key: 'unknown', label: 'unknown', color: '#f59e0b' },
  { key: 'other', label: 'in progress', color: '#38bdf8' },
] as const;

const TICK = 'text-xs leading-4 text-slate-500';

function niceMax(value: number): number {
  if (value <= 5) return 5;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const steps = [1, 2, 2.5, 5, 10];
  for (const step of steps) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

function percent(value: number, max: number): string {
  return `${Math.min(100, (value / max) * 100)}%`;
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

/** Said over the empty plot, which keeps its axes so the range it covers stays visible. */
function NoData({ children }: { children: React.ReactNode }) {
  return (
    <div className="absolute inset-0 flex items-center justify-center" data-chart-empty>
      <p className="rounded-md bg-white/90 px-3 py-1 text-sm text-slate-500">{children}</p>
    </div>
  );
}

export function PerDayChart({ days, subtitle }: { days: DayOutcomes[]; subtitle: string }) {
  const totals = days.map((day) => day.succeeded + day.failed + day.cancelled + day.unknown + day.other);
  const max = niceMax(Math.max(0, ...totals));
  const sum = totals.reduce((a, b) => a + b, 0);
  const labelEvery = Math.max(1, Math.ceil(days.length / 6));

  return (
    <ChartFrame title="Migrations per day by outcome" subtitle={subtitle}>
      <div role="img" aria-label={`${plural(sum, 'migration')} over ${plural(days.length, 'day')}`}>
        <div className="flex h-40 gap-2">
          <div className={`flex w-8 shrink-0 flex-col justify-between text-right ${TICK}`} data-chart-tick>
            <span className="-mt-2">{max}</span>
            <span className="-mb-2">0</span>
          </div>
          <div className="relative flex min-w-0 flex-1 items-end border-b border-slate-200">
            {days.map((day) => (
              <div
                key={day.day}
                className="flex h-full min-w-0 flex-1 flex-col-reverse items-center"
                title={`${day.day}: ${OUTCOMES.map((outcome) => `${day[outcome.key]} ${outcome.label}`).join(', ')}`}
              >
                {OUTCOMES.map((outcome) =>
                  day[outcome.key] > 0 ? (
                    <div
                      key={outcome.key}
                      className="w-4/5"
                      style={{ height: percent(day[outcome.key], max), backgroundColor: outcome.color }}
                    />
                  ) : null,
                )}
              </div>
            ))}
            {sum === 0 ? <NoData>No migrations in this range yet.</NoData> : null}
          </div>
        </div>
        <div className="ml-10 flex" aria-hidden>
          {days.map((day, index) => (
            <div key={day.day} className="min-w-0 flex-1 overflow-visible">
              {index % labelEvery === 0 ? (
                <span className={`block whitespace-nowrap ${TICK}`} data-chart-tick>
                  {day.day.slice(5)}
                </span>
              ) : null}
            </div>
          ))}
        </div>
      </div>
      <div className="mt-2 flex flex-wrap gap-3 text-xs text-slate-600">
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
  const total = buckets.reduce((a, b) => a + b.count, 0);
  return (
    <ChartFrame title="Duration of successful migrations" subtitle={plural(total, 'migration')}>
      <div role="img" aria-label={buckets.map((b) => `${b.label}: ${b.count}`).join(', ')}>
        <div className="relative flex h-36 items-end gap-2 border-b border-slate-200 pt-5">
          {buckets.map((bucket) => (
            <div
              key={bucket.label}
              className="flex h-full min-w-0 flex-1 flex-col justify-end"
              title={`${bucket.label}: ${bucket.count}`}
            >
              {bucket.count > 0 ? (
                <span className={`text-center ${TICK} text-slate-600`}>{bucket.count.toLocaleString('en-US')}</span>
              ) : null}
              <div className="rounded-t-sm bg-indigo-500" style={{ height: percent(bucket.count, max) }} />
            </div>
          ))}
          {total === 0 ? <NoData>No successful migrations in this range yet.</NoData> : null}
        </div>
        <div className="flex gap-2" aria-hidden>
          {buckets.map((bucket) => (
            <span key={bucket.label} className={`min-w-0 flex-1 text-center ${TICK}`} data-chart-tick>
              {bucket.label}
            </span>
          ))}
        </div>
      </div>
    </ChartFrame>
  );
}

export function FailureCausesChart({
  causes,
}: {
  causes: { errorCode: string; count: number; example: string | null }[];
}) {
  const max = Math.max(1, ...causes.map((cause) => cause.count));
  return (
    <ChartFrame title="Most frequent failure causes" subtitle="by error code">
      {causes.length === 0 ? (
        <p className="py-6 text-center text-sm text-slate-500" data-chart-empty>
          No failed migrations in this range.
        </p>
      ) : (
        <ul className="space-y-1.5" aria-label={causes.map((c) => `${c.errorCode}: ${c.count}`).join(', ')}>
          {causes.map((cause) => (
            <li
              key={cause.errorCode}
              className="flex items-center gap-2"
              title={
                cause.example
                  ? `${cause.errorCode}: ${cause.count} — e.g. “${cause.example}”`
                  : `${cause.errorCode}: ${cause.count}`
              }
            >
              <span className={`w-2/5 shrink-0 truncate text-right font-mono ${TICK} text-slate-700`}>
                {cause.errorCode}
              </span>
              <span className="flex min-w-0 flex-1 items-center gap-1">
                <span
                  className="inline-block h-3.5 min-w-px rounded-sm bg-rose-500"
                  // At most 85% of the row, so the count always fits beside the longest bar.
                  style={{ width: `${(cause.count / max) * 85}%` }}
                />
                <span className={`${TICK} text-slate-600`}>{cause.count.toLocaleString('en-US')}</span>
              </span>
            </li>
          ))}
        </ul>
      )}
    </ChartFrame>
  );
}
