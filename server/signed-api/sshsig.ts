import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import sshpk from 'sshpk';
import { SSHSIG_MAGIC, SSHSIG_VERSION, sshsigSignedData } from './protocol';

/**
 * Ferry's own SSHSIG reader and verifier (OpenSSH PROTOCOL.sshsig; there is no SSHSIG package on the registry).
 * Key parsing is sshpk's, the signature maths node:crypto's; this file only walks the blob and maps SSH's
 * signature encodings onto what OpenSSL expects. What `ssh-keygen -Y sign` writes, unarmored, starts:
 *
 *   53 53 48 53 49 47 00 00 00 01 00 00 00 33 00 00 00 0b 73 73 68 2d 65 64 32 35 35 31 39 …
 *   "SSHSIG"          version 1   string publickey ("ssh-ed25519" …)
 */

/** Hashes PROTOCOL.sshsig allows for the message digest. */
export const SSHSIG_HASHES = ['sha256', 'sha512'] as const;
export type SshsigHash = (typeof SSHSIG_HASHES)[number];

export type SshsigBlob = {
  /** The signer's public key in SSH wire form (RFC 4253 §6.6). */
  publicKey: Buffer;
  namespace: string;
  hashAlgorithm: string;
  /** `ssh-ed25519`, `ecdsa-sha2-nistp256`, `rsa-sha2-512`, … */
  signatureFormat: string;
  signature: Buffer;
};

/** A blob that is not SSHSIG at all: truncated, wrong magic or version, trailing bytes. */
export class SshsigFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SshsigFormatError';
  }
}

/** Reads SSH wire `uint32` and `string` values, refusing lengths that run past the end. */
class WireReader {
  private offset = 0;
  constructor(private readonly buffer: Buffer) {}

