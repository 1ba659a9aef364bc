import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { OpenSSHAgent } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiNamespace, sshString, sshsigBlob, sshsigSignedData } from './protocol';
import { parseSshsig, SshsigFormatError, unarmorSshsig, verifierKeyFromLine, verifySshsig } from './sshsig';
import { cryptoSigner, keygenSigner } from './testing';

/**
 * Signatures made by the real `ssh-keygen -Y sign` (OpenSSH 9.2 here) for every key type Ferry accepts, and an
 * rsa-sha2-256 one made by a real ssh-agent (ssh-keygen itself always asks for rsa-sha2-512).
 */
const NAMESPACE = apiNamespace('test');
const MESSAGE = 'ferry-api-v1\nGET\n/api/trpc/host.list\ne3b0c442\n1764705600\nAAAAAAAAAAAAAAAAAAAAAA\nSHA256:x';
const KEY_TYPES = [
  { name: 'ed25519', args: ['-t', 'ed25519'], format: 'ssh-ed25519' },
  { name: 'ecdsa-256', args: ['-t', 'ecdsa', '-b', '256'], format: 'ecdsa-sha2-nistp256' },
  { name: 'ecdsa-384', args: ['-t', 'ecdsa', '-b', '384'], format: 'ecdsa-sha2-nistp384' },
  { name: 'ecdsa-521', args: ['-t', 'ecdsa', '-b', '521'], format: 'ecdsa-sha2-nistp521' },
  { name: 'rsa-3072', args: ['-t', 'rsa', '-b', '3072'], format: 'rsa-sha2-512' },
] as const;

const dir = mkdtempSync(path.join(tmpdir(), 'ferry-sshsig-test-'));
const keyPath = (name: string) => path.join(dir, name);
const publicLine = (name: string) => readFileSync(`${keyPath(name)}.pub`, 'utf8');

