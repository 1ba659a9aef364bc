import { describe, expect, it } from 'vitest';
import { plural, pluralWord } from './plural';

describe('plural', () => {
  it('uses the singular for exactly one and the plural for everything else', () => {
    expect(plural(1, 'VM')).toBe('1 VM');
    expect(plural(0, 'VM')).toBe('0 VMs');
    expect(plural(2, 'disk')).toBe('2 disks');
    expect(plural(1.5, 'day')).toBe('1.5 days');
  });

  it('takes an irregular plural', () => {
    expect(plural(1, 'alias', 'aliases')).toBe('1 alias');
    expect(plural(3, 'alias', 'aliases')).toBe('3 aliases');
  });

  it('groups thousands the same way on the server and in the browser', () => {
    expect(plural(1024, 'row')).toBe('1,024 rows');
  });

  it('gives the noun alone when the number is shown elsewhere', () => {
    expect(pluralWord(1, 'migration')).toBe('migration');
    expect(pluralWord(7, 'migration')).toBe('migrations');
  });
});