  uint32(): number {
    if (this.offset + 4 > this.buffer.length) throw new SshsigFormatError('truncated');
    const value = this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  string(): Buffer {
    const length = this.uint32();
    if (this.offset + length > this.buffer.length) throw new SshsigFormatError('truncated');
    const value = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  bytes(count: number): Buffer {
    if (this.offset + count > this.buffer.length) throw new SshsigFormatError('truncated');
    const value = this.buffer.subarray(this.offset, this.offset + count);
    this.offset += count;
    return value;
  }

  isDone(): boolean {
    return this.offset === this.buffer.length;
  }
}

export function parseSshsig(input: Uint8Array): SshsigBlob {
  const reader = new WireReader(Buffer.from(input));
  if (reader.bytes(SSHSIG_MAGIC.length).toString('latin1') !== SSHSIG_MAGIC) throw new SshsigFormatError('magic');
  if (reader.uint32() !== SSHSIG_VERSION) throw new SshsigFormatError('version');
  const publicKey = reader.string();
  const namespace = reader.string().toString('utf8');
  reader.string(); // reserved: PROTOCOL.sshsig says verifiers ignore its contents
  const hashAlgorithm = reader.string().toString('latin1');
  const signatureField = reader.string();
  if (!reader.isDone()) throw new SshsigFormatError('trailing bytes');
  const inner = new WireReader(signatureField);
  const signatureFormat = inner.string().toString('latin1');
  const signature = inner.string();
  if (!inner.isDone()) throw new SshsigFormatError('trailing signature bytes');
  return { publicKey, namespace, hashAlgorithm, signatureFormat, signature };
}

/** Key types a signed request may use; DSA and the SHA-1 `ssh-rsa` signature are refused. */
export const SUPPORTED_KEY_TYPES = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'ssh-rsa',
] as const;
export type SupportedKeyType = (typeof SUPPORTED_KEY_TYPES)[number];

export function isSupportedKeyType(value: string): value is SupportedKeyType {
  return (SUPPORTED_KEY_TYPES as readonly string[]).includes(value);
}

/** ECDSA: the digest RFC 5656 ties to each curve, and the byte length of r and s in IEEE P1363 form. */
const ECDSA: Record<string, { hash: string; size: number }> = {
  'ecdsa-sha2-nistp256': { hash: 'sha256', size: 32 },
  'ecdsa-sha2-nistp384': { hash: 'sha384', size: 48 },
  'ecdsa-sha2-nistp521': { hash: 'sha512', size: 66 },
};

/** RSA signature formats (RFC 8332). `ssh-rsa` (SHA-1) is deliberately absent. */
const RSA_FORMATS: Record<string, string> = { 'rsa-sha2-256': 'sha256', 'rsa-sha2-512': 'sha512' };

/** A registered key, ready to verify with: parse once, verify many times. */
export type VerifierKey = {
  type: SupportedKeyType;
  /** SSH wire form, compared byte for byte with the blob's public key. */
  wire: Buffer;
  keyObject: KeyObject;
  /** RSA modulus length in bytes: OpenSSH pads signatures to it, OpenSSL insists on it. */
  modulusBytes: number;
};

/** `ssh-ed25519 AAAA…` → a verifier key, or throws (sshpk's KeyParseError) for a line that is not a key. */
export function verifierKeyFromLine(line: string): VerifierKey {
  const key = sshpk.parseKey(line, 'ssh');
  const wire = key.toBuffer('rfc4253', {});
  const type = new WireReader(wire).string().toString('latin1');
  if (!isSupportedKeyType(type)) throw new Error(`unsupported key type ${type}`);
  return {
    type,
    wire,
    keyObject: createPublicKey(key.toString('pkcs8')),
    modulusBytes: type === 'ssh-rsa' ? Math.ceil(key.size / 8) : 0,
  };
}

/** SSH `mpint` (two's complement, big-endian, minimal) → an unsigned integer of exactly `size` bytes. */
function mpintToFixed(value: Buffer, size: number): Buffer | null {
  if (value.length > 0 && (value[0] ?? 0) & 0x80) return null; // negative: never a valid r or s
  let start = 0;
  while (start < value.length && value[start] === 0) start += 1;
  const magnitude = value.subarray(start);
  if (magnitude.length > size) return null;
  return Buffer.concat([Buffer.alloc(size - magnitude.length), magnitude]);
}

function leftPad(value: Buffer, size: number): Buffer | null {
  if (value.length > size) return null;
  return value.length === size ? value : Buffer.concat([Buffer.alloc(size - value.length), value]);
}

/**
 * Why a signature was refused; the request layer turns each into one sentence. `wrong-key` (the blob names a key
 * other than the registered one) and `bad-signature` read the same to a client.
 */
export type SshsigCheck =
  'ok' | 'malformed' | 'wrong-namespace' | 'unsupported-hash' | 'sha1-rsa' | 'wrong-key' | 'bad-signature';

/** Whether `signature` over `signedData` verifies with `key` in the signature format the blob states. */
function verifyRaw(key: VerifierKey, format: string, signedData: Buffer, signature: Buffer): SshsigCheck {
  try {
    switch (key.type) {
      case 'ssh-ed25519': {
        if (format !== 'ssh-ed25519') return 'bad-signature';
        return verify(null, signedData, key.keyObject, signature) ? 'ok' : 'bad-signature';
      }
      case 'ecdsa-sha2-nistp256':
      case 'ecdsa-sha2-nistp384':
      case 'ecdsa-sha2-nistp521': {
        const curve = ECDSA[key.type];
        if (!curve || format !== key.type) return 'bad-signature';
        const reader = new WireReader(signature);
        const r = mpintToFixed(reader.string(), curve.size);
        const s = mpintToFixed(reader.string(), curve.size);
        if (!r || !s || !reader.isDone()) return 'bad-signature';
        const p1363 = Buffer.concat([r, s]);
        const isValid = verify(curve.hash, signedData, { key: key.keyObject, dsaEncoding: 'ieee-p1363' }, p1363);
        return isValid ? 'ok' : 'bad-signature';
      }
      case 'ssh-rsa': {
        if (format === 'ssh-rsa') return 'sha1-rsa';
        const hash = RSA_FORMATS[format];
        const padded = leftPad(signature, key.modulusBytes);
        if (!hash || !padded) return 'bad-signature';
        return verify(hash, signedData, key.keyObject, padded) ? 'ok' : 'bad-signature';
      }
    }
  } catch {
    // A truncated ECDSA body or an OpenSSL refusal of the encoding: not a valid signature either way.
    return 'bad-signature';
  }
}

/**
 * Verifies an SSHSIG blob over `message` for `namespace` with the registered key: the blob must be well formed,
 * name that namespace and that exact key, use sha256 or sha512, and carry a signature that verifies.
 */
export function verifySshsig(options: {
  blob: Uint8Array;
  message: string | Uint8Array;
  namespace: string;
  key: VerifierKey;
}): SshsigCheck {
  let parsed: SshsigBlob;
  try {
    parsed = parseSshsig(options.blob);
  } catch (error) {
    if (error instanceof SshsigFormatError) return 'malformed';
    throw error;
  }
  if (parsed.namespace !== options.namespace) return 'wrong-namespace';
  if (!(SSHSIG_HASHES as readonly string[]).includes(parsed.hashAlgorithm)) return 'unsupported-hash';
  if (!parsed.publicKey.equals(options.key.wire)) return 'wrong-key';
  const digest = createHash(parsed.hashAlgorithm).update(options.message).digest();
  const signedData = sshsigSignedData(options.namespace, parsed.hashAlgorithm, digest);
  return verifyRaw(options.key, parsed.signatureFormat, signedData, parsed.signature);
}

/** The armored form `ssh-keygen -Y sign` writes (`-----BEGIN SSH SIGNATURE-----`) → the binary blob. */
export function unarmorSshsig(armored: string): Buffer {
  const body = armored.replace(/-----(BEGIN|END) SSH SIGNATURE-----/g, '').replace(/\s/g, '');
  return Buffer.from(body, 'base64');
}
