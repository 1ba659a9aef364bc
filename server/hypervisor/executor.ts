import { countVirshError } from '../observability/metrics';

/**
 * The one interface through which Ferry talks to a hypervisor. Every implementation takes virsh arguments
 * as an argv array (never a shell string) and runs `virsh -c <uri> <args…>` somewhere: on the Ferry box
 * (local), or on the hypervisor itself through a pooled SSH connection (ssh).
 */
export type RunOptions = {
  /** Hard time limit for this command; on expiry the command is killed and a VirshError(kind 'timeout') thrown. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * A step something waits on (a claimed migration's preflight, its verification): where commands to a host queue
   * (the session executor's one interactive virsh), it goes ahead of the ordinary ones queued before it (inventory
   * refreshes, progress polls, clean-up), after other urgent ones. Nothing else changes.
   */
  urgent?: boolean;
  /**
   * Streaming callbacks, called with raw chunks as they arrive (virsh migrate --verbose writes `\r` progress to
   * stderr).
   */
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
};

export type RunResult = {
  stdout: string;
  stderr: string;
  exitCode: number;
};

export type VirshErrorKind = 'exit' | 'timeout' | 'aborted' | 'spawn' | 'connection' | 'host-key';

/** A failed virsh run, carrying what an admin needs to see: the argv, the exit code and stderr. */
export class VirshError extends Error {
  readonly kind: VirshErrorKind;
  readonly argv: readonly string[];
  readonly exitCode: number | null;
  readonly stderr: string;
  readonly stdout: string;

  constructor(options: {
    kind: VirshErrorKind;
    message: string;
    argv: readonly string[];
    exitCode?: number | null;
    stderr?: string;
    stdout?: string;
    cause?: unknown;
  }) {
    super(options.message, { cause: options.cause });
    // Every failed virsh run becomes exactly one VirshError, so counting here counts each failure once.
    countVirshError(options.kind);
    this.name = 'VirshError';
    this.kind = options.kind;
    this.argv = options.argv;
    this.exitCode = options.exitCode ?? null;
    this.stderr = options.stderr ?? '';
    this.stdout = options.stdout ?? '';
  }

  /**
   * Next.js bundles server code more than once (instrumentation, each route), so one process can hold two
   * copies of this class; an executor made by one copy must still be recognised by the other.
   */
  static [Symbol.hasInstance](value: unknown): boolean {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as { name?: unknown }).name === 'VirshError' &&
      Array.isArray((value as { argv?: unknown }).argv)
    );
  }
}

/**
 * The executor an admin picks for a host (stored in Host.executorKind): `local` runs virsh on the Ferry box
 * (served by a long-lived virsh session, see pool.ts), `ssh` runs it on the host over Ferry's pooled ssh2 connection.
 */
export const EXECUTOR_KINDS = ['local', 'ssh'] as const;
export type ExecutorKind = (typeof EXECUTOR_KINDS)[number];

export type Executor = {
  /** Human description for logs and errors, never containing secrets (e.g. "local virsh -c qemu+ssh://root@hv1/system"). */
  readonly description: string;
  /**
   * Runs `virsh <args>` against this executor's host. Resolves with exit code 0 only; any other exit code,
   * a timeout, an abort or a transport failure rejects with a VirshError.
   */
  run(args: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Releases pooled connections / long-lived sessions. Safe to call twice. */
  close(): Promise<void>;
};

/** Hands out the executor of a registered host (the process-wide pool, or a test's own). */
export type ExecutorSource = {
  get(host: { id: string; uri: string; executorKind: string; pinnedFingerprint: string | null }): Executor;
};
