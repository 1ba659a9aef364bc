import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tiedToThisProcess } from './tied-spawn';

const originalPath = process.env.PATH;
const dirs: string[] = [];
afterEach(async () => {
  process.env.PATH = originalPath;
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('tiedToThisProcess', () => {
  it('wraps a program found on PATH in setpriv, by its full path', () => {
    const tied = tiedToThisProcess('virsh', ['-c', 'test:///default']);
    expect(tied.file).toMatch(/\/setpriv$/);
    expect(tied.argv).toEqual([
      '--pdeathsig',
      'KILL',
      '--',
      expect.stringMatching(/\/virsh$/),
      '-c',
      'test:///default',
    ]);
  });

  it('finds a program installed after a lookup missed it, and follows a changed PATH', async () => {
    const first = await mkdtemp(path.join(tmpdir(), 'ferry-path-'));
    const second = await mkdtemp(path.join(tmpdir(), 'ferry-path-'));
    dirs.push(first, second);
    const name = `ferry-tie-probe-${process.pid}`;
    process.env.PATH = `${first}${path.delimiter}${originalPath}`;
    // Missing: left as it is, so spawn reports the missing program itself.
    expect(tiedToThisProcess(name, ['x'])).toEqual({ file: name, argv: ['x'] });

    await writeFile(path.join(first, name), '#!/bin/sh\n');
    await chmod(path.join(first, name), 0o755);
    expect(tiedToThisProcess(name, ['x']).argv).toEqual(['--pdeathsig', 'KILL', '--', path.join(first, name), 'x']);

    await writeFile(path.join(second, name), '#!/bin/sh\n');
    await chmod(path.join(second, name), 0o755);
    process.env.PATH = `${second}${path.delimiter}${first}`;
    expect(tiedToThisProcess(name, ['x']).argv[3]).toBe(path.join(second, name));
  });
});
