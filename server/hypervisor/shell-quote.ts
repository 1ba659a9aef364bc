import { hasNul } from '../libvirt/text-checks';
/**
 * Quoting for the one place a shell is unavoidable: an SSH `exec` request carries a single command string,
 * which sshd hands to the remote user's login shell (`$SHELL -c <string>`). Everything else in Ferry passes
 * argv arrays straight to `spawn`.
 */

/**
 * Quotes an argv so that a POSIX shell (sh, dash, bash, zsh in sh mode) splits it back into exactly these
 * arguments, byte for byte. Every argument is single-quoted, because inside single quotes a POSIX shell
 * expands nothing (`$`, backticks, `\`, `!`, globs, newlines are all literal); the only character that cannot
 * appear there is `'` itself, written as `'\''` (close quote, escaped quote, reopen).
 *
 * NUL is rejected: it cannot travel in a C string, so the remote side would silently truncate the argument.
 * A lone surrogate is rejected for the same reason: it cannot become the UTF-8 bytes the caller meant.
 */
export function quoteForPosixShell(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('quoteForPosixShell: refusing to quote an empty argv');
  return argv.map(quoteOne).join(' ');
}

function quoteOne(arg: string, index: number): string {
  if (hasNul(arg)) {
    throw new Error(`quoteForPosixShell: argument ${index} contains a NUL byte, which a command line cannot carry`);
  }
  // A lone UTF-16 surrogate would be encoded as U+FFFD on the wire, so the remote side would get other bytes.
  if (!arg.isWellFormed()) {
    throw new Error(`quoteForPosixShell: argument ${index} is not well-formed Unicode (lone surrogate)`);
  }
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}
