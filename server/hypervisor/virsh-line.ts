import { findControlCharacter } from '../libvirt/text-checks';

/**
 * Quoting for virsh's interactive mode, where a command is one line of text that virsh splits itself
 * (vshCommandStringGetArg in libvirt's tools/vsh.c): blanks and `;` end a token, a token starting with `#`
 * starts a comment, `'…'` is literal, `"…"` and a bare `\` escape the next character.
 */

/**
 * Characters that never reach virsh's parser intact: virsh reads its line through GNU readline even from a
 * pipe, and readline acts on control keys. Measured on libvirt 9.0: `echo abc\x15echo def` ran `echo def`
 * (^U killed the line) and a tab triggered completion. NUL and newline would end the string or the command.
 * C1 controls are excluded too, so a future readline treating them as meta keys cannot bite.
 */

/** Returns why an argv cannot travel as one interactive virsh line, or null when it can. */
export function findLineUnsafeArgument(argv: readonly string[]): string | null {
  for (const [index, arg] of argv.entries()) {
    const unsafe = findControlCharacter(arg, { includeC1: true });
    if (unsafe !== null) {
      const code = unsafe.charCodeAt(0).toString(16).padStart(2, '0');
      return `argument ${index} contains control character U+00${code.toUpperCase()}, which readline would act on`;
    }
    if (!arg.isWellFormed()) return `argument ${index} is not well-formed Unicode (lone surrogate)`;
  }
  return null;
}

/**
 * Quotes an argv as one line for virsh's interactive parser, so virsh sees exactly these arguments: each one
 * is single-quoted (nothing inside is special to vsh.c), a `'` is written `'\''` (close, backslash-escaped
 * quote, reopen). Quoting also keeps `;` from starting a second command and `#` from starting a comment.
 * Arguments that begin with `--` are still options to virsh, exactly as on its command line; callers pass
 * `--domain <name>` or `-- <name>` for names that could look like options.
 *
 * Throws on control characters (see findLineUnsafeArgument); callers that must send such an argument use a one-shot
 * process, which takes argv directly.
 */
export function quoteForVirshLine(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('quoteForVirshLine: refusing to quote an empty argv');
  const problem = findLineUnsafeArgument(argv);
  if (problem !== null) throw new Error(`quoteForVirshLine: ${problem}`);
  return argv.map((arg) => `'${arg.replaceAll("'", `'\\''`)}'`).join(' ');
}
