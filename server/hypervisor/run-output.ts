import { StringDecoder } from 'node:string_decoder';
import type { RunOptions, RunResult } from './executor';
import { exitFailure, plainFailure } from './failure';

/**
 * What the local and the ssh executor share once a command runs: decoding its two streams, handing chunks to
 * the caller, the time limit and abort signal, and turning how it ended into a RunResult or a VirshError.
 * Each executor keeps only what differs: how the command starts and how it is stopped.
 */

/** Why Ferry stopped a command; set once, and it decides the error whatever exit status follows. */
export type StopReason = { kind: 'timeout' | 'aborted'; message: string; cause?: unknown };

type Stream = 'stdout' | 'stderr';

/**
 * Collects stdout and stderr as UTF-8 (a character split across two reads is joined, not mangled) and passes
 * each chunk to onStdout/onStderr. A callback that throws stops the command through `stop` instead of
 * killing the process that owns the stream.
 */
export function createOutputCollector(runOptions: RunOptions, stop: (reason: StopReason) => void) {
  const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  const callbacks = { stdout: runOptions.onStdout, stderr: runOptions.onStderr };
  const text = { stdout: '', stderr: '' };

  const add = (stream: Stream, chunk: string) => {
    text[stream] += chunk;
    const callback = callbacks[stream];
    if (callback === undefined || chunk === '') return;
    try {
      callback(chunk);
    } catch (error) {
      stop({ kind: 'aborted', message: 'stopped because an output callback threw', cause: error });
    }
  };

  return {
    write(stream: Stream, data: Buffer) {
      add(stream, decoders[stream].write(data));
    },
    /** Flushes what the decoders still hold (a truncated character) and returns everything read. */
    end(): { stdout: string; stderr: string } {
      add('stdout', decoders.stdout.end());
      add('stderr', decoders.stderr.end());
      return text;
    },
  };
}

/**
 * Arms the command's time limit (`delayMs` from now; `timeoutMs` is what the message names) and its abort
 * signal, both calling `stop`. Returns the disarm function, to call once the command has ended.
 */
export function watchStop(options: {
  timeoutMs: number;
  delayMs: number;
  signal: AbortSignal | undefined;
  stop: (reason: StopReason) => void;
}): () => void {
  const { signal, stop } = options;
  const timer = Number.isFinite(options.delayMs)
    ? setTimeout(() => stop({ kind: 'timeout', message: `timed out after ${options.timeoutMs} ms` }), options.delayMs)
    : undefined;
  const onAbort = () => stop({ kind: 'aborted', message: 'aborted', cause: signal?.reason });
  signal?.addEventListener('abort', onAbort, { once: true });
  return () => {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  };
}

/**
 * Settles a run as the Executor contract says: exit 0 resolves; a stop, another exit status, or no exit status
 * at all (an SSH channel that closed without one) rejects with a VirshError.
 */
export function settleRun(
  options: {
    argv: readonly string[];
    stopReason: StopReason | null;
    exit: { code: number | null; signal: string | null } | null;
    output: { stdout: string; stderr: string };
  },
  resolve: (result: RunResult) => void,
  reject: (error: Error) => void,
): void {
  const { argv, stopReason, exit } = options;
  const { stdout, stderr } = options.output;
  if (stopReason !== null) {
    const { kind, message, cause } = stopReason;
    reject(plainFailure({ kind, argv, message, exitCode: exit?.code ?? null, stdout, stderr, cause }));
  } else if (exit === null) {
    const message = 'SSH channel closed without an exit status (connection lost?)';
    reject(plainFailure({ kind: 'connection', argv, message, stdout, stderr }));
  } else if (exit.code === 0) {
    resolve({ stdout, stderr, exitCode: 0 });
  } else {
    reject(exitFailure({ argv, exitCode: exit.code, signal: exit.signal, stdout, stderr }));
  }
}
