import 'server-only';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import type { RunResult, VirshError } from './executor';
import { exitFailure, plainFailure, summarizeStderr } from './failure';
import { DEFAULT_TIMEOUT_MS, DEFAULT_VIRSH_PATH, KILL_GRACE_MS, virshEnvironment } from './local-executor';
import { findLineUnsafeArgument, quoteForVirshLine } from './virsh-line';
import { tiedToThisProcess } from './tied-spawn';

/**
 * One long-lived interactive `virsh -c <uri>` per host, so a warm refresh pays neither a process start nor a
 * libvirt connection per command.
 *
 * Protocol. For each command we write three lines:
 *   <command, quoted by quoteForVirshLine>
 *   echo --err <nonce>
 *   echo <nonce>
 * Interactive virsh has no per-command exit code, but every failure goes through vshError, which writes
 * `error: …` to stderr; so the command's stderr is everything before `error: <nonce>`, and the command
 * failed if that text holds an `error: ` line. Its stdout is everything between readline's echo of the
 * command line and the prompt echo of `echo --err <nonce>`. On stdout one command reads (libvirt 9.0, root):
 *   virsh # 'domstate' 'web1'\nrunning\n\nvirsh # echo --err 6f1c…\n\nvirsh # echo 6f1c…\n6f1c…\n
 * The prompt is `virsh > ` for non-root users. With TERM=dumb readline shows a long line scrolled
 * (`virsh # \r<…tail`), but always as one line, which is all the parser relies on (measured up to 5000
 * chars). The nonce is fresh and random per command, so no VM name, description or XML can forge a marker.
 *
 * Flushing: vshPrint calls fflush(stdout) after every print and readline flushes its echo, so each marker
 * reaches the pipe as soon as it is printed; no stdbuf or pty is needed (virsh-session.test.ts checks that
 * a single command is answered without any further input).
 */

/**
 * `count` markers of 64 random bits each: unguessable for text a guest controls, and short, because readline
 * reads the line one byte per syscall (measured: 32-char markers cost 0.24 ms per command, 16-char 0.18 ms).
 * One call to the CSPRNG for all of them: one per marker cost 40 µs each in a 1500-command fleet read.
 */
export function freshNonces(count: number): string[] {
  const hex = randomHex(8 * count);
  return Array.from({ length: count }, (_, index) => hex.slice(index * 16, index * 16 + 16));
}

/** Bytes drawn from the CSPRNG ahead, each handed out once: a draw per batch cost ~1 ms here (bench live). */
const RANDOM_POOL_BYTES = 4096;
let randomPool = Buffer.alloc(0);
let randomPoolOffset = 0;

function randomHex(bytes: number): string {
  if (bytes > RANDOM_POOL_BYTES) return randomBytes(bytes).toString('hex');
  if (randomPoolOffset + bytes > randomPool.length) {
    randomPool = randomBytes(RANDOM_POOL_BYTES);
    randomPoolOffset = 0;
  }
  const hex = randomPool.toString('hex', randomPoolOffset, randomPoolOffset + bytes);
  randomPoolOffset += bytes;
  return hex;
}

export type BatchItemResult = { ok: true; result: RunResult } | { ok: false; error: VirshError };

export type SessionRunOptions = {
  /** Time limit for the whole call (a batch shares one deadline). On expiry the session process is killed. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Queued ahead of the ordinary jobs waiting (RunOptions.urgent). */
  urgent?: boolean;
};

export type VirshSession = {
  readonly description: string;
  /** PID of the running virsh process, or null while none runs (one starts with the next command). */
  readonly pid: number | null;
  run(args: readonly string[], options?: SessionRunOptions): Promise<RunResult>;
  /**
   * Writes all commands in one go and reads their answers in order. Never rejects: each command gets its
   * own result; if the session dies or times out midway, the unfinished commands carry that error.
   */
  runBatch(commands: ReadonlyArray<readonly string[]>, options?: SessionRunOptions): Promise<BatchItemResult[]>;
  close(): Promise<void>;
};

