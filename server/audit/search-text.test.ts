import { describe, expect, it } from 'vitest';
import { toFtsMatchExpression } from './search-text';

describe('toFtsMatchExpression', () => {
  it('quotes every word as a phrase, the last one a prefix, so punctuation is never query syntax', () => {
    expect(toFtsMatchExpression('Permission den')).toBe('"Permission" "den"*');
    expect(toFtsMatchExpression('vm-42 AND OR NEAR(')).toBe('"vm-42" "AND" "OR" "NEAR("*');
    expect(toFtsMatchExpression('say "hi there"')).toBe('"say" """hi" "there"""*');
  });

  it('does not make a one- or two-character last token a prefix', () => {
    expect(toFtsMatchExpression('10.30.0.17')).toBe('"10.30.0.17"');
    expect(toFtsMatchExpression('migration to hv')).toBe('"migration" "to" "hv"');
  });

  it('returns null when nothing searchable is left', () => {
    expect(toFtsMatchExpression('  -- ** ')).toBeNull();
    expect(toFtsMatchExpression('')).toBeNull();
  });
});
