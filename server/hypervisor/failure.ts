import { displayLibvirtUri, parseLibvirtUri } from '../libvirt/uri';
import { hasNul } from '../libvirt/text-checks';
import { NO_SUCH_DOMAIN_PATTERN } from '../libvirt/virsh-errors';
import { VirshError, type VirshErrorKind } from './executor';

/**
 * Renders an argv for a log line or an error message: plain words stay bare, anything else is shown as a
 * JSON string so a hostile VM name (newlines, escape sequences) cannot forge extra log lines.
 */
export function formatArgv(argv: readonly string[]): string {
  return argv
    .map((arg, index) => (argv[index - 1] === '-c' || argv[index - 1] === '--desturi' ? redactUri(arg) : arg))
    .map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : JSON.stringify(arg)))
    .join(' ');
}

/** Error messages reach the browser: a connection URI in them shows no key file or socket path. */
function redactUri(text: string): string {
  const parsed = parseLibvirtUri(text);
  return parsed.ok ? displayLibvirtUri(parsed.uri) : text.replace(/\?.*$/, '?…');
}

/**
 * The text an admin most needs, on one line. virsh reports a failure as a context line plus the cause:
 * `error: Failed to start domain 'web1'` then `error: Requested operation is not valid: domain is already running`.
 */
export function summarizeStderr(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const errorLines = lines.filter((line) => line.startsWith('error: ')).map((line) => line.slice('error: '.length));
  return errorLines.length > 0 ? errorLines.join(': ') : (lines[0] ?? '');
}

export function exitFailure(options: {
  argv: readonly string[];
  exitCode: number | null;
  signal?: string | null;
  stdout: string;
  stderr: string;
}): VirshError {
  const how =
    options.exitCode === null ? `was killed by ${options.signal ?? 'a signal'}` : `exited with ${options.exitCode}`;
  const summary = summarizeStderr(options.stderr);
  return new VirshError({
    kind: 'exit',
    message: `${formatArgv(options.argv)} ${how}${summary ? `: ${summary}` : ''}`,
    argv: options.argv,
    exitCode: options.exitCode,
    stdout: options.stdout,
    stderr: options.stderr,
  });
}

export function plainFailure(options: {
  kind: VirshErrorKind;
  argv: readonly string[];
  message: string;
  exitCode?: number | null;
  stdout?: string;
  stderr?: string;
  cause?: unknown;
}): VirshError {
  return new VirshError({
    kind: options.kind,
    message: `${formatArgv(options.argv)}: ${options.message}`,
    argv: options.argv,
    exitCode: options.exitCode,
    stdout: options.stdout,
    stderr: options.stderr,
    cause: options.cause,
  });
}

/** argv travels to execve or a remote shell as C strings; say which argument is unusable instead of truncating it. */
export function findUnsendableArgument(argv: readonly string[]): string | null {
  for (const [index, arg] of argv.entries()) {
    if (hasNul(arg)) return `argument ${index} contains a NUL byte`;
    if (!arg.isWellFormed()) return `argument ${index} is not well-formed Unicode (lone surrogate)`;
  }
  return null;
}

/** A command that failed because the domain it named does not exist (any more); not a timeout or a lost host. */
export function isNoSuchDomain(error: unknown): error is VirshError {
  return error instanceof VirshError && error.kind === 'exit' && NO_SUCH_DOMAIN_PATTERN.test(error.stderr);
}
