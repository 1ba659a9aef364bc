import { createHash } from 'node:crypto';
import type { Actor } from '../api/trpc';
import { recordAudit } from '../audit/record';
import { isRole } from '../auth/roles';
import type { Db } from '../db';
import { env } from '../env';
import {
  apiNamespace,
  FINGERPRINT_PATTERN,
  MAX_CLOCK_SKEW_SECONDS,
  NONCE_PATTERN,
  SIGNATURE_HEADERS,
  signedMessage,
} from './protocol';
import { verifierKeyFromLine, verifySshsig, type SshsigCheck, type VerifierKey } from './sshsig';
import { isUniqueViolation } from './unique-violation';

/**
 * Authenticates one HTTP request by its SSH signature instead of a session cookie (protocol.ts has the wire
 * format). The order is chosen so strangers cost little and learn little: header shapes, then the key by its
 * fingerprint (one indexed read), then the signature; only after it verifies do the freshness and account
 * checks run, and only those refusals are audited: they come from the key's holder (or a replay of their
 * request), while an unverified request could be anybody filling the log.
 */

/** A signed request's body is read into memory to be hashed; tRPC inputs are far smaller than this. */
export const MAX_SIGNED_BODY_BYTES = 1024 * 1024;
const SIGNATURE_HEADER_MAX = 16_384;
/** lastUsedAt is written at most this often per key, like a session's lastSeenAt. */
const TOUCH_INTERVAL_MS = 60_000;
/** Expired nonces are deleted at most this often per process. */
const PRUNE_INTERVAL_MS = 60_000;

export function signedApiNamespace(): string {
  return apiNamespace(env.FERRY_DEPLOYMENT_NAME);
}

/** Any of the four headers makes a request a signed one: it is then judged by its signature alone. */
export function hasSignatureHeaders(headers: Headers): boolean {
  return Object.values(SIGNATURE_HEADERS).some((name) => headers.has(name));
}

export type SignedActor = Actor & { userId: string; keyFingerprint: string };

export type SignedAuthOutcome = { ok: true; actor: SignedActor } | { ok: false; status: 401 | 413; message: string };

function refused(message: string, status: 401 | 413 = 401): SignedAuthOutcome {
  return { ok: false, status, message: `Refused: ${message}` };
}

const SIGNATURE_REFUSALS: Record<Exclude<SshsigCheck, 'ok' | 'wrong-namespace'>, string> = {
  malformed: 'x-ferry-signature is not an SSHSIG signature.',
  'unsupported-hash': 'the SSHSIG hash must be sha256 or sha512.',
  'sha1-rsa': 'ssh-rsa (SHA-1) signatures are not accepted; sign with rsa-sha2-256 or rsa-sha2-512.',
  'wrong-key': 'the signature does not verify.',
  'bad-signature': 'the signature does not verify.',
};

/** Parsed keys by their line: a registered key is parsed once per process, not once per request. */
const verifierCache = new Map<string, VerifierKey>();
const VERIFIER_CACHE_MAX = 2_000;

function verifierFor(line: string): VerifierKey {
  const cached = verifierCache.get(line);
  if (cached) return cached;
  const key = verifierKeyFromLine(line);
  if (verifierCache.size >= VERIFIER_CACHE_MAX) verifierCache.clear();
  verifierCache.set(line, key);
  return key;
}

let lastPruneAt = 0;

async function pruneNonces(db: Db, now: Date): Promise<void> {
  if (now.getTime() - lastPruneAt < PRUNE_INTERVAL_MS) return;
  lastPruneAt = now.getTime();
  await db.apiNonce.deleteMany({ where: { expiresAt: { lt: now } } });
}

