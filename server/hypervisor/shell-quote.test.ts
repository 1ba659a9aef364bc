import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { quoteForPosixShell } from './shell-quote';

const HOSTILE_ARGS = [
  '; rm -rf /',
  '$(id)',
  '`id`',
  '${HOME}',
  'line1\nline2',
  '\r\n',
  "it's",
  "''",
  "'\\''",
  '"double" "quotes"',
  '--option',
  '--help',
  '-c',
  '',
  ' ',
  '\t',
  'a b\tc',
  '*',
  '~root',
  '!!',
  '#comment',
  '\\',
  '\\n',
  '>out <in | cat & bg',
  'héllo wörld 日本語 🚀',
  '\u001b[31mred\u001b[0m',
];

/** Runs `printf '%s\0' args…` through a real shell from a quoted command line and returns what arrived. */
function roundTrip(shell: string, args: readonly string[]): string[] {
  const commandLine = quoteForPosixShell(['printf', '%s\\0', ...args]);
  const result = spawnSync(shell, ['-c', commandLine], { encoding: 'buffer' });
  expect(result.status, result.stderr.toString()).toBe(0);
  const parts = result.stdout.toString('utf8').split('\0');
  // printf's output ends with a NUL, so the last split element is always empty.
  expect(parts.pop()).toBe('');
  return parts;
}

describe('quoteForPosixShell', () => {
  for (const shell of ['/bin/sh', '/bin/bash']) {
    it(`delivers hostile arguments byte-identical through ${shell} -c`, () => {
      expect(roundTrip(shell, HOSTILE_ARGS)).toEqual(HOSTILE_ARGS);
    });

    it(`delivers each hostile argument on its own through ${shell} -c`, () => {
      for (const arg of HOSTILE_ARGS) expect(roundTrip(shell, [arg])).toEqual([arg]);
    });
  }

  it('never runs the payload of a command substitution', () => {
    const commandLine = quoteForPosixShell(['echo', '$(echo INJECTED)', '`echo INJECTED`', '; echo INJECTED']);
    const result = spawnSync('/bin/sh', ['-c', commandLine], { encoding: 'utf8' });
    expect(result.stdout).toBe('$(echo INJECTED) `echo INJECTED` ; echo INJECTED\n');
  });

  it('quotes every argument, including plain ones, in single quotes', () => {
    expect(quoteForPosixShell(['virsh', '-c', 'qemu:///system', "it's"])).toBe(
      `'virsh' '-c' 'qemu:///system' 'it'\\''s'`,
    );
  });

  it('rejects NUL bytes, lone surrogates and an empty argv', () => {
    expect(() => quoteForPosixShell(['virsh', 'a\0b'])).toThrow(/argument 1 contains a NUL byte/);
    expect(() => quoteForPosixShell(['virsh', 'a\uD800b'])).toThrow(/not well-formed Unicode/);
    expect(() => quoteForPosixShell([])).toThrow(/empty argv/);
  });
});
