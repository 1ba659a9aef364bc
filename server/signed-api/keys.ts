import sshpk from 'sshpk';
import { recordAudit } from '../audit/record';
import type { AuditWho } from '../auth/users';
import type { Db } from '../db';
import { UserError } from '../errors';
import { findControlCharacter } from '../libvirt/text-checks';
import { isUniqueViolation } from './unique-violation';
import { isSupportedKeyType, verifierKeyFromLine, type SupportedKeyType } from './sshsig';

/**
 * The per-user registry of SSH public keys that sign API requests. A key is pasted as the OpenSSH public key
 * line (`ssh-ed25519 AAAAC3Nz… alice@laptop`), shown by fingerprint and comment, optionally expires, and acts
 * with exactly its user's current role. Only the public half is stored; the browser sees fingerprint, type and
 * comment, never the key material itself.
 */

export const KEY_COMMENT_MAX = 100;
/** An RSA key of 16384 bits is ~2.8 KB as a line; anything far past that is not a public key. */
const KEY_LINE_MAX = 16_384;
const RSA_MIN_BITS = 2048;

/** What leaves the server about a key. */
export const PUBLIC_KEY_SELECT = {
  id: true,
  fingerprint: true,
  type: true,
  comment: true,
  expiresAt: true,
  createdAt: true,
  lastUsedAt: true,
} as const;

export type ParsedPublicKey = {
  type: SupportedKeyType;
  /** `SHA256:…` exactly as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  /** `<type> <base64>`, the comment left off. */
  line: string;
  comment: string;
  bits: number;
};

function keyProblem(message: string): UserError {
  return new UserError({ message, field: 'publicKey' });
}

const ACCEPTED = 'ed25519, ECDSA (P-256, P-384, P-521) or RSA of at least 2048 bits';

/** Why a first token that is not a supported type was refused, in words a person can act on. */
function unsupportedTypeMessage(type: string, tokens: string[]): string {
  if (type === 'ssh-dss') return 'DSA keys are not accepted (OpenSSH itself dropped them); use an ed25519 key.';
  if (type.startsWith('sk-')) return `Security-key (sk-…) keys are not supported yet; use ${ACCEPTED}.`;
  if (type.includes('-cert-v01@openssh.com')) return 'SSH certificates are not accepted; paste the plain public key.';
  if (tokens.slice(1).some((token) => isSupportedKeyType(token))) {
    return 'Paste the key without authorized_keys options: the line starts with its type, e.g. ssh-ed25519.';
  }
  return `That is not an OpenSSH public key Ferry accepts; expected a line like "ssh-ed25519 AAAA… you@host" (${ACCEPTED}).`;
}

/** The type named inside the key's base64 (its first SSH `string`), or null when that does not decode. */
function wireKeyType(base64: string): string | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return null;
  const wire = Buffer.from(base64, 'base64');
  if (wire.length < 4) return null;
  const length = wire.readUInt32BE(0);
  if (length > 64 || 4 + length > wire.length) return null;
  // Shown back in a sentence: only printable ASCII survives.
  return wire
    .subarray(4, 4 + length)
    .toString('latin1')
    .replace(/[^\x21-\x7e]/g, '?');
}

/** Parses and checks a pasted OpenSSH public key line; throws a UserError (field `publicKey`) saying what is wrong. */
export function parsePublicKeyLine(text: string): ParsedPublicKey {
  const trimmed = text.trim();
  if (trimmed === '') throw keyProblem('Paste an OpenSSH public key, e.g. the line in ~/.ssh/id_ed25519.pub.');
  if (/PRIVATE KEY/.test(trimmed)) {
    throw keyProblem('That is a private key: paste the public key (the .pub file) and keep the private one secret.');
  }
  if (trimmed.length > KEY_LINE_MAX) throw keyProblem('That is far too long for an OpenSSH public key.');
  if (/[\r\n]/.test(trimmed)) throw keyProblem('Paste one key: a single line.');
  const tokens = trimmed.split(/[ \t]+/);
  const [type = '', base64 = ''] = tokens;
  if (!isSupportedKeyType(type)) throw keyProblem(unsupportedTypeMessage(type, tokens));
  const innerType = wireKeyType(base64);
  if (innerType !== null && innerType !== type) {
    throw keyProblem(`The key says "${type}" but its data is a ${innerType.slice(0, 60)} key.`);
  }
  let key: sshpk.Key;
  try {
    key = sshpk.parseKey(`${type} ${base64}`, 'ssh');
  } catch {
    throw keyProblem(`That is not a valid ${type} public key: its base64 part does not decode to one.`);
  }
  const wire = key.toBuffer('rfc4253', {});
  if (type === 'ssh-rsa' && key.size < RSA_MIN_BITS) {
    throw keyProblem(`This RSA key has ${key.size} bits; Ferry needs at least ${RSA_MIN_BITS} (or use ed25519).`);
  }
  const line = `${type} ${wire.toString('base64')}`;
  // The verifier must be able to use it; a curve or size node:crypto refuses is refused here, not at request time.
  verifierKeyFromLine(line);
  return {
    type,
    fingerprint: key.fingerprint('sha256').toString(),
    line,
    comment: tokens.slice(2).join(' '),
    bits: key.size,
  };
}

