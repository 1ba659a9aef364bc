import { VirshError, type Executor } from '../../hypervisor/executor';
import { createDomainEventParser, type DomainEvent } from '../../libvirt/parsers/domain-event';
import { parseVersion } from '../../libvirt/parsers/version';
import { VERSION_DAEMON_ARGS } from '../virsh-commands';

/**
 * One host's `virsh event --all --loop --timestamp`, kept running: connect (`version --daemon`, which also gives
 * the host's libvirt version), start the event loop, and once it has had `settleMs` to register its callbacks say
 * "live" and ask for a full re-list (events before that moment, or in any gap, are lost). Every event goes to
 * onEvent. When the loop ends, fails, or virsh reports the connection gone, the stream says "reconnecting since
 * <first failure>" and tries again after a backoff that doubles up to maxBackoffMs.
 *
 * virsh 9.0 does not end `event --loop` when libvirtd goes away; it prints
 *     error: Disconnected from qemu:///system due to end of file
 * and waits forever, so that line on stderr ends the attempt.
 */

export const EVENT_LOOP_ARGS: readonly string[] = ['event', '--all', '--loop', '--timestamp'];

const DISCONNECTED = /Disconnected from .* due to|failed to connect to the hypervisor|End of file while reading/;

export type StreamState =
  | { kind: 'connecting'; since: Date }
  | { kind: 'live'; since: Date }
  | { kind: 'reconnecting'; since: Date; lastError: string; attempt: number }
  | { kind: 'unavailable'; reason: string }
  | { kind: 'stopped' };

export type HostStreamOptions = {
  /** The host's executor, asked again on every attempt (an edited host gets a new one). */
  executor: () => Executor;
  onEvent: (event: DomainEvent) => void;
  /** Called after every (re)connect, once the event loop is listening: re-read the whole host. */
  onConnected: (info: { libvirtVersion: string }) => void;
  onState: (state: StreamState) => void;
  /** Turns a failure into one line safe to show (no key paths); the caller knows the host's URI. */
  describeError: (error: unknown) => string;
  settleMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  now?: () => Date;
};

export type HostStream = {
  readonly state: StreamState;
  /** Stops the event loop (its virsh is killed) and every retry; resolves when the loop has ended. */
  stop(): Promise<void>;
  /** Ends the current attempt and reconnects at once (the host was edited, or the caller saw it fail). */
  restart(): void;
};

export const DEFAULT_SETTLE_MS = 300;
export const DEFAULT_MIN_BACKOFF_MS = 500;
export const DEFAULT_MAX_BACKOFF_MS = 30_000;

/** The wait before attempt `attempt` (1 = first retry): doubling from min to max, with up to 20 % jitter down. */
export function backoffMs(attempt: number, minMs: number, maxMs: number, random = Math.random): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (1 - 0.2 * random()));
}

class DisconnectedError extends Error {}

export function startHostStream(options: HostStreamOptions): HostStream {
  const now = options.now ?? (() => new Date());
  const settleMs = options.settleMs ?? DEFAULT_SETTLE_MS;
  const minBackoffMs = options.minBackoffMs ?? DEFAULT_MIN_BACKOFF_MS;
  const maxBackoffMs = options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;

  let state: StreamState = { kind: 'connecting', since: now() };
  let stopped = false;
  let attemptController: AbortController | null = null;
  let wakeBackoff: (() => void) | null = null;

  const setState = (next: StreamState) => {
    state = next;
    options.onState(next);
  };
  options.onState(state);

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeBackoff = null;
        resolve();
      }
      wakeBackoff = done;
    });

  /** One connection: resolves or rejects when it is over (never resolves while it is healthy). */
  async function attempt(signal: AbortSignal): Promise<void> {
    const executor = options.executor();
    const { stdout } = await executor.run(VERSION_DAEMON_ARGS, { signal });
    const version = parseVersion(stdout);
    const parser = createDomainEventParser();
    let flushTimer: NodeJS.Timeout | undefined;
    let disconnected: ((error: Error) => void) | null = null;
    const lost = new Promise<never>((_, reject) => {
      disconnected = reject;
    });
    lost.catch(() => {});
    const emit = (events: DomainEvent[]) => events.forEach((event) => options.onEvent(event));
    const loop = executor.run(EVENT_LOOP_ARGS, {
      signal,
      timeoutMs: Infinity,
      onStdout: (chunk) => {
        emit(parser.push(chunk));
        clearTimeout(flushTimer);
        // virsh writes a multi-line event in one write; a quiet moment after it means it is complete.
        if (parser.hasPending) flushTimer = setTimeout(() => emit(parser.flush()), 20);
      },
      onStderr: (chunk) => {
        if (DISCONNECTED.test(chunk)) disconnected?.(new DisconnectedError(chunk.trim()));
      },
    });
    loop.catch(() => {});
    try {
      const settled = await Promise.race([
        loop.then(() => 'ended' as const),
        lost,
        new Promise<'settled'>((resolve) => setTimeout(() => resolve('settled'), settleMs)),
      ]);
      if (settled === 'ended') throw new DisconnectedError('the event loop ended by itself');
      setState({ kind: 'live', since: now() });
      options.onConnected({ libvirtVersion: version.daemonVersion ?? version.libraryVersion });
      await Promise.race([loop, lost]);
      throw new DisconnectedError('the event loop ended by itself');
    } finally {
      clearTimeout(flushTimer);
    }
  }

  async function run() {
    let failures = 0;
    let failingSince: Date | null = null;
    while (!stopped) {
      const controller = new AbortController();
      attemptController = controller;
      try {
        await attempt(controller.signal);
      } catch (error) {
        if (stopped) break;
        const wasLive = state.kind === 'live';
        if (wasLive || failingSince === null) failingSince = now();
        failures = wasLive ? 1 : failures + 1;
        const message =
          error instanceof VirshError && error.kind === 'aborted' ? 'restarted' : options.describeError(error);
        setState({ kind: 'reconnecting', since: failingSince, lastError: message, attempt: failures });
      } finally {
        // Whatever ended the attempt, its virsh must not stay behind.
        controller.abort();
        attemptController = null;
      }
      if (stopped) break;
      await sleep(backoffMs(failures, minBackoffMs, maxBackoffMs));
    }
    setState({ kind: 'stopped' });
  }

  const running = run();

  return {
    get state() {
      return state;
    },
    async stop() {
      stopped = true;
      attemptController?.abort();
      wakeBackoff?.();
      await running;
    },
    restart() {
      attemptController?.abort();
      wakeBackoff?.();
    },
  };
}

/** A stream that will never run (the test driver keeps its state per process, so no event could arrive). */
export function unavailableStream(reason: string, onState: (state: StreamState) => void): HostStream {
  const state: StreamState = { kind: 'unavailable', reason };
  onState(state);
  return { state, stop: async () => {}, restart: () => {} };
}
