import { redactErrorText } from '../redact';

/**
 * What a log line may carry. Logs leave the box (a shipper, a ticket), so the same rules as for a browser hold:
 * no secret, no cookie, no signature header, no key path. Fields named like a credential are dropped whatever
 * they hold; any text that quotes a URI loses the URI's query (where `keyfile=` lives) and its file paths;
 * errors keep their message only after redactErrorText (libvirt quotes files and URIs in its errors).
 */
const SECRET_KEY =
  /^(?:cookie|set-cookie|authorization|password|passphrase|secret|token|session|signature|x-ferry-signature|.*(?:secret|password|token|cookie|signature)s?)$/i;
const MAX_DEPTH = 6;

export const REDACTED = '[redacted]';

function redactString(text: string): string {
  // Only text that names a URI or a key file goes through the error redaction: it replaces every absolute path,
  // which would also blank a request path such as /api/health.
  return /:\/\/|keyfile|\.lab\/keys|id_(?:rsa|ed25519|ecdsa)/i.test(text) ? redactErrorText(text) : text;
}

export function serializeError(error: unknown, depth = 0): Record<string, unknown> {
  // pino may hand the serializer a record redactLogRecord already turned into a plain object.
  if (typeof error === 'object' && error !== null && !(error instanceof Error)) {
    return redactLogRecord(error, depth + 1) as Record<string, unknown>;
  }
  if (!(error instanceof Error)) return { message: redactErrorText(String(error)) };
  const frames = (error.stack ?? '')
    .split('\n')
    .filter((line) => /^\s+at /.test(line))
    .slice(0, 12)
    .map((line) => line.trim());
  const serialized: Record<string, unknown> = {
    type: error.name,
    message: redactErrorText(error.message),
    stack: frames,
  };
  if ('kind' in error && typeof error.kind === 'string') serialized.kind = error.kind;
  if ('code' in error && (typeof error.code === 'string' || typeof error.code === 'number')) {
    serialized.code = error.code;
  }
  if (error.cause !== undefined && depth < 3) serialized.cause = serializeError(error.cause, depth + 1);
  return serialized;
}

/** A log record made safe: see the module comment. Never throws, never mutates its input. */
export function redactLogRecord(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactString(value);
  if (value instanceof Error) return serializeError(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[nested]';
  if (Array.isArray(value)) return value.map((item) => redactLogRecord(item, depth + 1));
  if (value instanceof Date) return value.toISOString();
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = SECRET_KEY.test(key) ? REDACTED : redactLogRecord(item, depth + 1);
  }
  return out;
}