function checkComment(comment: string): string {
  const value = comment.trim();
  if (value.length > KEY_COMMENT_MAX) {
    throw new UserError({ message: `A key comment is at most ${KEY_COMMENT_MAX} characters.`, field: 'comment' });
  }
  if (findControlCharacter(value, { includeC1: true }) !== null) {
    throw new UserError({ message: 'A key comment cannot hold control characters.', field: 'comment' });
  }
  return value;
}

/** One user's keys, oldest first; `isExpired` by the server's clock, which is the one that refuses them. */
export async function listApiKeys(options: { db: Db; userId: string; now?: Date }) {
  const now = (options.now ?? new Date()).getTime();
  const keys = await options.db.apiKey.findMany({
    where: { userId: options.userId },
    select: PUBLIC_KEY_SELECT,
    orderBy: { createdAt: 'asc' },
  });
  return keys.map((key) => ({ ...key, isExpired: key.expiresAt !== null && key.expiresAt.getTime() <= now }));
}

/** Registers a key for a user; the comment defaults to the key line's own. Audited as `apikey.add`. */
export async function addApiKey(options: {
  db: Db;
  userId: string;
  publicKey: string;
  comment?: string | null;
  expiresAt?: Date | null;
  audit: AuditWho;
  now?: Date;
}) {
  const { db, audit } = options;
  const parsed = parsePublicKeyLine(options.publicKey);
  const comment = checkComment(options.comment?.trim() ? options.comment : parsed.comment);
  const expiresAt = options.expiresAt ?? null;
  if (expiresAt && expiresAt.getTime() <= (options.now ?? new Date()).getTime()) {
    throw new UserError({ message: 'That expiry is already past; choose a later date or none.', field: 'expiresAt' });
  }
  const user = await db.user.findUnique({ where: { id: options.userId }, select: { id: true, name: true } });
  if (!user) throw new UserError({ code: 'NOT_FOUND', message: 'That user no longer exists.' });
  const existing = await db.apiKey.findUnique({ where: { fingerprint: parsed.fingerprint }, select: { userId: true } });
  if (existing) {
    const whose = existing.userId === user.id ? `for ${user.name}` : 'for another user';
    throw new UserError({
      code: 'CONFLICT',
      message: `This key (${parsed.fingerprint}) is already registered ${whose}.`,
      field: 'publicKey',
    });
  }
  const duplicate = new UserError({
    code: 'CONFLICT',
    message: `This key (${parsed.fingerprint}) is already registered.`,
    field: 'publicKey',
  });
  const created = db.$transaction(async (tx) => {
    const key = await tx.apiKey.create({
      data: {
        userId: user.id,
        fingerprint: parsed.fingerprint,
        publicKey: parsed.line,
        type: parsed.type,
        comment,
        expiresAt,
      },
      select: PUBLIC_KEY_SELECT,
    });
    await recordAudit(tx, {
      ...audit,
      action: 'apikey.add',
      details: {
        user: user.name,
        fingerprint: parsed.fingerprint,
        type: parsed.type,
        comment,
        expiresAt: expiresAt?.toISOString() ?? null,
      },
    });
    return key;
  });
  // Two admins pasting the same key at once: the unique index decides, with the same sentence.
  return created.catch((error: unknown) => {
    throw isUniqueViolation(error) ? duplicate : error;
  });
}

/**
 * Removes a key. `ownerId` restricts it to one user's keys ("my account"); admins pass none. Audited as
 * `apikey.remove`; the next request signed with it is refused as an unknown key.
 */
export async function removeApiKey(options: { db: Db; keyId: string; ownerId?: string; audit: AuditWho }) {
  const { db, audit } = options;
  return db.$transaction(async (tx) => {
    const key = await tx.apiKey.findUnique({
      where: { id: options.keyId },
      select: { id: true, userId: true, fingerprint: true, comment: true, user: { select: { name: true } } },
    });
    if (!key || (options.ownerId !== undefined && key.userId !== options.ownerId)) {
      throw new UserError({ code: 'NOT_FOUND', message: 'That key is no longer registered.' });
    }
    await tx.apiKey.delete({ where: { id: key.id } });
    await recordAudit(tx, {
      ...audit,
      action: 'apikey.remove',
      details: { user: key.user.name, fingerprint: key.fingerprint, comment: key.comment },
    });
    return { ok: true as const };
  });
}
