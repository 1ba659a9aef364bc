import { signedApiNamespace } from './authenticate';
import { MAX_CLOCK_SKEW_SECONDS, MESSAGE_VERSION, SIGNATURE_HEADERS } from './protocol';
import { SSHSIG_HASHES, SUPPORTED_KEY_TYPES } from './sshsig';

/** The body of GET /api/signed-api. `serverTime` lets a client tell a skewed clock from a refused key. */
export function signedApiDescription(now: Date = new Date()) {
  return {
    namespace: signedApiNamespace(),
    messageVersion: MESSAGE_VERSION,
    maxClockSkewSeconds: MAX_CLOCK_SKEW_SECONDS,
    serverTime: Math.floor(now.getTime() / 1000),
    headers: SIGNATURE_HEADERS,
    hashAlgorithms: SSHSIG_HASHES,
    keyTypes: SUPPORTED_KEY_TYPES,
    signatureAlgorithms: [
      'ssh-ed25519',
      'ecdsa-sha2-nistp256',
      'ecdsa-sha2-nistp384',
      'ecdsa-sha2-nistp521',
      'rsa-sha2-256',
      'rsa-sha2-512',
    ],
  };
}
