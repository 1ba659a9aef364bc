import { formatBytes, formatDuration, formatRate } from '../app/_lib/format';
import type { MigrationView } from '../app/_lib/migration-view';

/**
 * What the terminal shows of a migration, folded from the same events the browser's migration page folds
 * (app/_lib/migration-view.ts). PURE: strings in, strings out; the watch loop decides where they go.
 *
 * A terminal gets one line redrawn in place:
 *   vm1 hv1→hv2 [##########..........]  50% disk 128 MiB of 256 MiB 42.0 MiB/s ETA 3.0 s
 * Anything else (a pipe, a CI log) gets one line per phase change, so a log reads as a story, not 400 redraws:
 *   12:00:01 running (disk) 0%
 */

/** libvirt's phase words (server/libvirt/migration/jobinfo.ts) while running; the state otherwise. */
export function phaseOf(view: MigrationView): string {
  if (view.state !== 'running') return view.state;
  const phase = view.samples[view.samples.length - 1]?.phase;
  if (!phase || phase === 'none' || phase === 'unknown') return 'running';
  return `running (${phase})`;
}

export type Connection = 'live' | 'reconnecting';

function bytesPart(view: MigrationView): string | null {
  const sample = view.samples[view.samples.length - 1];
  if (!sample) return null;
  const pairs: [number | null, number | null][] = [
    [sample.dataProcessedBytes, sample.dataTotalBytes],
    [sample.diskProcessedBytes, sample.diskTotalBytes],
    [sample.memoryProcessedBytes, sample.memoryTotalBytes],
  ];
  const pair = pairs.find(([processed]) => processed !== null);
  if (!pair) return null;
  const [processed, total] = pair;
  return total === null ? formatBytes(processed) : `${formatBytes(processed)} of ${formatBytes(total)}`;
}

/**
 * The live line for a terminal `width` columns wide: title, bar, percent, phase, bytes, bandwidth, ETA. When it
 * does not fit, the least useful parts go first (ETA, then bandwidth, then bytes); the bar takes what is left.
 */
export function progressLine(options: {
  view: MigrationView;
  title: string;
  width: number;
  connection?: Connection;
}): string {
  const { view } = options;
  const sample = view.samples[view.samples.length - 1];
  const isActive = ['queued', 'preflight', 'running', 'cancelling'].includes(view.state);
  const percent = `${String(Math.round(view.percent)).padStart(3)}%`;
  const optional = [
    bytesPart(view),
    sample?.bandwidthBps ? formatRate(sample.bandwidthBps) : null,
    isActive && sample?.etaSeconds != null ? `ETA ${formatDuration(sample.etaSeconds * 1000)}` : null,
  ].filter((part): part is string => part !== null);
  const fixed = [percent, phaseOf(view), ...(options.connection === 'reconnecting' ? ['reconnecting…'] : [])];
  const MIN_BAR = 10;
  for (let keep = optional.length; keep >= 0; keep--) {
    const tail = [...fixed, ...optional.slice(0, keep)].join(' ');
    const room = options.width - 1 - options.title.length - 1 - tail.length - 1 - 2;
    if (room >= MIN_BAR || keep === 0) {
      const barWidth = Math.max(MIN_BAR, Math.min(room, 40));
      const filled = Math.round((Math.max(0, Math.min(100, view.percent)) / 100) * barWidth);
      const bar = `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]`;
      return `${options.title} ${bar} ${tail}`.slice(0, Math.max(options.width - 1, 0));
    }
  }
  return '';
}

/**
 * For output that is not a terminal: a line when the phase changes (queued → preflight → running (disk) →
 * running (memory) → succeeded), null otherwise. Percent rides along so a log still shows how far it got.
 */
export function createPhaseReporter(): (view: MigrationView, at: Date) => string | null {
  let last: string | null = null;
  return (view, at) => {
    const phase = phaseOf(view);
    if (phase === last) return null;
    last = phase;
    return `${at.toISOString().slice(11, 19)} ${phase} ${Math.round(view.percent)}%`;
  };
}

/** The closing lines once the migration has a result: what happened and, for a failure, what to do next. */
export function resultLines(options: {
  view: MigrationView;
  vmName: string;
  source: string;
  destination: string;
  durationMs?: number | null;
}): string[] {
  const { result } = options.view;
  const route = `${options.source} → ${options.destination}`;
  if (!result) return [`${options.vmName}: ${options.view.state}`];
  switch (result.state) {
    case 'succeeded': {
      const took = options.durationMs != null ? ` in ${formatDuration(options.durationMs)}` : '';
      return [`${options.vmName} migrated ${route}${took}.`, ...result.verification.map((line) => `  ✓ ${line}`)];
    }
    case 'cancelled':
      return [`Migration of ${options.vmName} (${route}) was cancelled.${result.message ? ` ${result.message}` : ''}`];
    case 'failed': {
      const lines = [
        `Migration of ${options.vmName} (${route}) failed: ${result.errorTitle ?? result.errorCode ?? 'error'}.`,
      ];
      if (result.message) lines.push(`  ${result.message}`);
      if (result.nextStep) lines.push(`  Next step: ${result.nextStep}`);
      return lines;
    }
    case 'unknown': {
      // Ferry lost the job and the hosts did not establish how it ended: say so, with what each host said.
      const lines = [`Migration of ${options.vmName} (${route}) ended unknown: the hosts did not say how it ended.`];
      if (result.message) lines.push(`  ${result.message}`);
      if (result.nextStep) lines.push(`  Next step: ${result.nextStep}`);
      return lines;
    }
    default: {
      const exhaustive: never = result.state;
      return [`${options.vmName}: ${String(exhaustive)}`];
    }
  }
}
