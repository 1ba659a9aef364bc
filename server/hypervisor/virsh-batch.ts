import 'server-only';
import { VirshError, type Executor, type RunResult } from './executor';
import { exitFailure, plainFailure } from './failure';
import { freshNonces, type BatchItemResult, type SessionRunOptions } from './virsh-session';
import { quoteForVirshLine } from './virsh-line';

/**
 * Many virsh commands in one non-interactive process: `virsh -c <uri> '<cmd> ; echo --err N ; echo N ; <cmd> …'`.
 * Given a single argument, virsh parses it as one command line (the same parser as its interactive prompt, so
 * quoteForVirshLine quotes for both) and runs the `;`-separated commands in turn, going on after a failed one. It
 * has no readline reading and echoing every byte (150 commands: ~10 ms of virsh's time instead of ~95 in the
 * session, bench live), so the session executor uses it for a batch while no session process runs: a host's
 * first (cold) read. A line virsh cannot parse runs none of its commands; every command then carries that error
 * (the callers' commands are fixed words and UUIDs, quoted by quoteForVirshLine).
 *
 * Framing, per command (checked against real virsh in virsh-batch.test.ts): stdout is the command's output, then
 * the empty line `echo --err` prints, then `N\n`; stderr is the command's errors, then `error: N\n`. The nonce is
 * fresh and random per command, so no VM name, description or XML can forge a marker. A command failed when its
 * stderr holds an `error: ` line, as in the session.
 *
 * A line of reads only (READ_ONLY_COMMANDS, a host's fleet read) goes first with one marker per command,
 * `<cmd> ; echo N`: the markers are a fifth of virsh's time for a host's per-domain reads (bench live: 150 commands
 * take ~45 ms of virsh CPU bare, ~48 with one marker, ~57 with two). Without the stderr marker an error cannot be
 * placed, but a command that failed always wrote `error: …` to stderr; so if stderr stayed empty every command
 * succeeded and its stdout is everything up to its marker. Otherwise (or a marker is missing) the line runs again
 * with both markers: harmless, since it only reads.
 *
 * A single argument is limited to 128 KiB by Linux (MAX_ARG_STRLEN), so a long batch is split into lines of at
 * most MAX_LINE_BYTES of UTF-8, run one after another.
 */

export const MAX_LINE_BYTES = 100_000;

/** Commands that only read the host: a line of these may run twice (see above). */
export const READ_ONLY_COMMANDS: ReadonlySet<string> = new Set([
  'capabilities',
  'domblkinfo',
  'domblklist',
  'dominfo',
  'domstate',
  'domstats',
  'domuuid',
  'dumpxml',
  'hostname',
  'list',
  'nodedev-dumpxml',
  'nodeinfo',
  'version',
]);

/** `text`: the command with both markers; `quoted`: the command alone. */
type Framed = { args: readonly string[]; nonce: string; quoted: string; text: string; bytes: number };

export async function runOneShotBatch(options: {
  /** Runs `virsh -c <uri> <args…>` once (the local executor). */
  oneShot: Executor;
  uri: string;
  commands: ReadonlyArray<readonly string[]>;
  runOptions?: SessionRunOptions;
  /**
   * Frame every line with both markers at once, never trying the read-only framing first: where starting virsh
   * costs far more than its markers (a remote host, ~40 ms a process), a second run of a line costs more than the
   * markers save.
   */
  bothMarkersAlways?: boolean;
}): Promise<BatchItemResult[]> {
  const nonces = freshNonces(options.commands.length);
  const framed = options.commands.map((args, index): Framed => {
    const nonce = nonces[index]!;
    const quoted = quoteForVirshLine(args);
    const text = `${quoted} ; echo --err ${nonce} ; echo ${nonce}`;
    return { args, nonce, quoted, text, bytes: Buffer.byteLength(text) };
  });
  const results: BatchItemResult[] = [];
  for (const line of splitLines(framed)) results.push(...(await runLine(options, line)));
  return results;
}

/** Consecutive commands grouped into lines of at most MAX_LINE_BYTES (a longer single command gets its own). */
function splitLines(framed: readonly Framed[]): Framed[][] {
  const lines: Framed[][] = [];
  let current: Framed[] = [];
  let length = 0;
  for (const item of framed) {
    if (current.length > 0 && length + 3 + item.bytes > MAX_LINE_BYTES) {
      lines.push(current);
      current = [];
      length = 0;
    }
    current.push(item);
    length += (length > 0 ? 3 : 0) + item.bytes;
  }
  if (current.length > 0) lines.push(current);
  return lines;
}

/**
 * Completes a batch's `results`: each command that has none yet (it could not share a virsh line) runs alone with
 * `run`, one after another; a failure becomes its result, never a rejection. Returns `results`.
 */
export async function runMissingAlone(options: {
  commands: ReadonlyArray<readonly string[]>;
  results: BatchItemResult[];
  run: (args: readonly string[]) => Promise<RunResult>;
  /** The argv a failure that is not a VirshError is reported with. */
  argvOf: (args: readonly string[]) => string[];
}): Promise<BatchItemResult[]> {
  const { commands, results } = options;
  for (const [index, args] of commands.entries()) {
    if (results[index] !== undefined) continue;
    try {
      results[index] = { ok: true, result: await options.run(args) };
    } catch (error) {
      results[index] = {
        ok: false,
        error:
          error instanceof VirshError
            ? error
            : plainFailure({ kind: 'spawn', argv: options.argvOf(args), message: String(error), cause: error }),
      };
    }
  }
  return results;
}

