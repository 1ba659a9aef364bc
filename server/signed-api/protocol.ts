/**
 * The wire contract of Ferry's SSH-key-signed API, shared by the server (verifier) and the `ferry` CLI (signer).
 *
 * A signed request carries four headers and no cookie:
 *   x-ferry-key:        SHA256:<base64, no padding>     the key's fingerprint, as `ssh-keygen -lf` prints it
 *   x-ferry-timestamp:  1764705600                       unix seconds; the server refuses |now - t| > 60 s
 *   x-ferry-nonce:      22–64 chars of [A-Za-z0-9_-]     random (16+ bytes, base64url); seen nonces are refused
 *   x-ferry-signature:  <base64 of the binary SSHSIG blob> (PROTOCOL.sshsig, not the armored PEM-like form)
 *
 * The SSHSIG namespace is `ferry-api@<deployment name>`, so a signature made for anything else (git commits,
 * another Ferry deployment) never verifies. The signed message (what `ssh-keygen -Y sign -n <ns>` is fed) is
 * the lines of {@link signedMessage}: every part of the request that changes its meaning — method, path, the
 * query sorted, the body's SHA-256 — plus the freshness pair (timestamp, nonce) and the key's fingerprint, so a
 * captured request cannot be re-aimed at another path, another query, another body, or replayed.
 *
 * Pure: no node:* imports, so the CLI and the server import the same bytes.
 */

export const SIGNATURE_HEADERS = {
  key: 'x-ferry-key',
  timestamp: 'x-ferry-timestamp',
  nonce: 'x-ferry-nonce',
  signature: 'x-ferry-signature',
} as const;

/** Requests signed further than this from the server's clock are refused; seen nonces are kept this long. */
export const MAX_CLOCK_SKEW_SECONDS = 60;

export const NONCE_PATTERN = /^[A-Za-z0-9_-]{22,64}$/;
export const FINGERPRINT_PATTERN = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** First line of every signed message: a version, so the format can change without old signatures verifying. */
export const MESSAGE_VERSION = 'ferry-api-v1';

export const SSHSIG_MAGIC = 'SSHSIG';
export const SSHSIG_VERSION = 1;
/** The hash the message is digested with inside SSHSIG; ssh-keygen's default. sha256 is accepted on verify. */
export const SSHSIG_HASH = 'sha512';

export function apiNamespace(deploymentName: string): string {
  return `ferry-api@${deploymentName}`;
}

// RFC 3986 unreserved characters stay, everything else is %XX (uppercase): one spelling per query, whichever
// encoder the client used.
function encodeQueryPart(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * `/api/trpc/fleet.list?input=…&batch=1` → `/api/trpc/fleet.list?batch=1&input=…`: the path as sent, the query
 * decoded, sorted by name then value, and re-encoded; no `?` when there is no query.
 */
export function canonicalTarget(pathAndQuery: string): string {
  const questionMark = pathAndQuery.indexOf('?');
  const path = questionMark === -1 ? pathAndQuery : pathAndQuery.slice(0, questionMark);
  const query = questionMark === -1 ? '' : pathAndQuery.slice(questionMark + 1);
  const pairs = [...new URLSearchParams(query)].sort(([aName, aValue], [bName, bValue]) =>
    aName === bName ? compare(aValue, bValue) : compare(aName, bName),
  );
  if (pairs.length === 0) return path;
  return `${path}?${pairs.map(([name, value]) => `${encodeQueryPart(name)}=${encodeQueryPart(value)}`).join('&')}`;
}

function compare(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

export type SignedParts = {
  method: string;
  /** Path and query as sent (canonicalised here). */
  target: string;
  /** Lower-case hex SHA-256 of the raw body bytes; of the empty string for a request without a body. */
  bodySha256: string;
  timestamp: number;
  nonce: string;
  fingerprint: string;
};

export function signedMessage(parts: SignedParts): string {
  return [
    MESSAGE_VERSION,
    parts.method.toUpperCase(),
    canonicalTarget(parts.target),
    parts.bodySha256,
    String(parts.timestamp),
    parts.nonce,
    parts.fingerprint,
  ].join('\n');
}

/** SSH wire `string`: uint32 big-endian length, then the bytes. */
export function sshString(value: Uint8Array | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/**
 * The bytes an SSHSIG signature is computed over (PROTOCOL.sshsig §"Signed Data"):
 *   byte[6] "SSHSIG" · string namespace · string reserved ("") · string hash_algorithm · string H(message)
 */
export function sshsigSignedData(namespace: string, hashAlgorithm: string, messageDigest: Uint8Array): Buffer {
  return Buffer.concat([
    Buffer.from(SSHSIG_MAGIC, 'ascii'),
    sshString(namespace),
    sshString(''),
    sshString(hashAlgorithm),
    sshString(messageDigest),
  ]);
}

/**
 * The SSHSIG blob (PROTOCOL.sshsig §"Blob format", before armoring):
 *   byte[6] "SSHSIG" · uint32 1 · string publickey · string namespace · string reserved · string hash_algorithm ·
 *   string signature (itself `string sig-format · string sig-bytes`, as an agent returns it)
 */
export function sshsigBlob(options: {
  publicKey: Uint8Array;
  namespace: string;
  hashAlgorithm: string;
  signature: Uint8Array;
}): Buffer {
  const version = Buffer.alloc(4);
  version.writeUInt32BE(SSHSIG_VERSION);
  return Buffer.concat([
    Buffer.from(SSHSIG_MAGIC, 'ascii'),
    version,
    sshString(options.publicKey),
    sshString(options.namespace),
    sshString(''),
    sshString(options.hashAlgorithm),
    sshString(options.signature),
  ]);
}