beforeAll(() => {
  for (const { name, args } of KEY_TYPES) {
    execFileSync('ssh-keygen', ['-q', ...args, '-N', '', '-C', `${name}@test`, '-f', keyPath(name)]);
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(KEY_TYPES)('a real ssh-keygen -Y sign signature, $name', ({ name, format }) => {
  it('verifies, with either SSHSIG hash, and states the expected signature format', () => {
    const key = verifierKeyFromLine(publicLine(name));
    for (const hashAlgorithm of ['sha512', 'sha256'] as const) {
      const blob = keygenSigner(keyPath(name)).signSshsig({ namespace: NAMESPACE, message: MESSAGE, hashAlgorithm });
      const parsed = parseSshsig(blob);
      expect(parsed.hashAlgorithm).toBe(hashAlgorithm);
      expect(parsed.signatureFormat).toBe(format);
      expect(parsed.namespace).toBe(NAMESPACE);
      expect(verifySshsig({ blob, message: MESSAGE, namespace: NAMESPACE, key })).toBe('ok');
    }
  });

  it('does not verify a changed message, another namespace, or another key', () => {
    const key = verifierKeyFromLine(publicLine(name));
    const blob = keygenSigner(keyPath(name)).signSshsig({ namespace: NAMESPACE, message: MESSAGE });
    expect(verifySshsig({ blob, message: `${MESSAGE}x`, namespace: NAMESPACE, key })).toBe('bad-signature');
    expect(verifySshsig({ blob, message: MESSAGE, namespace: apiNamespace('other'), key })).toBe('wrong-namespace');
    const other = KEY_TYPES.find((candidate) => candidate.name !== name)?.name ?? '';
    const otherKey = verifierKeyFromLine(publicLine(other));
    expect(verifySshsig({ blob, message: MESSAGE, namespace: NAMESPACE, key: otherKey })).toBe('wrong-key');
  });

  it('does not verify a signature made for another namespace whose blob was relabelled', () => {
    const key = verifierKeyFromLine(publicLine(name));
    const foreign = parseSshsig(
      keygenSigner(keyPath(name)).signSshsig({ namespace: 'git', message: MESSAGE, hashAlgorithm: 'sha512' }),
    );
    const relabelled = sshsigBlob({
      publicKey: foreign.publicKey,
      namespace: NAMESPACE,
      hashAlgorithm: foreign.hashAlgorithm,
      signature: Buffer.concat([sshString(foreign.signatureFormat), sshString(foreign.signature)]),
    });
    expect(verifySshsig({ blob: relabelled, message: MESSAGE, namespace: NAMESPACE, key })).toBe('bad-signature');
  });

  it('agrees with ssh-keygen -Y verify about the same blob', () => {
    // The in-process signer makes blobs OpenSSH accepts too: the CLI's tests may lean on it.
    const signer = cryptoSigner(readFileSync(keyPath(name), 'utf8'));
    const blob = signer.signSshsig({ namespace: NAMESPACE, message: MESSAGE });
    const armored = `-----BEGIN SSH SIGNATURE-----\n${blob.toString('base64')}\n-----END SSH SIGNATURE-----\n`;
    const sigFile = path.join(dir, `${name}.sig`);
    const allowed = path.join(dir, `${name}.allowed`);
    writeFileSync(sigFile, armored);
    writeFileSync(allowed, `me ${publicLine(name)}`);
    const output = execFileSync(
      'ssh-keygen',
      ['-Y', 'verify', '-f', allowed, '-I', 'me', '-n', NAMESPACE, '-s', sigFile],
      { input: MESSAGE, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] },
    );
    expect(output).toMatch(/Good "ferry-api@test" signature for me/);
    expect(
      verifySshsig({ blob, message: MESSAGE, namespace: NAMESPACE, key: verifierKeyFromLine(signer.publicKeyLine) }),
    ).toBe('ok');
  });
});

describe('RSA signature formats', () => {
  let agent: ChildProcess | null = null;
  const socket = path.join(dir, 'agent.sock');

  afterAll(() => {
    agent?.kill();
  });

  it('accepts rsa-sha2-256 made by a real ssh-agent (SSH_AGENT_RSA_SHA2_256)', async () => {
    agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    for (let tries = 0; tries < 100 && !existsSync(socket); tries += 1) await new Promise((r) => setTimeout(r, 20));
    execFileSync('ssh-add', ['-q', keyPath('rsa-3072')], { env: { ...process.env, SSH_AUTH_SOCK: socket } });
    const line = publicLine('rsa-3072');
    const key = verifierKeyFromLine(line);
    const digest = createHash('sha512').update(MESSAGE).digest();
    const data = sshsigSignedData(NAMESPACE, 'sha512', digest);
    const client = new OpenSSHAgent(socket);
    const raw = await new Promise<Buffer>((resolve, reject) =>
      client.sign(key.wire, data, { hash: 'sha256' }, (error, signature) =>
        error || !signature ? reject(error ?? new Error('no signature')) : resolve(signature),
      ),
    );
    const signatureAs = (format: string) =>
      sshsigBlob({
        publicKey: key.wire,
        namespace: NAMESPACE,
        hashAlgorithm: 'sha512',
        signature: Buffer.concat([sshString(format), sshString(raw)]),
      });
    expect(verifySshsig({ blob: signatureAs('rsa-sha2-256'), message: MESSAGE, namespace: NAMESPACE, key })).toBe('ok');
    // The same bytes claimed as rsa-sha2-512 do not verify: the agent really hashed with SHA-256.
    expect(verifySshsig({ blob: signatureAs('rsa-sha2-512'), message: MESSAGE, namespace: NAMESPACE, key })).toBe(
      'bad-signature',
    );
  });

  it('refuses ssh-rsa (SHA-1) signatures, even valid ones', () => {
    const key = verifierKeyFromLine(publicLine('rsa-3072'));
    const pem = readFileSync(keyPath('rsa-3072'), 'utf8');
    const signer = cryptoSigner(pem, { rsaHash: 'sha256' });
    const blob = parseSshsig(signer.signSshsig({ namespace: NAMESPACE, message: MESSAGE }));
    expect(blob.signatureFormat).toBe('rsa-sha2-256');
    const sha1 = sshsigBlob({
      publicKey: blob.publicKey,
      namespace: NAMESPACE,
      hashAlgorithm: blob.hashAlgorithm,
      signature: Buffer.concat([sshString('ssh-rsa'), sshString(blob.signature)]),
    });
    expect(verifySshsig({ blob: sha1, message: MESSAGE, namespace: NAMESPACE, key })).toBe('sha1-rsa');
  });
});

describe('malformed blobs', () => {
  const blob = () => keygenSigner(keyPath('ed25519')).signSshsig({ namespace: NAMESPACE, message: MESSAGE });

  it.each([
    ['empty', () => Buffer.alloc(0)],
    ['wrong magic', () => Buffer.concat([Buffer.from('SSHSIX'), blob().subarray(6)])],
    ['version 2', () => Buffer.concat([blob().subarray(0, 6), Buffer.from([0, 0, 0, 2]), blob().subarray(10)])],
    ['truncated', () => blob().subarray(0, blob().length - 3)],
    ['trailing bytes', () => Buffer.concat([blob(), Buffer.from([0])])],
    ['a length past the end', () => Buffer.concat([blob().subarray(0, 10), Buffer.from([0xff, 0xff, 0xff, 0xff])])],
  ])('%s is malformed, not an exception', (_label, make) => {
    const key = verifierKeyFromLine(publicLine('ed25519'));
    expect(() => parseSshsig(make())).toThrow(SshsigFormatError);
    expect(verifySshsig({ blob: make(), message: MESSAGE, namespace: NAMESPACE, key })).toBe('malformed');
  });

  it('refuses a hash SSHSIG does not allow', () => {
    const key = verifierKeyFromLine(publicLine('ed25519'));
    const parsed = parseSshsig(blob());
    const sha1 = sshsigBlob({
      publicKey: parsed.publicKey,
      namespace: NAMESPACE,
      hashAlgorithm: 'sha1',
      signature: Buffer.concat([sshString(parsed.signatureFormat), sshString(parsed.signature)]),
    });
    expect(verifySshsig({ blob: sha1, message: MESSAGE, namespace: NAMESPACE, key })).toBe('unsupported-hash');
  });

  it('reads the armored form ssh-keygen writes', () => {
    const raw = blob();
    const armored = `-----BEGIN SSH SIGNATURE-----\n${raw.toString('base64').replace(/(.{70})/g, '$1\n')}\n-----END SSH SIGNATURE-----\n`;
    expect(unarmorSshsig(armored).equals(raw)).toBe(true);
  });
});