type LineOptions = { oneShot: Executor; uri: string; runOptions?: SessionRunOptions; bothMarkersAlways?: boolean };

async function runLine(options: LineOptions, line: readonly Framed[]): Promise<BatchItemResult[]> {
  if (!options.bothMarkersAlways && line.every((item) => READ_ONLY_COMMANDS.has(item.args[0] ?? ''))) {
    const text = line.map((item) => `${item.quoted} ; echo ${item.nonce}`).join(' ; ');
    const answered = await runText(options, line, text);
    if (!answered.ok) return answered.results;
    const stdouts =
      answered.stderr === ''
        ? splitStdout(
            answered.stdout,
            line.map((item) => item.nonce),
          )
        : null;
    if (stdouts !== null) return stdouts.map((stdout) => ({ ok: true, result: { stdout, stderr: '', exitCode: 0 } }));
  }
  const answered = await runText(options, line, line.map((item) => item.text).join(' ; '));
  if (!answered.ok) return answered.results;
  const { stdout, stderr } = answered;
  const argv = (args: readonly string[]) => ['virsh', '-c', options.uri, ...args];
  return splitAnswers(
    stdout,
    stderr,
    line.map((item) => item.nonce),
  ).map((answer, index) => {
    const args = line[index]!.args;
    if (answer === null)
      return {
        ok: false,
        error: plainFailure({ kind: 'connection', argv: argv(args), message: 'virsh ended before answering' }),
      };
    return /(^|\n)error: /.test(answer.stderr)
      ? { ok: false, error: exitFailure({ argv: argv(args), exitCode: 1, ...answer }) }
      : { ok: true, result: { ...answer, exitCode: 0 } };
  });
}

/** Runs one line; on a failure of the run itself, each of its commands' result (ok: false). */
async function runText(
  options: LineOptions,
  line: readonly Framed[],
  text: string,
): Promise<{ ok: true; stdout: string; stderr: string } | { ok: false; results: BatchItemResult[] }> {
  const argv = (args: readonly string[]) => ['virsh', '-c', options.uri, ...args];
  try {
    const { stdout, stderr } = await options.oneShot.run([text], {
      timeoutMs: options.runOptions?.timeoutMs,
      signal: options.runOptions?.signal,
    });
    return { ok: true, stdout, stderr };
  } catch (error) {
    // virsh did not get through the line (no connection, killed at the deadline, aborted): each command fails as
    // it would have alone, with virsh's own words when it exited, without the whole line in its message.
    const results: BatchItemResult[] = line.map((item) => ({
      ok: false,
      error:
        error instanceof VirshError && error.exitCode !== null
          ? exitFailure({ argv: argv(item.args), exitCode: error.exitCode, stdout: '', stderr: error.stderr })
          : plainFailure({
              kind: error instanceof VirshError ? error.kind : 'spawn',
              argv: argv(item.args),
              message: `virsh did not run the batch of ${line.length} commands (${error instanceof VirshError ? error.kind : 'spawn'})`,
              stderr: error instanceof VirshError ? error.stderr : '',
              cause: error,
            }),
    }));
    return { ok: false, results };
  }
}

/**
 * PURE: each command's stdout from a run with one marker per command (`<cmd> ; echo N`), the text before its
 * `N\n`; null if a marker is missing.
 */
export function splitStdout(stdout: string, nonces: readonly string[]): string[] | null {
  const answers: string[] = [];
  let from = 0;
  for (const nonce of nonces) {
    const at = stdout.indexOf(`${nonce}\n`, from);
    if (at < 0) return null;
    answers.push(stdout.slice(from, at));
    from = at + nonce.length + 1;
  }
  return answers;
}

/**
 * PURE: each command's stdout and stderr, cut at its markers (see the framing above); null for a command whose
 * markers are missing (virsh stopped before it).
 */
export function splitAnswers(
  stdout: string,
  stderr: string,
  nonces: readonly string[],
): ({ stdout: string; stderr: string } | null)[] {
  let outFrom = 0;
  let errFrom = 0;
  return nonces.map((nonce) => {
    const outMarker = `\n${nonce}\n`;
    const errMarker = `error: ${nonce}\n`;
    const outAt = stdout.indexOf(outMarker, outFrom);
    const errAt = indexOfLine(stderr, errMarker, errFrom);
    if (outAt < 0 || errAt < 0) {
      outFrom = stdout.length;
      errFrom = stderr.length;
      return null;
    }
    const answer = { stdout: stdout.slice(outFrom, outAt), stderr: stderr.slice(errFrom, errAt) };
    outFrom = outAt + outMarker.length;
    errFrom = errAt + errMarker.length;
    return answer;
  });
}

/** Where `line` starts a line of `text` at or after `from` (at `from` itself or after a newline); -1 if nowhere. */
function indexOfLine(text: string, line: string, from: number): number {
  if (text.startsWith(line, from)) return from;
  const at = text.indexOf(`\n${line}`, from);
  return at < 0 ? -1 : at + 1;
}
