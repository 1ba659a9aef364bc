import { createHash, randomBytes } from 'node:crypto';
import {
  SIGNATURE_HEADERS,
  SSHSIG_HASH,
  signedMessage,
  sshsigBlob,
  sshsigSignedData,
} from '../server/signed-api/protocol';
import type { Signer } from './keys';

/** 16 random bytes, base64url: 22 characters, as protocol.ts's NONCE_PATTERN wants. */
export function newNonce(): string {
  return randomBytes(16).toString('base64url');
}

export function sha256Hex(body: string | Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}

/**
 * The four headers that make one request signed (server/signed-api/protocol.ts): the message — method, target
 * with its query, body hash, timestamp, nonce, fingerprint — is digested, wrapped in SSHSIG's signed data under
 * the deployment's namespace, signed, and sent as the binary SSHSIG blob in base64.
 */
export async function signatureHeaders(options: {
  signer: Signer;
  namespace: string;
  method: string;
  /** Path and query exactly as sent. */
  target: string;
  body: string | Uint8Array;
  now?: Date;
  nonce?: string;
}): Promise<Record<string, string>> {
  const timestamp = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const nonce = options.nonce ?? newNonce();
  const message = signedMessage({
    method: options.method,
    target: options.target,
    bodySha256: sha256Hex(options.body),
    timestamp,
    nonce,
    fingerprint: options.signer.fingerprint,
  });
  const digest = createHash(SSHSIG_HASH).update(message).digest();
  const signature = await options.signer.sign(sshsigSignedData(options.namespace, SSHSIG_HASH, digest));
  const blob = sshsigBlob({
    publicKey: options.signer.publicKey,
    namespace: options.namespace,
    hashAlgorithm: SSHSIG_HASH,
    signature,
  });
  return {
    [SIGNATURE_HEADERS.key]: options.signer.fingerprint,
    [SIGNATURE_HEADERS.timestamp]: String(timestamp),
    [SIGNATURE_HEADERS.nonce]: nonce,
    [SIGNATURE_HEADERS.signature]: blob.toString('base64'),
  };
}
