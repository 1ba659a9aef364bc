import { lstatSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { env } from '../env';
import { MAX_KEYFILE_BYTES } from '../hypervisor/keyfile';
import { UserError } from '../errors';
import { checkUriPolicy, isPathInside, parseLibvirtUri, type LibvirtUri, type UriPolicy } from '../libvirt/uri';

/** The policy from server configuration; directories are made absolute against the working directory. */
export function serverUriPolicy(): Required<UriPolicy> {
  return {
    testDriverDir: path.resolve(env.FERRY_TEST_DRIVER_DIR),
    keyDir: path.resolve(env.FERRY_KEY_DIR),
    allowed: env.FERRY_ALLOW_UNSAFE_URI,
  };
}

function realOrNull(file: string): string | null {
  try {
    return realpathSync(file);
  } catch {
    return null;
  }
}

/**
 * The keyfile must be a regular file of at most 64 KiB whose real path (symlinks resolved) is under the key
 * directory. Checked before anything reads it; the sentence never names the path.
 */
export function checkKeyfile(file: string, keyDir: string): string | null {
  const realFile = realOrNull(file);
  const realDir = realOrNull(keyDir);
  if (realFile === null || realDir === null) return 'The keyfile does not exist in the configured key directory.';
  if (!isPathInside(realFile, realDir))
    return 'The keyfile must be a file under the key directory configured on the server.';
  const stats = lstatSync(realFile);
  if (!stats.isFile()) return 'The keyfile is not a regular file.';
  if (stats.size > MAX_KEYFILE_BYTES)
    return `The keyfile is larger than ${MAX_KEYFILE_BYTES / 1024} KiB, so it is not an ssh key.`;
  return null;
}

function checkTestDriverFile(file: string, dir: string): string | null {
  const realFile = realOrNull(file);
  const realDir = realOrNull(dir);
  if (realFile === null || realDir === null) return 'The test-driver file does not exist.';
  if (!isPathInside(realFile, realDir)) {
    return 'A test:/// path must name a file under the configured test-driver directory.';
  }
  return null;
}

export type UriVerdict = { ok: true; warnings: string[] } | { ok: false; error: string };

/**
 * The pure policy plus the file checks that need the disk: what a host URI may do on this server. Synchronous on
 * purpose (a realpath and an lstat) so the executor source can refuse before it makes anything.
 */
export function judgeUri(uri: LibvirtUri, policy: Required<UriPolicy> = serverUriPolicy()): UriVerdict {
  const checked = checkUriPolicy(uri, policy);
  if (!checked.ok) return checked;
  if (uri.params.keyfile !== undefined) {
    const problem = checkKeyfile(uri.params.keyfile, policy.keyDir);
    if (problem !== null) return { ok: false, error: problem };
  }
  if (uri.driver === 'test' && uri.path !== '/default' && !policy.allowed.includes('test-path')) {
    const problem = checkTestDriverFile(uri.path, policy.testDriverDir);
    if (problem !== null) return { ok: false, error: problem };
  }
  return checked;
}

/** For the host form: a refused URI is a UserError on the reference field. */
export function assertUriAllowed(uri: LibvirtUri): string[] {
  const verdict = judgeUri(uri);
  if (!verdict.ok) throw new UserError({ field: 'reference', message: verdict.error });
  return verdict.warnings;
}

/** Thrown before any executor is made for a registered host whose stored URI the policy now refuses. */
export class RefusedUriError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RefusedUriError';
  }

  /** Recognised across the several copies of this module that Next.js bundles (see UserError). */
  static [Symbol.hasInstance](value: unknown): boolean {
    return value instanceof Error && value.name === 'RefusedUriError';
  }
}

/** For hosts already in the database (registered before these rules, or edited by hand). */
export function assertStoredUriAllowed(uriText: string): void {
  const parsed = parseLibvirtUri(uriText);
  if (!parsed.ok) throw new RefusedUriError(`The stored URI of this host is no longer valid: ${parsed.error}`);
  const verdict = judgeUri(parsed.uri);
  if (!verdict.ok) throw new RefusedUriError(`Ferry no longer connects to this host: ${verdict.error}`);
}
