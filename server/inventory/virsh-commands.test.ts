import { describe, expect, it } from 'vitest';
import { domblkinfoAllArgs, domblklistDetailsArgs, dominfoArgs } from './virsh-commands';

describe('per-domain argv builders', () => {
  it('always pass the domain as the value of --domain, whatever it looks like', () => {
    for (const name of ['--help', '-c', '$(id)', 'a b', '--domain', 'x\ny']) {
      expect(dominfoArgs(name)).toEqual(['dominfo', '--domain', name]);
      expect(domblklistDetailsArgs(name).slice(-2)).toEqual(['--domain', name]);
      expect(domblkinfoAllArgs(name).slice(-2)).toEqual(['--domain', name]);
    }
  });

  it('refuse an empty domain and a NUL byte', () => {
    expect(() => dominfoArgs('')).toThrow(/must not be empty/);
    expect(() => domblkinfoAllArgs('a\0b')).toThrow(/NUL/);
  });
});
