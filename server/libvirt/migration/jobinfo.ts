import { ParseError } from '../parsers/parse-error';

/**
 * `virsh domjobinfo [--completed]` → numbers, plus an ETA from a series of samples.
 *
 * PURE: no I/O.
 *
 * virsh 9.0 prints `printf("%-17s %s…\n", label, value)` lines; labels longer than 17 columns (e.g.
 * "Time elapsed w/o network:") are followed by one space. Sizes come from vshPrettyCapacity with three
 * decimals (`48.000 MiB`, `0.000 B`), so byte counts are exact only to ±0.0005 of the printed unit. Lines with
 * a zero value are often left out entirely (no "Memory bandwidth:" while it is 0), so every field is nullable.
 * During a migration only the SOURCE host has statistics; the destination answers "Operation not supported:
 * migration statistics are available only on the source host".
 */

export type JobType = 'none' | 'bounded' | 'unbounded' | 'completed' | 'failed' | 'cancelled';

/**
 * Where a migration stands, derived only from what virsh printed (in this order):
 * - 'none' / 'completed' / 'failed' / 'cancelled': straight from "Job type";
 * - 'unknown': a job runs but virsh printed no transfer counters, or the job is not an outgoing migration.
 *   In the lab (mig3.jobinfo) libvirt 9.0 printed only "Time elapsed" for the whole 8 s disk copy, so this is
 *   common and must not be read as "still setting up";
 * - 'postcopy': "Postcopy requests" > 0, i.e. the destination is already faulting pages in. A post-copy switch
 *   with no page requests yet reads as 'memory': the runner knows when it sent migrate-postcopy;
 * - 'memory': memory counters show bytes sent ("Memory processed" > 0);
 * - 'disk': disk counters ("File …" lines, which is what virsh calls disks) show bytes remaining;
 * - 'memory' again when counters exist but neither of the above holds (disks done, memory stream starting).
 */
export type JobPhase = 'none' | 'unknown' | 'disk' | 'memory' | 'postcopy' | 'completed' | 'failed' | 'cancelled';

export type TransferCounters = { processedBytes: number; remainingBytes: number; totalBytes: number };

export type DomJobInfo = {
  jobType: JobType;
  /** True for "Job type: None": no job, nothing else is reported. */
  isIdle: boolean;
  /** "Outgoing migration", "Incoming migration", "Dump", … as virsh printed it; null when not printed. */
  operation: string | null;
  phase: JobPhase;
  timeElapsedMs: number | null;
  timeElapsedNetMs: number | null;
  timeRemainingMs: number | null;
  /** Everything the job moves: disks plus memory. */
  data: TransferCounters | null;
  memory: TransferCounters | null;
  /** virsh's "File processed/remaining/total": the disks being copied (NBD). */
  disk: TransferCounters | null;
  memoryBytesPerSecond: number | null;
  diskBytesPerSecond: number | null;
  dirtyPagesPerSecond: number | null;
  pageSizeBytes: number | null;
  iteration: number | null;
  postcopyRequests: number | null;
  constantPages: number | null;
  normalPages: number | null;
  normalDataBytes: number | null;
  /** While running: how long the guest would pause if QEMU switched over now. */
  expectedDowntimeMs: number | null;
  /** With --completed: how long the guest was really paused. */
  totalDowntimeMs: number | null;
  downtimeNetMs: number | null;
  setupTimeMs: number | null;
  compressionCacheBytes: number | null;
  compressedDataBytes: number | null;
  compressedPages: number | null;
  compressionCacheMisses: number | null;
  compressionOverflows: number | null;
  autoConvergeThrottlePercent: number | null;
  temporaryDiskUseBytes: number | null;
  temporaryDiskTotalBytes: number | null;
  /** "Error message:" of a failed job (printed with --anystats/--completed). */
  errorMessage: string | null;
  /** Lines this parser does not know, label (without colon) → value, so a newer virsh loses nothing. */
  extra: Record<string, string>;
};

const COMMAND = 'domjobinfo';

const JOB_TYPES: Record<string, JobType> = {
  None: 'none',
  Bounded: 'bounded',
  Unbounded: 'unbounded',
  Completed: 'completed',
  Failed: 'failed',
  Cancelled: 'cancelled',
};

const SIZE_UNITS: Record<string, number> = {
  B: 1,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
  PiB: 1024 ** 5,
  EiB: 1024 ** 6,
};

type ValueKind = 'ms' | 'size' | 'rate' | 'count' | 'pagesPerSecond' | 'bytes' | 'int';
type NumericField = {
  [K in keyof DomJobInfo]: DomJobInfo[K] extends number | null ? (K extends 'jobType' ? never : K) : never;
}[keyof DomJobInfo];
type CounterLabel = { group: 'data' | 'memory' | 'disk'; part: keyof TransferCounters };

