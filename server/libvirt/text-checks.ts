/**
 * The character rules for text that becomes a name, a log line or an argument, named once: the host and
 * migration services' input checks and the executors' argv checks use them. PURE: no I/O.
 */

// eslint-disable-next-line no-control-regex
const C0_OR_DEL = /[\u0000-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex
const C0_DEL_OR_C1 = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * The first control character in `text` (C0 or DEL; with `includeC1`, also U+0080–U+009F), or null. A one-line
 * name (VM, display name) must hold none: a newline or an escape sequence in it forges log lines or screen text.
 */
export function findControlCharacter(text: string, options: { includeC1?: boolean } = {}): string | null {
  return (options.includeC1 ? C0_DEL_OR_C1 : C0_OR_DEL).exec(text)?.[0] ?? null;
}

export function hasControlCharacter(text: string): boolean {
  return findControlCharacter(text) !== null;
}

/** argv travels as C strings: a NUL would silently cut the value short on the other side. */
export function hasNul(text: string): boolean {
  return text.includes('\0');
}