/** Reads the body without consuming it: the handler (tRPC's fetch adapter) reads the original afterwards. */
async function readBody(request: Request): Promise<Uint8Array | null> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > MAX_SIGNED_BODY_BYTES) return null;
  const body = request.clone().body;
  if (body === null) return new Uint8Array();
  // Read chunk by chunk, so a chunked body without Content-Length is cut off at the limit, not buffered whole.
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > MAX_SIGNED_BODY_BYTES) {
      // Not awaited: a tee branch's cancel settles only once the other branch (the handler's) is cancelled too.
      reader.cancel().catch(() => undefined);
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

type Headers4 = { fingerprint: string; timestamp: number; nonce: string; signature: Buffer };

function readSignatureHeaders(headers: Headers): Headers4 | string {
  const fingerprint = headers.get(SIGNATURE_HEADERS.key);
  const timestamp = headers.get(SIGNATURE_HEADERS.timestamp);
  const nonce = headers.get(SIGNATURE_HEADERS.nonce);
  const signature = headers.get(SIGNATURE_HEADERS.signature);
  if (fingerprint === null || timestamp === null || nonce === null || signature === null) {
    return 'a signed request needs all of x-ferry-key, x-ferry-timestamp, x-ferry-nonce and x-ferry-signature.';
  }
  if (!FINGERPRINT_PATTERN.test(fingerprint)) {
    return 'x-ferry-key must be a key fingerprint "SHA256:…" as ssh-keygen -lf prints it.';
  }
  if (!/^\d{1,12}$/.test(timestamp)) return 'x-ferry-timestamp must be the time in unix seconds.';
  if (!NONCE_PATTERN.test(nonce)) return 'x-ferry-nonce must be 22–64 characters of A–Z, a–z, 0–9, "_" and "-".';
  if (signature.length > SIGNATURE_HEADER_MAX || !/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) {
    return 'x-ferry-signature must be the base64 of an SSHSIG blob.';
  }
  return { fingerprint, timestamp: Number(timestamp), nonce, signature: Buffer.from(signature, 'base64') };
}

/**
 * The signed request's user, or why it is refused (401; 413 for an oversized body). On success the nonce is
 * stored and an `api.request` audit row names the user and the key's fingerprint, in one transaction.
 */
export async function authenticateSignedRequest(options: {
  db: Db;
  request: Request;
  clientAddress: string | null;
  namespace?: string;
  now?: Date;
}): Promise<SignedAuthOutcome> {
  const { db, request, clientAddress } = options;
  const namespace = options.namespace ?? signedApiNamespace();
  const now = options.now ?? new Date();
  const parsed = readSignatureHeaders(request.headers);
  if (typeof parsed === 'string') return refused(parsed);
  const { fingerprint, timestamp, nonce } = parsed;

  const key = await db.apiKey.findUnique({
    where: { fingerprint },
    select: {
      id: true,
      publicKey: true,
      expiresAt: true,
      lastUsedAt: true,
      user: { select: { id: true, name: true, role: true, disabled: true } },
    },
  });
  if (!key) return refused(`unknown key ${fingerprint}; register it under My account first.`);

  const body = await readBody(request);
  if (body === null) return refused(`a signed request's body is limited to ${MAX_SIGNED_BODY_BYTES} bytes.`, 413);
  const url = new URL(request.url);
  const message = signedMessage({
    method: request.method,
    target: `${url.pathname}${url.search}`,
    bodySha256: createHash('sha256').update(body).digest('hex'),
    timestamp,
    nonce,
    fingerprint,
  });
  const check = verifySshsig({ blob: parsed.signature, message, namespace, key: verifierFor(key.publicKey) });
  if (check === 'wrong-namespace') {
    return refused(`wrong namespace; sign with "${namespace}" (GET /api/signed-api says which).`);
  }
  if (check !== 'ok') return refused(SIGNATURE_REFUSALS[check]);

  // From here on the key's holder signed this request: refusals are theirs and are audited.
  const { user } = key;
  const audit = { actor: user.name, clientAddress, action: 'api.request' };
  const requestLine = `${request.method} ${url.pathname}`.slice(0, 300);
  const refuseAudited = async (reason: string): Promise<SignedAuthOutcome> => {
    await db.$transaction((tx) =>
      recordAudit(tx, { ...audit, result: 'refused', details: { fingerprint, request: requestLine, reason } }),
    );
    return refused(reason);
  };
  if (Math.abs(now.getTime() / 1000 - timestamp) > MAX_CLOCK_SKEW_SECONDS) {
    return refuseAudited(
      `the timestamp is outside ±${MAX_CLOCK_SKEW_SECONDS} s of the server's clock; check this machine's time.`,
    );
  }
  if (key.expiresAt && key.expiresAt.getTime() <= now.getTime()) {
    return refuseAudited(`the key expired on ${key.expiresAt.toISOString()}.`);
  }
  if (user.disabled) return refuseAudited("the key's user is disabled.");
  if (!isRole(user.role)) return refuseAudited("the key's user has no valid role.");
  const role = user.role;

  await pruneNonces(db, now);
  try {
    await db.$transaction(async (tx) => {
      // The primary key (fingerprint, nonce) refuses a second use inside this INSERT, on every replica.
      await tx.apiNonce.create({
        data: { fingerprint, nonce, expiresAt: new Date((timestamp + MAX_CLOCK_SKEW_SECONDS + 1) * 1000) },
      });
      if (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() >= TOUCH_INTERVAL_MS) {
        await tx.apiKey.update({ where: { id: key.id }, data: { lastUsedAt: now } });
      }
      await recordAudit(tx, { ...audit, details: { fingerprint, request: requestLine } });
    });
  } catch (error) {
    if (isUniqueViolation(error)) return refuseAudited('nonce already used; every request must be signed afresh.');
    throw error;
  }
  return {
    ok: true,
    actor: { name: user.name, role, userId: user.id, sessionId: null, keyFingerprint: fingerprint },
  };
}
