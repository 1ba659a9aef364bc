import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiNamespace, FINGERPRINT_PATTERN, NONCE_PATTERN, signedMessage } from '../server/signed-api/protocol';
import { CliError } from './errors';
import { agentSigner, chooseAgentKey, fingerprintOf, keyFileSigner, signerFromEnvironment, type Signer } from './keys';
import { sha256Hex, signatureHeaders } from './sign-request';
import { KEY_SPECS, makeKey, startSshAgent } from './testing/ssh-agent';

/**
 * The CLI's signatures checked by OpenSSH itself: each request's headers are turned back into the signed message
 * and `ssh-keygen -Y verify` must accept the SSHSIG blob for it, for every key type, signed by a key file and by a
 * real ssh-agent. A verifier Ferry wrote could share a misunderstanding with the signer; ssh-keygen cannot.
 */

const NAMESPACE = apiNamespace('cli-test');
let dir: string;
let agent: Awaited<ReturnType<typeof startSshAgent>>;
const keyFiles: Record<string, string> = {};

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'ferry-cli-sign-'));
  for (const spec of KEY_SPECS) keyFiles[spec.name] = makeKey({ dir, ...spec });
  agent = await startSshAgent();
  for (const spec of KEY_SPECS) agent.add(keyFiles[spec.name] as string);
});

