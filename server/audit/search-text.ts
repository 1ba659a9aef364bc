/** A prefix of one or two characters ("10.30.0.1*") covers thousands of terms and narrows little. */
const PREFIX_MIN_LENGTH = 3;

/**
 * Turns what an admin types into the details search box into an FTS5 MATCH expression: every word must
 * appear, the last one as a prefix when it has 3 characters or more (search as you type: "permission den"
 * finds "Permission denied"). Only the last word: FTS5 without a prefix index reads every term a prefix
 * covers. Words are quoted as FTS5 strings so punctuation such as `-`, `:` or `"` is never query syntax:
 * "vm-42" becomes the phrase vm 42, "10.30.0.17" the phrase 10 30 0 17.
 * Returns null when nothing searchable is left (only punctuation), so the caller can say so.
 */
export function toFtsMatchExpression(text: string): string | null {
  const words = text
    .split(/\s+/)
    // FTS5's unicode61 tokenizer splits on anything that is not a letter or digit; a word without any of
    // those would be an empty phrase, which FTS5 rejects.
    .filter((word) => /[\p{L}\p{N}]/u.test(word));
  if (words.length === 0) return null;
  const lastToken =
    words
      .at(-1)
      ?.split(/[^\p{L}\p{N}]+/u)
      .filter(Boolean)
      .at(-1) ?? '';
  const isPrefix = lastToken.length >= PREFIX_MIN_LENGTH;
  return words
    .map((word, index) => `"${word.replaceAll('"', '""')}"${isPrefix && index === words.length - 1 ? '*' : ''}`)
    .join(' ');
}
