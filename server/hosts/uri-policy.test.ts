import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBoundedKeyfile } from '../hypervisor/keyfile';
import { parseLibvirtUri } from '../libvirt/uri';
import { judgeUri } from './uri-policy';

const root = mkdtempSync(path.join(tmpdir(), 'ferry-policy-'));
const keyDir = path.join(root, 'keys');
const testDriverDir = path.join(root, 'test-hosts');
const policy = { keyDir, testDriverDir, allowed: [] };

beforeAll(() => {
  mkdirSync(keyDir);
  mkdirSync(testDriverDir);
  writeFileSync(path.join(root, 'outside'), 'secret');
  writeFileSync(path.join(keyDir, 'id_ed25519'), 'key\n');
  writeFileSync(path.join(keyDir, 'huge'), Buffer.alloc(65 * 1024));
  symlinkSync('/dev/zero', path.join(keyDir, 'zero'));
  symlinkSync(path.join(root, 'outside'), path.join(keyDir, 'escape'));
  mkdirSync(path.join(keyDir, 'adir'));
  symlinkSync('/etc/passwd', path.join(testDriverDir, 'passwd.xml'));
  writeFileSync(path.join(testDriverDir, 'hv.xml'), '<node/>');
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

function judge(text: string) {
  const parsed = parseLibvirtUri(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return judgeUri(parsed.uri, policy);
}

describe('judgeUri checks the files a URI names on this machine', () => {
  it('accepts a small regular keyfile under the key directory', () => {
    expect(judge(`qemu+ssh://root@hv1/system?keyfile=${keyDir}/id_ed25519`)).toEqual({ ok: true, warnings: [] });
  });

  it.each([
    ['huge', /larger than 64 KiB/],
    ['zero', /under the key directory/],
    ['escape', /under the key directory/],
    ['adir', /not a regular file/],
    ['missing', /does not exist/],
  ])('refuses keyfile %s before anything reads it', (name, reason) => {
    const result = judge(`qemu+ssh://root@hv1/system?keyfile=${keyDir}/${name}`);
    expect(result).toMatchObject({ ok: false, error: expect.stringMatching(reason) });
    if (!result.ok) expect(result.error).not.toContain(root);
  });

  it('accepts a test-driver file under the directory and refuses a symlink out of it', () => {
    expect(judge(`test://${testDriverDir}/hv.xml`).ok).toBe(true);
    expect(judge(`test://${testDriverDir}/passwd.xml`)).toMatchObject({ ok: false });
  });
});

describe('readBoundedKeyfile', () => {
  it('reads a key and refuses a device, a symlink and an oversized file without buffering them', async () => {
    expect((await readBoundedKeyfile(path.join(keyDir, 'id_ed25519'))).toString()).toBe('key\n');
    await expect(readBoundedKeyfile('/dev/zero')).rejects.toThrow(/not a regular file/);
    await expect(readBoundedKeyfile(path.join(keyDir, 'zero'))).rejects.toThrow();
    await expect(readBoundedKeyfile(path.join(keyDir, 'huge'))).rejects.toThrow(/larger than/);
  });
});