const NUMERIC_LABELS: Record<string, { field: NumericField; kind: ValueKind }> = {
  'Time elapsed': { field: 'timeElapsedMs', kind: 'ms' },
  'Time elapsed w/o network': { field: 'timeElapsedNetMs', kind: 'ms' },
  'Time remaining': { field: 'timeRemainingMs', kind: 'ms' },
  'Memory bandwidth': { field: 'memoryBytesPerSecond', kind: 'rate' },
  'File bandwidth': { field: 'diskBytesPerSecond', kind: 'rate' },
  'Dirty rate': { field: 'dirtyPagesPerSecond', kind: 'pagesPerSecond' },
  'Page size': { field: 'pageSizeBytes', kind: 'bytes' },
  Iteration: { field: 'iteration', kind: 'count' },
  'Postcopy requests': { field: 'postcopyRequests', kind: 'count' },
  'Constant pages': { field: 'constantPages', kind: 'count' },
  'Normal pages': { field: 'normalPages', kind: 'count' },
  'Normal data': { field: 'normalDataBytes', kind: 'size' },
  'Expected downtime': { field: 'expectedDowntimeMs', kind: 'ms' },
  'Total downtime': { field: 'totalDowntimeMs', kind: 'ms' },
  'Downtime w/o network': { field: 'downtimeNetMs', kind: 'ms' },
  'Setup time': { field: 'setupTimeMs', kind: 'ms' },
  'Compression cache': { field: 'compressionCacheBytes', kind: 'size' },
  'Compressed data': { field: 'compressedDataBytes', kind: 'size' },
  'Compressed pages': { field: 'compressedPages', kind: 'count' },
  'Compression cache misses': { field: 'compressionCacheMisses', kind: 'count' },
  'Compression overflows': { field: 'compressionOverflows', kind: 'count' },
  'Auto converge throttle': { field: 'autoConvergeThrottlePercent', kind: 'int' },
  'Temporary disk space use': { field: 'temporaryDiskUseBytes', kind: 'size' },
  'Temporary disk space total': { field: 'temporaryDiskTotalBytes', kind: 'size' },
};

const COUNTER_LABELS: Record<string, CounterLabel> = {
  'Data processed': { group: 'data', part: 'processedBytes' },
  'Data remaining': { group: 'data', part: 'remainingBytes' },
  'Data total': { group: 'data', part: 'totalBytes' },
  'Memory processed': { group: 'memory', part: 'processedBytes' },
  'Memory remaining': { group: 'memory', part: 'remainingBytes' },
  'Memory total': { group: 'memory', part: 'totalBytes' },
  'File processed': { group: 'disk', part: 'processedBytes' },
  'File remaining': { group: 'disk', part: 'remainingBytes' },
  'File total': { group: 'disk', part: 'totalBytes' },
};

/**
 * Reads `virsh domjobinfo <vm>` or `virsh domjobinfo --completed <vm>` stdout:
 *
 *     Data processed:   48.000 MiB
 *
 * Throws ParseError on a line without a label, a known label with a value in an unexpected format, or a
 * missing/unknown "Job type".
 */
export function parseDomJobInfo(text: string): DomJobInfo {
  const info = emptyInfo();
  const counters: Record<CounterLabel['group'], Partial<TransferCounters>> = { data: {}, memory: {}, disk: {} };
  let jobTypeSeen = false;

  const lines = text.split('\n');
  for (const [index, rawLine] of lines.entries()) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line.trim() === '') continue;
    const lineNumber = index + 1;
    const fail = (reason: string): never => {
      throw new ParseError({ command: COMMAND, reason, line, lineNumber });
    };

    const colon = line.indexOf(':');
    if (colon <= 0) fail('line has no "<label>:"');
    const label = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();

    if (label === 'Job type') {
      const jobType = JOB_TYPES[value];
      if (jobType === undefined) fail(`unknown job type "${value}"`);
      info.jobType = jobType as JobType;
      jobTypeSeen = true;
      continue;
    }
    if (label === 'Operation') {
      info.operation = value;
      continue;
    }
    if (label === 'Error message') {
      info.errorMessage = value;
      continue;
    }
    const counter = COUNTER_LABELS[label];
    if (counter !== undefined) {
      counters[counter.group][counter.part] = parseValue({ kind: 'size', value, label, fail });
      continue;
    }
    const numeric = NUMERIC_LABELS[label];
    if (numeric !== undefined) {
      info[numeric.field] = parseValue({ kind: numeric.kind, value, label, fail });
      continue;
    }
    info.extra[label] = value;
  }

  if (!jobTypeSeen) throw new ParseError({ command: COMMAND, reason: 'no "Job type:" line' });

  for (const group of ['data', 'memory', 'disk'] as const) {
    const parts = counters[group];
    const present = Object.keys(parts).length;
    if (present === 0) continue;
    if (parts.processedBytes === undefined || parts.remainingBytes === undefined || parts.totalBytes === undefined) {
      throw new ParseError({
        command: COMMAND,
        reason: `${group} counters are incomplete (virsh prints processed, remaining and total together)`,
      });
    }
    info[group] = {
      processedBytes: parts.processedBytes,
      remainingBytes: parts.remainingBytes,
      totalBytes: parts.totalBytes,
    };
  }

  info.isIdle = info.jobType === 'none';
  info.phase = derivePhase(info);
  return info;
}