/** A running interactive virsh, wherever it runs. */
export type SessionProcess = {
  readonly pid: number | null;
  write(text: string): void;
  /** Graceful stop: closes stdin; virsh exits at EOF. */
  end(): void;
  /** Hard stop, including any ssh that virsh started. */
  kill(): void;
};

export type SessionProcessHandlers = {
  onStdout(chunk: string): void;
  onStderr(chunk: string): void;
  onExit(info: { code: number | null; signal: string | null; error?: Error }): void;
};

export type VirshSessionOptions = {
  uri: string;
  virshPath?: string;
  defaultTimeoutMs?: number;
  killGraceMs?: number;
  /** Starts the interactive virsh; defaults to a local `virsh -c <uri>` in its own process group. */
  startProcess?: (handlers: SessionProcessHandlers) => SessionProcess;
};

const PROMPTS = ['virsh # ', 'virsh > '];

/**
 * readline reads ~/.inputrc and /etc/inputrc (a vi editing mode there would change what keys mean), and
 * TERM decides how it echoes; pin both so the echo format above holds wherever Ferry runs.
 */
export const SESSION_ENV = { TERM: 'dumb', INPUTRC: '/dev/null' };

export function startLocalSessionProcess(options: {
  uri: string;
  virshPath: string;
  handlers: SessionProcessHandlers;
}): SessionProcess {
  // Tied to Ferry's life (tied-spawn.ts): a long-lived session must not outlive a Ferry killed with -9.
  const tied = tiedToThisProcess(options.virshPath, ['-c', options.uri]);
  const child = spawn(tied.file, tied.argv, {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
    env: virshEnvironment(SESSION_ENV),
  });
  const stdoutDecoder = new StringDecoder('utf8');
  const stderrDecoder = new StringDecoder('utf8');
  let hasExited = false;
  child.stdout.on('data', (data: Buffer) => options.handlers.onStdout(stdoutDecoder.write(data)));
  child.stderr.on('data', (data: Buffer) => options.handlers.onStderr(stderrDecoder.write(data)));
  // EPIPE when virsh died between our write and its exit; 'close' reports the death.
  child.stdin.on('error', () => {});
  child.on('error', (error) => {
    if (child.pid !== undefined || hasExited) return;
    hasExited = true;
    options.handlers.onExit({ code: null, signal: null, error });
  });
  child.on('close', (code, signal) => {
    if (hasExited) return;
    hasExited = true;
    options.handlers.onExit({ code, signal });
  });
  return {
    get pid() {
      return child.pid ?? null;
    },
    write: (text) => {
      child.stdin.write(text);
    },
    end: () => {
      child.stdin.end();
    },
    kill: () => {
      if (child.pid === undefined || hasExited) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // ESRCH: already gone.
      }
    },
  };
}

type Expected = {
  nonce: string;
  /** argv as reported in errors: `virsh -c <uri> <args…>`, the command a one-shot run would have been. */
  argv: readonly string[];
  isHandshake: boolean;
  stdout?: string;
  stderr?: string;
};

type Job = {
  commands: ReadonlyArray<readonly string[]>;
  results: BatchItemResult[];
  timeoutMs: number;
  signal?: AbortSignal;
  urgent: boolean;
  resolve: (results: BatchItemResult[]) => void;
  cleanup: () => void;
};

type Running = {
  process: SessionProcess;
  stdout: string;
  stderr: string;
  stdoutScanFrom: number;
  stderrScanFrom: number;
  /** Handshake and commands written to this process whose answers have not been read yet, oldest first. */
  expected: Expected[];
  /** Called once when this process is gone (exited, or killed by us). */
  onGone: Array<() => void>;
};

type Failure = { kind: VirshError['kind']; message: string; stdout?: string; stderr?: string; cause?: unknown };

