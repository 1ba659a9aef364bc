/** The exit codes the README documents; scripts branch on them. */
export const EXIT = {
  ok: 0,
  /** Ferry refused (unknown key, role, preflight failed) or the thing itself failed (migration failed). */
  failed: 1,
  /** The command line was wrong, or there is no key to sign with. */
  usage: 2,
  /** Ferry could not be reached (connection refused, DNS, timeout, a proxy's 502/503/504). */
  unreachable: 3,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An expected failure: one line (or a few) for stderr, and the exit code. Never printed with a stack. */
export class CliError extends Error {
  readonly exitCode: ExitCode;

  constructor(exitCode: ExitCode, message: string) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}