function derivePhase(info: DomJobInfo): JobPhase {
  switch (info.jobType) {
    case 'none':
      return 'none';
    case 'completed':
      return 'completed';
    case 'failed':
      return 'failed';
    case 'cancelled':
      return 'cancelled';
    case 'bounded':
    case 'unbounded':
      break;
    default: {
      const unreachable: never = info.jobType;
      throw new Error(`unhandled job type ${String(unreachable)}`);
    }
  }
  // Older daemons print no "Operation"; when they do, only an outgoing migration has these phases.
  if (info.operation !== null && info.operation !== 'Outgoing migration') return 'unknown';
  if ((info.postcopyRequests ?? 0) > 0) return 'postcopy';
  if (info.memory !== null && info.memory.processedBytes > 0) return 'memory';
  if (info.disk !== null && info.disk.remainingBytes > 0) return 'disk';
  if (info.data !== null || info.memory !== null || info.disk !== null) return 'memory';
  return 'unknown';
}

function parseValue({
  kind,
  value,
  label,
  fail,
}: {
  kind: ValueKind;
  value: string;
  label: string;
  fail: (reason: string) => never;
}): number {
  const wholeNumber = (digits: string): number => {
    const parsed = Number(digits);
    if (!Number.isSafeInteger(parsed)) fail(`${label} is too large (${digits})`);
    return parsed;
  };
  const size = (text: string): number | null => {
    const match = /^(\d+(?:\.\d+)?) (B|KiB|MiB|GiB|TiB|PiB|EiB)$/.exec(text);
    if (match === null) return null;
    return Math.round(Number(match[1]) * (SIZE_UNITS[match[2] as string] as number));
  };
  const withUnit = (unit: string): number => {
    const match = new RegExp(`^(\\d+)\\s+${unit.replace('/', '\\/')}$`).exec(value);
    if (match === null) return fail(`${label} is not "<n> ${unit}" (${JSON.stringify(value)})`);
    return wholeNumber(match[1] as string);
  };

  switch (kind) {
    case 'ms':
      return withUnit('ms');
    case 'pagesPerSecond':
      return withUnit('pages/s');
    case 'bytes':
      return withUnit('bytes');
    case 'count':
      if (!/^\d+$/.test(value)) return fail(`${label} is not a whole number (${JSON.stringify(value)})`);
      return wholeNumber(value);
    case 'int':
      if (!/^-?\d+$/.test(value)) return fail(`${label} is not an integer (${JSON.stringify(value)})`);
      return wholeNumber(value);
    case 'size':
      return size(value) ?? fail(`${label} is not a size like "48.000 MiB" (${JSON.stringify(value)})`);
    case 'rate': {
      const bytes = value.endsWith('/s') ? size(value.slice(0, -2)) : null;
      return bytes ?? fail(`${label} is not a rate like "33.254 MiB/s" (${JSON.stringify(value)})`);
    }
    default: {
      const unreachable: never = kind;
      return fail(`unhandled value kind ${String(unreachable)}`);
    }
  }
}

function emptyInfo(): DomJobInfo {
  return {
    jobType: 'none',
    isIdle: true,
    operation: null,
    phase: 'none',
    timeElapsedMs: null,
    timeElapsedNetMs: null,
    timeRemainingMs: null,
    data: null,
    memory: null,
    disk: null,
    memoryBytesPerSecond: null,
    diskBytesPerSecond: null,
    dirtyPagesPerSecond: null,
    pageSizeBytes: null,
    iteration: null,
    postcopyRequests: null,
    constantPages: null,
    normalPages: null,
    normalDataBytes: null,
    expectedDowntimeMs: null,
    totalDowntimeMs: null,
    downtimeNetMs: null,
    setupTimeMs: null,
    compressionCacheBytes: null,
    compressedDataBytes: null,
    compressedPages: null,
    compressionCacheMisses: null,
    compressionOverflows: null,
    autoConvergeThrottlePercent: null,
    temporaryDiskUseBytes: null,
    temporaryDiskTotalBytes: null,
    errorMessage: null,
    extra: {},
  };
}

