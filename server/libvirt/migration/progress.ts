/**
 * Streaming parser for what `virsh migrate --verbose` writes while it runs.
 *
 * PURE: no I/O. The runner feeds it raw chunks as they arrive and gets events back.
 *
 * Measured with virsh 9.0 (shared/virsh-samples/mig-*.chunks):
 * - progress goes to STDERR about every 500 ms as `\rMigration: [ 45 %]`, with no newline, ever;
 * - at the end virsh writes one `\n` to STDOUT;
 * - an error follows the last progress text on the same stderr line and ends with `\n`:
 *   `\rMigration: [ 18 %]error: operation aborted: migration out: canceled by client\n`, and it can arrive in a
 *   later read() than the progress before it, so text is buffered until its newline;
 * - several `error: ` lines can come at once (`error: failed to connect to the hypervisor\nerror: Cannot recv …`);
 * - `[100 %]` is printed before the destination has confirmed anything, so it is not success. Only the exit
 *   code says that: 0 succeeded, 1 failed (any failure).
 *
 * Both streams go through the same tokenizer (each with its own buffer), so progress or errors written to the
 * "other" stream by a different virsh version are still understood.
 *
 * Progress events are emitted when the percentage CHANGES, not for every sample: virsh repeats each value
 * 2–4 times (one per 500 ms tick) and a repeat carries no information. A value can go DOWN (virsh computes it
 * from the remaining data, which grows when a new memory iteration starts); that is emitted as-is.
 */

export type ProgressEvent =
  | { type: 'progress'; percent: number }
  /** One complete non-progress line, `error: ` prefix removed when present. */
  | { type: 'error-text'; message: string };

export type TranscriptEntry = { stream: 'stdout' | 'stderr'; data: string };

export type FinalOutcome = {
  status: 'succeeded' | 'failed';
  exitCode: number;
  /** The last percentage virsh printed, or null if it printed none (it failed before starting). */
  lastPercent: number | null;
  /** How many progress samples arrived, repeats included (≈ seconds × 2). */
  progressSamples: number;
  /** Every error line joined with '\n', without the `error: ` prefixes; null when virsh printed none. */
  errorMessage: string | null;
  errorLines: string[];
  /** Every chunk in arrival order, byte for byte, for the audit log and the raw view. */
  transcript: TranscriptEntry[];
  stdout: string;
  stderr: string;
};

export type MigrateOutputParser = {
  pushStderr(chunk: string): ProgressEvent[];
  pushStdout(chunk: string): ProgressEvent[];
  /** Call once, with the process's exit code, after both streams have ended. Flushes any unterminated text. */
  finish(exitCode: number): FinalOutcome;
};

const PROGRESS_PREFIX = '\rMigration: [';
const PROGRESS_TOKEN = /^\rMigration: \[ *(\d{1,3}) %\]/;
/** Longest possible token, `\rMigration: [` + padding + `100 %]`; a longer unmatched run is not progress. */
const MAX_PROGRESS_TOKEN_LENGTH = PROGRESS_PREFIX.length + 16;
const ERROR_PREFIX = 'error: ';

type StreamState = { pending: string; line: string };

/**
 * Creates a parser for one `virsh migrate --verbose` run. Reads:
 *
 *     \rMigration: [ 18 %]error: operation aborted: migration out: canceled by client\n
 *
 * Longer than most functions here on purpose: its closures share the two streams' partial-line state, and
 * pulling them apart would pass that state around for no gain in clarity.
 */
export function createMigrateOutputParser(): MigrateOutputParser {
  const transcript: TranscriptEntry[] = [];
  const streams: Record<TranscriptEntry['stream'], StreamState> = {
    stdout: { pending: '', line: '' },
    stderr: { pending: '', line: '' },
  };
  const errorLines: string[] = [];
  let lastPercent: number | null = null;
  let progressSamples = 0;
  let isFinished = false;

  function onLine(text: string, events: ProgressEvent[]): void {
    if (text.trim() === '') return;
    const message = text.startsWith(ERROR_PREFIX) ? text.slice(ERROR_PREFIX.length) : text;
    errorLines.push(message);
    events.push({ type: 'error-text', message });
  }

  function push(stream: TranscriptEntry['stream'], chunk: string): ProgressEvent[] {
    if (isFinished) throw new Error(`migrate output parser: ${stream} data after finish()`);
    if (chunk === '') return [];
    transcript.push({ stream, data: chunk });
    const state = streams[stream];
    const events: ProgressEvent[] = [];
    let text = state.pending + chunk;
    state.pending = '';

    while (text.length > 0) {
      const char = text[0] as string;
      if (char === '\r') {
        const match = PROGRESS_TOKEN.exec(text);
        if (match !== null) {
          const percent = Number(match[1]);
          progressSamples += 1;
          if (percent !== lastPercent) events.push({ type: 'progress', percent });
          lastPercent = percent;
          text = text.slice(match[0].length);
          continue;
        }
        if (couldBecomeProgressToken(text)) {
          // The token was cut by a read() boundary: wait for the rest.
          state.pending = text;
          break;
        }
        // A carriage return that starts no progress token is ordinary text (e.g. a remote shell's \r\n).
        if (text[1] !== '\n') state.line += char;
        text = text.slice(1);
        continue;
      }
      if (char === '\n') {
        onLine(state.line, events);
        state.line = '';
        text = text.slice(1);
        continue;
      }
      const nextBreak = indexOfBreak(text);
      state.line += nextBreak === -1 ? text : text.slice(0, nextBreak);
      text = nextBreak === -1 ? '' : text.slice(nextBreak);
    }
    return events;
  }

  return {
    pushStderr: (chunk) => push('stderr', chunk),
    pushStdout: (chunk) => push('stdout', chunk),
    finish(exitCode) {
      if (isFinished) throw new Error('migrate output parser: finish() called twice');
      isFinished = true;
      // Text without its newline (virsh killed mid-line) is still part of the error. `pending` only ever holds
      // the start of a progress token, which carries no number yet, so it is dropped (it stays in the transcript).
      const ignoredEvents: ProgressEvent[] = [];
      for (const state of [streams.stderr, streams.stdout]) {
        onLine(state.line, ignoredEvents);
        state.line = '';
        state.pending = '';
      }
      return {
        status: exitCode === 0 ? 'succeeded' : 'failed',
        exitCode,
        lastPercent,
        progressSamples,
        errorMessage: errorLines.length > 0 ? errorLines.join('\n') : null,
        errorLines: [...errorLines],
        transcript: [...transcript],
        stdout: joinStream(transcript, 'stdout'),
        stderr: joinStream(transcript, 'stderr'),
      };
    },
  };
}

/** True while `text` (starting with \r) is a prefix of some progress token. */
function couldBecomeProgressToken(text: string): boolean {
  if (text.length >= MAX_PROGRESS_TOKEN_LENGTH) return false;
  if (text.length <= PROGRESS_PREFIX.length) return PROGRESS_PREFIX.startsWith(text);
  if (!text.startsWith(PROGRESS_PREFIX)) return false;
  return /^ *(\d{1,3}( %?)?)?$/.test(text.slice(PROGRESS_PREFIX.length));
}

function indexOfBreak(text: string): number {
  const carriageReturn = text.indexOf('\r');
  const newline = text.indexOf('\n');
  if (carriageReturn === -1) return newline;
  if (newline === -1) return carriageReturn;
  return Math.min(carriageReturn, newline);
}

function joinStream(transcript: readonly TranscriptEntry[], stream: TranscriptEntry['stream']): string {
  return transcript
    .filter((entry) => entry.stream === stream)
    .map((entry) => entry.data)
    .join('');
}
