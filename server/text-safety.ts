import { findControlCharacter } from './libvirt/text-checks';

/**
 * Characters that make text lie about itself. Pure: the browser's forms and the server share it.
 * - Bidi controls reorder what is shown ("evil\u202Egnp.exe" displays as "evilexe.png").
 * - Zero-width characters make two different names look identical.
 * - C0/C1 controls (incl. NUL) and lone surrogates cannot be stored or sent as UTF-8 text.
 */
const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;
const ZERO_WIDTH = /[\u180E\u200B-\u200D\u2060-\u2064\uFEFF]/u;

/** One sentence naming what is wrong with `text` for a field called `label`, or null when it is fine. */
export function describeUnsafeText(text: string, label: string): string | null {
  if (!text.isWellFormed()) return `${label} contains a broken Unicode character (a lone surrogate).`;
  if (text.includes('\u0000')) return `${label} contains a NUL character.`;
  if (findControlCharacter(text, { includeC1: true }) !== null) return `${label} contains control characters.`;
  if (BIDI_CONTROLS.test(text)) return `${label} contains a text-direction override, which can disguise it.`;
  if (ZERO_WIDTH.test(text)) return `${label} contains an invisible zero-width character, which can disguise it.`;
  return null;
}

/** What no input string anywhere may carry: SQLite and argv cannot hold a NUL, UTF-8 cannot hold a lone surrogate. */
export function describeUnsendableText(text: string): string | null {
  if (!text.isWellFormed()) return 'contains a broken Unicode character (a lone surrogate)';
  if (text.includes('\u0000')) return 'contains a NUL character';
  return null;
}