afterAll(async () => {
  await agent?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function armor(blob: Buffer): string {
  const lines = blob.toString('base64').match(/.{1,70}/g) ?? [];
  return `-----BEGIN SSH SIGNATURE-----\n${lines.join('\n')}\n-----END SSH SIGNATURE-----\n`;
}

/** `ssh-keygen -Y verify` over the message the headers stand for; returns its exit status and output. */
function verifyWithSshKeygen(options: {
  keyFile: string;
  headers: Record<string, string>;
  method: string;
  target: string;
  body: string;
  namespace?: string;
}): { status: number | null; output: string } {
  const allowed = path.join(dir, 'allowed_signers');
  const publicKey = readFileSync(`${options.keyFile}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
  writeFileSync(allowed, `cli@test ${publicKey}\n`);
  const signatureFile = path.join(dir, 'request.sig');
  writeFileSync(signatureFile, armor(Buffer.from(options.headers['x-ferry-signature'] ?? '', 'base64')));
  const message = signedMessage({
    method: options.method,
    target: options.target,
    bodySha256: sha256Hex(options.body),
    timestamp: Number(options.headers['x-ferry-timestamp']),
    nonce: options.headers['x-ferry-nonce'] ?? '',
    fingerprint: options.headers['x-ferry-key'] ?? '',
  });
  const result = spawnSync(
    'ssh-keygen',
    ['-Y', 'verify', '-f', allowed, '-I', 'cli@test', '-n', options.namespace ?? NAMESPACE, '-s', signatureFile],
    { input: message, encoding: 'utf8' },
  );
  return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}

async function signAndVerify(signer: Signer, keyFile: string) {
  const body = JSON.stringify({ json: { id: 'abc' } });
  const target = '/api/trpc/migration.cancel?z=1&a=2';
  const headers = await signatureHeaders({ signer, namespace: NAMESPACE, method: 'POST', target, body });
  expect(headers['x-ferry-key']).toMatch(FINGERPRINT_PATTERN);
  expect(headers['x-ferry-nonce']).toMatch(NONCE_PATTERN);
  expect(Math.abs(Number(headers['x-ferry-timestamp']) - Date.now() / 1000)).toBeLessThan(5);
  const verified = verifyWithSshKeygen({ keyFile, headers, method: 'POST', target, body });
  expect(verified.output).toContain('Good "ferry-api@cli-test" signature');
  expect(verified.status).toBe(0);
  // The same signature over another body, or under another namespace, is not good.
  expect(verifyWithSshKeygen({ keyFile, headers, method: 'POST', target, body: `${body} ` }).status).not.toBe(0);
  expect(
    verifyWithSshKeygen({ keyFile, headers, method: 'POST', target, body, namespace: 'ferry-api@other' }).status,
  ).not.toBe(0);
}

describe('signing a request', () => {
  for (const spec of KEY_SPECS) {
    it(`with a ${spec.name} key file verifies under ssh-keygen -Y verify`, async () => {
      const keyFile = keyFiles[spec.name] as string;
      const signer = keyFileSigner({ path: keyFile });
      const expected = execFileSync('ssh-keygen', ['-l', '-f', `${keyFile}.pub`], { encoding: 'utf8' }).split(' ')[1];
      expect(signer.fingerprint).toBe(expected);
      await signAndVerify(signer, keyFile);
    });

    it(`with a ${spec.name} key in a real ssh-agent verifies under ssh-keygen -Y verify`, async () => {
      const keyFile = keyFiles[spec.name] as string;
      const signer = await agentSigner({ socket: agent.socket, wanted: spec.name });
      expect(signer.label).toContain('ssh-agent');
      await signAndVerify(signer, keyFile);
    });
  }

  it('signs RSA as rsa-sha2-512, never SHA-1 ssh-rsa', async () => {
    const signer = await agentSigner({ socket: agent.socket, wanted: 'rsa' });
    const signature = await signer.sign(Buffer.from('x'));
    const format = signature.subarray(4, 4 + signature.readUInt32BE(0)).toString();
    expect(format).toBe('rsa-sha2-512');
  });

  it('gives every request its own nonce', async () => {
    const signer = keyFileSigner({ path: keyFiles.ed25519 as string });
    const sign = () => signatureHeaders({ signer, namespace: NAMESPACE, method: 'GET', target: '/x', body: '' });
    const [a, b] = await Promise.all([sign(), sign()]);
    expect(a['x-ferry-nonce']).not.toBe(b['x-ferry-nonce']);
  });
});

describe('choosing the key', () => {
  it('picks an agent key by fingerprint, comment or key file path', async () => {
    const bySpec = await agentSigner({ socket: agent.socket, wanted: 'ecdsa-384' });
    const byFingerprint = await agentSigner({ socket: agent.socket, wanted: bySpec.fingerprint });
    const byPath = await agentSigner({ socket: agent.socket, wanted: keyFiles['ecdsa-384'] });
    expect(byFingerprint.fingerprint).toBe(bySpec.fingerprint);
    expect(byPath.fingerprint).toBe(bySpec.fingerprint);
  });

  it('refuses to guess among several agent keys, listing them', async () => {
    await expect(agentSigner({ socket: agent.socket })).rejects.toThrow(/holds 5 keys; set FERRY_KEY/);
    await expect(agentSigner({ socket: agent.socket, wanted: 'nope' })).rejects.toThrow(/No key in ssh-agent/);
    expect(() => chooseAgentKey([], undefined)).toThrow(CliError);
  });

  it('prefers --key over the agent, and needs one of them', async () => {
    const signer = await signerFromEnvironment({
      keyFile: keyFiles.rsa,
      env: { SSH_AUTH_SOCK: agent.socket },
    });
    expect(signer.label).toContain('key file');
    await expect(signerFromEnvironment({ keyFile: undefined, env: {} })).rejects.toThrow(/start ssh-agent/);
  });

  it('asks for the agent or a passphrase for an encrypted key file', () => {
    const encrypted = makeKey({ dir, name: 'encrypted', args: ['-t', 'ed25519'], passphrase: 'secret words' });
    expect(() => keyFileSigner({ path: encrypted })).toThrow(/encrypted: add it to ssh-agent/);
    const signer = keyFileSigner({ path: encrypted, passphrase: 'secret words' });
    expect(signer.fingerprint).toBe(fingerprintOf(signer.publicKey));
  });

  it('says which file it cannot read', () => {
    expect(() => keyFileSigner({ path: path.join(dir, 'missing') })).toThrow(/Cannot read the key file .*ENOENT/);
  });
});