/**
 * One long-lived interactive virsh. Long because it is the session object: its methods close over the one
 * process, its output buffer and the queue of pending markers.
 */
export function createVirshSession(options: VirshSessionOptions): VirshSession {
  const virshPath = options.virshPath ?? DEFAULT_VIRSH_PATH;
  const defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const killGraceMs = options.killGraceMs ?? KILL_GRACE_MS;
  const startProcess =
    options.startProcess ??
    ((handlers: SessionProcessHandlers) => startLocalSessionProcess({ uri: options.uri, virshPath, handlers }));
  const reportedArgv = (args: readonly string[]) => ['virsh', '-c', options.uri, ...args];

  const queue: Job[] = [];
  let activeJob: Job | null = null;
  let running: Running | null = null;
  let isClosed = false;

  const newNonce = () => freshNonces(1)[0]!;
  const markerLines = (nonce: string) => `echo --err ${nonce}\necho ${nonce}\n`;
  const failAll = (commands: ReadonlyArray<readonly string[]>, failure: Failure): BatchItemResult[] =>
    commands.map((args) => ({ ok: false, error: plainFailure({ ...failure, argv: reportedArgv(args) }) }));

  function startRunning(): Running {
    const state: Running = {
      process: undefined as unknown as SessionProcess,
      stdout: '',
      stderr: '',
      stdoutScanFrom: 0,
      stderrScanFrom: 0,
      expected: [],
      onGone: [],
    };
    state.process = startProcess({
      onStdout: (chunk) => {
        if (running !== state) return;
        state.stdout += chunk;
        readAnswers(state);
      },
      onStderr: (chunk) => {
        if (running !== state) return;
        state.stderr += chunk;
        readAnswers(state);
      },
      onExit: ({ code, signal, error }) => {
        for (const callback of state.onGone.splice(0)) callback();
        if (running !== state) return;
        running = null;
        const how = error
          ? `could not start: ${error.message}`
          : `exited (${code === null ? `signal ${signal}` : `code ${code}`})`;
        // virsh says why it gave up (e.g. "failed to connect to the hypervisor: … Connection refused"): keep that.
        const why = summarizeStderr(state.stderr);
        failActiveJob({
          kind: error ? 'spawn' : 'connection',
          message: `virsh session ${how}${why ? `: ${why}` : ''}`,
          stdout: state.stdout,
          stderr: state.stderr,
        });
      },
    });
    // Everything virsh prints before this first marker (banner, connection warnings) belongs to no command.
    const handshake: Expected = { nonce: newNonce(), argv: reportedArgv([]), isHandshake: true };
    state.expected.push(handshake);
    state.process.write(markerLines(handshake.nonce));
    return state;
  }

  function stopRunning() {
    const state = running;
    running = null;
    state?.process.kill();
  }

  /** Consumes every complete answer at the head of the buffers. */
  function readAnswers(state: Running) {
    while (running === state && state.expected.length > 0) {
      const head = state.expected[0]!;
      if (head.stdout === undefined) {
        const marker = `\n${head.nonce}\n`;
        const at = state.stdout.indexOf(marker, state.stdoutScanFrom);
        if (at >= 0) {
          const block = state.stdout.slice(0, at + 1);
          state.stdout = state.stdout.slice(at + marker.length);
          state.stdoutScanFrom = 0;
          const output = extractStdout(block, head);
          if (output === null) {
            protocolError(`unexpected output framing around marker ${head.nonce}`, block);
            return;
          }
          head.stdout = output;
        } else {
          state.stdoutScanFrom = Math.max(0, state.stdout.length - marker.length);
        }
      }
      if (head.stderr === undefined) {
        const marker = `error: ${head.nonce}\n`;
        const at = state.stderr.indexOf(marker, state.stderrScanFrom);
        if (at >= 0) {
          head.stderr = state.stderr.slice(0, at);
          state.stderr = state.stderr.slice(at + marker.length);
          state.stderrScanFrom = 0;
        } else {
          state.stderrScanFrom = Math.max(0, state.stderr.length - marker.length);
        }
      }
      if (head.stdout === undefined || head.stderr === undefined) return;
      state.expected.shift();
      deliverAnswer(head, head.stdout, head.stderr);
    }
  }

  /**
   * Cuts one command's stdout out of `block`, which runs from just after the previous marker through the
   * newline that ends the prompt echo of `echo <nonce>`. Returns null when the framing is not as expected.
   */
  function extractStdout(block: string, expected: Expected): string | null {
    // Drop the echo of `echo <nonce>` (the last line) ...
    const lastLineStart = block.lastIndexOf('\n', block.length - 2) + 1;
    if (!block.slice(lastLineStart).includes(expected.nonce)) return null;
    let rest = block.slice(0, Math.max(0, lastLineStart - 1));
    // ... the empty line that `echo --err` prints on stdout ...
    if (rest.endsWith('\n')) rest = rest.slice(0, -1);
    // ... and the echo of `echo --err <nonce>`, which starts at the last prompt.
    const errEchoStart = Math.max(...PROMPTS.map((prompt) => rest.lastIndexOf(prompt)));
    if (errEchoStart < 0 || !rest.slice(errEchoStart).includes(expected.nonce)) return null;
    rest = rest.slice(0, errEchoStart);
    if (expected.isHandshake) return rest;
    // What remains is the echo of the command line (one line), then the command's own output.
    if (!PROMPTS.some((prompt) => rest.startsWith(prompt))) return null;
    const echoEnd = rest.indexOf('\n');
    return echoEnd < 0 ? null : rest.slice(echoEnd + 1);
  }

  function protocolError(message: string, block: string) {
    const stderr = running?.stderr ?? '';
    stopRunning();
    failActiveJob({
      kind: 'connection',
      message: `virsh session lost sync (${message}); it will be restarted`,
      stdout: block,
      stderr,
    });
  }

  function deliverAnswer(expected: Expected, stdout: string, stderr: string) {
    if (expected.isHandshake) return;
    const job = activeJob;
    if (job === null) return;
    const result: BatchItemResult = /(^|\n)error: /.test(stderr)
      ? { ok: false, error: exitFailure({ argv: expected.argv, exitCode: 1, stdout, stderr }) }
      : { ok: true, result: { stdout, stderr, exitCode: 0 } };
    job.results.push(result);
    if (job.results.length === job.commands.length) finishJob(job);
  }

  /** Fails the active job's unanswered commands; the session process is gone or about to be. */
  function failActiveJob(failure: Failure) {
    const job = activeJob;
    if (job === null) return;
    for (let index = job.results.length; index < job.commands.length; index++) {
      const isCurrent = index === job.results.length;
      job.results.push({
        ok: false,
        error: plainFailure({
          ...failure,
          argv: reportedArgv(job.commands[index]!),
          message: isCurrent ? failure.message : `not run: ${failure.message}`,
          stdout: isCurrent ? failure.stdout : '',
          stderr: isCurrent ? failure.stderr : '',
        }),
      });
    }
    finishJob(job);
  }

  function finishJob(job: Job) {
    job.cleanup();
    if (activeJob === job) activeJob = null;
    job.resolve(job.results);
    pump();
  }

  function pump() {
    if (activeJob !== null || queue.length === 0) return;
    const job = queue.shift()!;
    activeJob = job;
    const timer = Number.isFinite(job.timeoutMs)
      ? setTimeout(() => {
          stopRunning();
          failActiveJob({ kind: 'timeout', message: `timed out after ${job.timeoutMs} ms; virsh session killed` });
        }, job.timeoutMs)
      : undefined;
    const onAbort = () => {
      stopRunning();
      failActiveJob({ kind: 'aborted', message: 'aborted; virsh session killed', cause: job.signal?.reason });
    };
    job.signal?.addEventListener('abort', onAbort, { once: true });
    job.cleanup = () => {
      clearTimeout(timer);
      job.signal?.removeEventListener('abort', onAbort);
    };

    const state = running ?? (running = startRunning());
    const lines: string[] = [];
    const nonces = freshNonces(job.commands.length);
    for (const [index, args] of job.commands.entries()) {
      const expected: Expected = { nonce: nonces[index]!, argv: reportedArgv(args), isHandshake: false };
      state.expected.push(expected);
      lines.push(`${quoteForVirshLine(args)}\n${markerLines(expected.nonce)}`);
    }
    state.process.write(lines.join(''));
  }

  function runBatch(
    commands: ReadonlyArray<readonly string[]>,
    runOptions: SessionRunOptions = {},
  ): Promise<BatchItemResult[]> {
    if (isClosed) return Promise.resolve(failAll(commands, { kind: 'connection', message: 'virsh session is closed' }));
    if (runOptions.signal?.aborted) {
      return Promise.resolve(
        failAll(commands, { kind: 'aborted', message: 'aborted before it started', cause: runOptions.signal.reason }),
      );
    }
    const problems = commands.map((args) => (args.length === 0 ? 'empty command' : findLineUnsafeArgument(args)));
    if (problems.some((problem) => problem !== null)) {
      // A batch holding an unsendable command is a caller bug; refuse all of it rather than half-run it.
      return Promise.resolve(
        commands.map((args, index) => ({
          ok: false,
          error: plainFailure({
            kind: 'spawn',
            argv: reportedArgv(args),
            message: `refused: ${problems[index] ?? 'another command in the batch cannot be sent'} (cannot travel on one virsh line)`,
          }),
        })),
      );
    }
    if (commands.length === 0) return Promise.resolve([]);

    return new Promise((resolve) => {
      const { signal } = runOptions;
      // A queued job that is aborted leaves the queue at once; the session keeps serving the others.
      const onQueuedAbort = () => {
        const at = queue.indexOf(job);
        if (at < 0) return;
        queue.splice(at, 1);
        resolve(failAll(commands, { kind: 'aborted', message: 'aborted while queued', cause: signal?.reason }));
      };
      const job: Job = {
        commands,
        results: [],
        timeoutMs: runOptions.timeoutMs ?? defaultTimeoutMs,
        signal,
        urgent: runOptions.urgent === true,
        resolve: (results) => {
          signal?.removeEventListener('abort', onQueuedAbort);
          resolve(results);
        },
        cleanup: () => {},
      };
      signal?.addEventListener('abort', onQueuedAbort, { once: true });
      // Urgent: behind the urgent jobs already waiting, ahead of every ordinary one.
      const firstOrdinary = job.urgent ? queue.findIndex((queued) => !queued.urgent) : -1;
      if (firstOrdinary < 0) queue.push(job);
      else queue.splice(firstOrdinary, 0, job);
      pump();
    });
  }

  return {
    description: `virsh session -c ${options.uri}`,
    get pid() {
      return running?.process.pid ?? null;
    },
    runBatch,
    run: async (args, runOptions) => {
      const [item] = await runBatch([args], runOptions);
      if (item === undefined) throw new Error('virsh session returned no result');
      if (!item.ok) throw item.error;
      return item.result;
    },
    close: async () => {
      if (isClosed) return;
      isClosed = true;
      for (const job of queue.splice(0)) {
        job.resolve(
          failAll(job.commands, { kind: 'connection', message: 'virsh session closed before the command ran' }),
        );
      }
      const state = running;
      if (state === null) return;
      // Let virsh finish what it was given and exit at EOF; kill it if it does not.
      await new Promise<void>((resolve) => {
        const killTimer = setTimeout(() => state.process.kill(), killGraceMs);
        state.onGone.push(() => {
          clearTimeout(killTimer);
          resolve();
        });
        state.process.end();
      });
    },
  };
}
