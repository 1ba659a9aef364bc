import { createHash, createPrivateKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sshpk from 'sshpk';
import { SIGNATURE_HEADERS, SSHSIG_HASH, signedMessage, sshString, sshsigBlob, sshsigSignedData } from './protocol';
import { unarmorSshsig } from './sshsig';

/**
 * Signing helpers for tests (server and CLI): a request signed exactly as protocol.ts says, either by the real
 * `ssh-keygen -Y sign` or by node:crypto with an OpenSSH private key. Never imported by the server itself.
 */

/** Something that makes SSHSIG blobs for one key. */
export type RequestSigner = {
  fingerprint: string;
  /** `<type> <base64> <comment>`, what a user pastes into Ferry. */
  publicKeyLine: string;
  signSshsig: (options: { namespace: string; message: string; hashAlgorithm?: 'sha256' | 'sha512' }) => Buffer;
};

function fingerprintOf(publicKeyLine: string): string {
  return sshpk.parseKey(publicKeyLine, 'ssh').fingerprint('sha256').toString();
}

/** Signs with the real `ssh-keygen -Y sign -f <key>` (what a user would run by hand). */
export function keygenSigner(privateKeyPath: string): RequestSigner {
  const publicKeyLine = readFileSync(`${privateKeyPath}.pub`, 'utf8').trim();
  return {
    fingerprint: fingerprintOf(publicKeyLine),
    publicKeyLine,
    signSshsig: ({ namespace, message, hashAlgorithm = 'sha512' }) => {
      const dir = mkdtempSync(path.join(tmpdir(), 'ferry-sign-'));
      try {
        const file = path.join(dir, 'message');
        writeFileSync(file, message);
        execFileSync(
          'ssh-keygen',
          ['-q', '-Y', 'sign', '-f', privateKeyPath, '-n', namespace, '-O', `hashalg=${hashAlgorithm}`, file],
          {
            stdio: ['ignore', 'ignore', 'pipe'],
          },
        );
        return unarmorSshsig(readFileSync(`${file}.sig`, 'utf8'));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Unsigned big-endian integer → SSH `mpint` (a leading zero byte when the high bit is set). */
function toMpint(value: Buffer): Buffer {
  let start = 0;
  while (start < value.length - 1 && value[start] === 0) start += 1;
  const trimmed = value.subarray(start);
  return (trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed;
}

/** The SSH signature body (`string format · string bytes`) node:crypto makes for a key. */
function rawSign(options: {
  privateKey: KeyObject;
  keyType: string;
  rsaHash: 'sha256' | 'sha512';
  data: Buffer;
}): Buffer {
  const { privateKey, keyType, data } = options;
  if (keyType === 'ssh-ed25519') return Buffer.concat([sshString(keyType), sshString(sign(null, data, privateKey))]);
  if (keyType === 'ssh-rsa') {
    const format = `rsa-sha2-${options.rsaHash.slice(3)}`;
    return Buffer.concat([sshString(format), sshString(sign(options.rsaHash, data, privateKey))]);
  }
  const curve = { 'ecdsa-sha2-nistp256': 'sha256', 'ecdsa-sha2-nistp384': 'sha384', 'ecdsa-sha2-nistp521': 'sha512' }[
    keyType
  ];
  if (!curve) throw new Error(`cannot sign with ${keyType}`);
  const p1363 = sign(curve, data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  const half = p1363.length / 2;
  const rs = Buffer.concat([sshString(toMpint(p1363.subarray(0, half))), sshString(toMpint(p1363.subarray(half)))]);
  return Buffer.concat([sshString(keyType), sshString(rs)]);
}

/** sshpk's PKCS#8 export of ed25519 is a pre-RFC 8410 form OpenSSL 3 refuses; a JWK of the seed is not. */
function nodePrivateKey(parsed: sshpk.PrivateKey, keyType: string): KeyObject {
  if (keyType !== 'ssh-ed25519') return createPrivateKey(parsed.toString('pkcs8'));
  const part = (name: string) => parsed.parts.find((candidate) => candidate.name === name)?.data ?? Buffer.alloc(0);
  const jwk = { kty: 'OKP', crv: 'Ed25519', d: part('k').toString('base64url'), x: part('A').toString('base64url') };
  return createPrivateKey({ key: jwk, format: 'jwk' });
}

/**
 * Signs in-process with an OpenSSH private key file's text (unencrypted). RSA keys sign with `rsaHash`: this is
 * how the tests make rsa-sha2-256 signatures, which `ssh-keygen -Y sign` never produces from a key file.
 */
export function cryptoSigner(privateKeyText: string, options: { rsaHash?: 'sha256' | 'sha512' } = {}): RequestSigner {
  const parsed = sshpk.parsePrivateKey(privateKeyText, 'auto');
  const publicKey = parsed.toPublic();
  const wire = publicKey.toBuffer('rfc4253', {});
  const keyType = wire.subarray(4, 4 + wire.readUInt32BE(0)).toString('latin1');
  const privateKey = nodePrivateKey(parsed, keyType);
  const publicKeyLine = `${publicKey.toString('ssh')}`.trim();
  return {
    fingerprint: publicKey.fingerprint('sha256').toString(),
    publicKeyLine,
    signSshsig: ({ namespace, message, hashAlgorithm = SSHSIG_HASH }) => {
      const digest = createHash(hashAlgorithm).update(message).digest();
      const data = sshsigSignedData(namespace, hashAlgorithm, digest);
      const signature = rawSign({ privateKey, keyType, rsaHash: options.rsaHash ?? 'sha512', data });
      return sshsigBlob({ publicKey: wire, namespace, hashAlgorithm, signature });
    },
  };
}

export function newNonce(): string {
  return randomBytes(18).toString('base64url');
}

/** The four signature headers for one request, as the CLI sends them. */
export function signRequestHeaders(options: {
  signer: RequestSigner;
  namespace: string;
  method: string;
  /** Path and query as sent. */
  target: string;
  body?: string | Uint8Array;
  timestamp?: number;
  nonce?: string;
  hashAlgorithm?: 'sha256' | 'sha512';
}): Record<string, string> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const nonce = options.nonce ?? newNonce();
  const { signer } = options;
  const message = signedMessage({
    method: options.method,
    target: options.target,
    bodySha256: createHash('sha256')
      .update(options.body ?? '')
      .digest('hex'),
    timestamp,
    nonce,
    fingerprint: signer.fingerprint,
  });
  const blob = signer.signSshsig({ namespace: options.namespace, message, hashAlgorithm: options.hashAlgorithm });
  return {
    [SIGNATURE_HEADERS.key]: signer.fingerprint,
    [SIGNATURE_HEADERS.timestamp]: String(timestamp),
    [SIGNATURE_HEADERS.nonce]: nonce,
    [SIGNATURE_HEADERS.signature]: blob.toString('base64'),
  };
}

/** A signed fetch Request for a URL (e.g. `http://127.0.0.1/api/trpc/host.list`), for in-process handler tests. */
export function signedRequest(options: {
  signer: RequestSigner;
  namespace: string;
  url: string;
  method?: string;
  body?: string;
  headers?: Record<string, string>;
  timestamp?: number;
  nonce?: string;
}): Request {
  const url = new URL(options.url);
  const method = options.method ?? (options.body === undefined ? 'GET' : 'POST');
  const headers = signRequestHeaders({
    signer: options.signer,
    namespace: options.namespace,
    method,
    target: `${url.pathname}${url.search}`,
    body: options.body,
    timestamp: options.timestamp,
    nonce: options.nonce,
  });
  return new Request(url, {
    method,
    body: options.body,
    headers: { host: url.host, 'content-type': 'application/json', ...headers, ...options.headers },
  });
}
