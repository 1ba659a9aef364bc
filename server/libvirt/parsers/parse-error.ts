/**
 * virsh printed something a parser does not understand. Carries the command and the offending line (with
 * its 1-based number) so the error an admin sees points at the exact text, not just "parse failed".
 */
export class ParseError extends Error {
  readonly command: string;
  readonly line: string | null;
  readonly lineNumber: number | null;

  constructor(options: {
    command: string;
    reason: string;
    line?: string | null;
    lineNumber?: number | null;
    cause?: unknown;
  }) {
    const where = options.lineNumber != null ? ` at line ${options.lineNumber}` : '';
    const text = options.line != null ? `: ${JSON.stringify(options.line)}` : '';
    super(`could not parse \`virsh ${options.command}\` output: ${options.reason}${where}${text}`, {
      cause: options.cause,
    });
    this.name = 'ParseError';
    this.command = options.command;
    this.line = options.line ?? null;
    this.lineNumber = options.lineNumber ?? null;
  }
}