export type EtaEstimate = {
  /** Measured transfer rate over the window, or the rate QEMU reported when there is only one sample. */
  bytesPerSecond: number | null;
  /** Seconds until the remaining bytes are sent at that rate; null when unknown, stalled or absurd. */
  etaSeconds: number | null;
  remainingBytes: number | null;
  /** 'measured': from processed bytes over time; 'reported': from virsh's bandwidth lines; null: no estimate. */
  basis: 'measured' | 'reported' | null;
};

/** Samples this far back (by the job's own elapsed time) feed the rate; older ones describe an earlier phase. */
export const ETA_WINDOW_MS = 10_000;
/** Shorter spans give rates dominated by the 500 ms polling jitter. */
export const ETA_MIN_SPAN_MS = 1_000;
/** Beyond this an ETA is noise (a stalled or throttled migration), so it is reported as unknown. */
export const ETA_MAX_SECONDS = 7 * 24 * 3600;

/**
 * Rate and ETA from recent `parseDomJobInfo` results, oldest first.
 *
 * Uses the job's own "Time elapsed" as the clock (immune to polling delays) and "processed" bytes (which only
 * grow) for the rate, never the change in "remaining": when a new memory iteration starts, remaining goes UP
 * and a remaining-based rate would turn negative. The ETA is remaining / rate, so it is never negative; in a
 * later memory iteration it is optimistic, because pages dirtied meanwhile are sent again.
 * Samples without counters are skipped; a drop in elapsed time or processed bytes means a new job, and only
 * the samples after it are used.
 */
export function estimateEta({
  samples,
  windowMs = ETA_WINDOW_MS,
}: {
  samples: readonly DomJobInfo[];
  windowMs?: number;
}): EtaEstimate {
  const usable = samples
    .filter(
      (sample) => (sample.jobType === 'bounded' || sample.jobType === 'unbounded') && sample.timeElapsedMs !== null,
    )
    .map((sample) => ({ elapsedMs: sample.timeElapsedMs as number, totals: totalsOf(sample), sample }))
    .filter(
      (entry): entry is { elapsedMs: number; totals: { processed: number; remaining: number }; sample: DomJobInfo } =>
        entry.totals !== null,
    );

  let runStart = 0;
  for (let index = 1; index < usable.length; index += 1) {
    const previous = usable[index - 1] as (typeof usable)[number];
    const current = usable[index] as (typeof usable)[number];
    if (current.elapsedMs <= previous.elapsedMs || current.totals.processed < previous.totals.processed)
      runStart = index;
  }
  const run = usable.slice(runStart);
  const last = run.at(-1);
  if (last === undefined) return { bytesPerSecond: null, etaSeconds: null, remainingBytes: null, basis: null };

  const remainingBytes = last.totals.remaining;
  const windowed = run.filter((entry) => entry.elapsedMs >= last.elapsedMs - windowMs);
  const first = windowed[0] as (typeof windowed)[number];
  const spanMs = last.elapsedMs - first.elapsedMs;

  let bytesPerSecond: number | null = null;
  let basis: EtaEstimate['basis'] = null;
  if (spanMs >= ETA_MIN_SPAN_MS) {
    bytesPerSecond = ((last.totals.processed - first.totals.processed) * 1000) / spanMs;
    basis = 'measured';
  } else {
    const reported = (last.sample.memoryBytesPerSecond ?? 0) + (last.sample.diskBytesPerSecond ?? 0);
    if (reported > 0) {
      bytesPerSecond = reported;
      basis = 'reported';
    }
  }

  let etaSeconds: number | null = null;
  if (remainingBytes === 0) etaSeconds = 0;
  else if (bytesPerSecond !== null && bytesPerSecond > 0) {
    const eta = remainingBytes / bytesPerSecond;
    etaSeconds = eta <= ETA_MAX_SECONDS ? eta : null;
  }
  return { bytesPerSecond, etaSeconds, remainingBytes, basis };
}

/** Processed/remaining over everything the job moves: "Data" when printed, else disks + memory. */
function totalsOf(sample: DomJobInfo): { processed: number; remaining: number } | null {
  if (sample.data !== null) return { processed: sample.data.processedBytes, remaining: sample.data.remainingBytes };
  if (sample.memory === null && sample.disk === null) return null;
  return {
    processed: (sample.memory?.processedBytes ?? 0) + (sample.disk?.processedBytes ?? 0),
    remaining: (sample.memory?.remainingBytes ?? 0) + (sample.disk?.remainingBytes ?? 0),
  };
}
