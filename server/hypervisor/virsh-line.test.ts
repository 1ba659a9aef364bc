import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { findLineUnsafeArgument, quoteForVirshLine } from './virsh-line';

const HOSTILE_ARGS = [
  `a b'c"d;$(x)`,
  '; quit',
  'x; echo injected',
  '$(id)',
  '`id`',
  "it's",
  "''",
  '"',
  '\\',
  '\\\\n',
  'trailing\\',
  '#not a comment',
  '--help',
  '--',
  '',
  ' ',
  'a  b',
  'héllo 日本語 🚀',
  '!!',
  '*?[a]',
];

/**
 * Decodes what `echo --shell` printed: virsh leaves safe words bare and single-quotes the rest, writing a
 * quote as '\''. Decoding it here (rather than feeding it to sh) keeps a broken case from running anything.
 */
function decodeEchoShell(line: string): string[] {
  const words: string[] = [];
  let current: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!;
    if (char === ' ') {
      if (current !== null) words.push(current);
      current = null;
    } else if (char === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated quote in ${JSON.stringify(line)}`);
      current = (current ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (char === '\\') {
      current = (current ?? '') + line[i + 1];
      i++;
    } else {
      current = (current ?? '') + char;
    }
  }
  if (current !== null) words.push(current);
  return words;
}

/** Feeds one quoted line to a real interactive virsh and returns the arguments its `echo` received. */
function echoThroughVirsh(args: readonly string[]): string[] {
  const line = quoteForVirshLine(['echo', '--shell', '--', ...args]);
  const result = spawnSync('virsh', ['-c', 'test:///default'], {
    input: `${line}\n`,
    encoding: 'utf8',
    env: { ...process.env, LC_ALL: 'C.UTF-8', TERM: 'dumb', INPUTRC: '/dev/null' },
  });
  expect(result.stderr).toBe('');
  // readline echoes the prompt and the line (scrolled with `\r<` when TERM=dumb and the line is long), then
  // `echo` prints its one line, then the final prompt and EOF.
  const lines = result.stdout.split('\n');
  const promptIndex = lines.findIndex((text) => text.startsWith('virsh # '));
  expect(promptIndex, result.stdout).toBeGreaterThan(0);
  // Anything else after the output would mean the line ran as two commands.
  expect(lines.slice(promptIndex + 2), result.stdout).toEqual(['virsh # ', '']);
  return decodeEchoShell(lines[promptIndex + 1]!);
}

describe('quoteForVirshLine', () => {
  it('delivers each hostile argument intact through the real virsh parser', () => {
    for (const arg of HOSTILE_ARGS) expect(echoThroughVirsh([arg])).toEqual([arg]);
  });

  it('keeps argument boundaries when all hostile arguments share one line', () => {
    expect(echoThroughVirsh(HOSTILE_ARGS)).toEqual(HOSTILE_ARGS);
  });

  it('single-quotes every argument', () => {
    expect(quoteForVirshLine(['dominfo', "it's"])).toBe(`'dominfo' 'it'\\''s'`);
  });

  it('rejects newline, NUL, tab, readline control keys and lone surrogates', () => {
    for (const bad of ['a\nb', 'a\rb', 'a\0b', 'a\tb', 'a\u0015b', 'a\u001bb', 'a\u007fb', 'a\u0085b']) {
      expect(() => quoteForVirshLine(['dominfo', bad])).toThrow(/argument 1 contains control character/);
    }
    expect(() => quoteForVirshLine(['dominfo', 'a\uDC00'])).toThrow(/lone surrogate/);
    expect(() => quoteForVirshLine([])).toThrow(/empty argv/);
    expect(findLineUnsafeArgument(['dominfo', 'ok'])).toBeNull();
  });
});
