import { createHash, generateKeyPairSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

/**
 * What checking a signed API request costs, per key type, in-process: (1) the signature alone (rebuild the
 * signed message, SHA-256 the body, parse the SSHSIG blob, digest, node:crypto verify; the key parsed once and
 * cached, as the server does), and (2) the whole authentication on a scratch SQLite file (header checks, key
 * lookup, verification, nonce INSERT, lastUsedAt, audit row). Keys come from the real ssh-keygen; requests are
 * signed beforehand with node:crypto (the tests check those blobs against ssh-keygen -Y verify).
 */
export type SignedBenchResult = {
  rows: SignedBenchRow[];
  /** One audit row committed on its own, on the same file: what any audited change costs here. */
  auditCommit: { p50Ms: number; p95Ms: number };
};

export type SignedBenchRow = {
  keyType: string;
  /** node:crypto verify alone on a fresh key of the same type: the floor no SSHSIG reader can go below. */
  bare: { p50Ms: number; p95Ms: number };
  verify: { p50Ms: number; p95Ms: number };
  full: { p50Ms: number; p95Ms: number };
};

type BareKey = { hash: string | null; privateKey: KeyObject; publicKey: KeyObject };

const KEYS: { name: string; args: string[]; rsaHash?: 'sha256' | 'sha512'; bare: () => BareKey }[] = [
  { name: 'ed25519', args: ['-t', 'ed25519'], bare: () => ({ hash: null, ...generateKeyPairSync('ed25519') }) },
  {
    name: 'ecdsa-p256',
    args: ['-t', 'ecdsa', '-b', '256'],
    bare: () => ({ hash: 'sha256', ...generateKeyPairSync('ec', { namedCurve: 'P-256' }) }),
  },
  {
    name: 'ecdsa-p384',
    args: ['-t', 'ecdsa', '-b', '384'],
    bare: () => ({ hash: 'sha384', ...generateKeyPairSync('ec', { namedCurve: 'P-384' }) }),
  },
  {
    name: 'ecdsa-p521',
    args: ['-t', 'ecdsa', '-b', '521'],
    bare: () => ({ hash: 'sha512', ...generateKeyPairSync('ec', { namedCurve: 'P-521' }) }),
  },
  {
    name: 'rsa-3072 (rsa-sha2-512)',
    args: ['-t', 'rsa', '-b', '3072'],
    rsaHash: 'sha512',
    bare: () => ({ hash: 'sha512', ...generateKeyPairSync('rsa', { modulusLength: 3072 }) }),
  },
  {
    name: 'rsa-3072 (rsa-sha2-256)',
    args: ['-t', 'rsa', '-b', '3072'],
    rsaHash: 'sha256',
    bare: () => ({ hash: 'sha256', ...generateKeyPairSync('rsa', { modulusLength: 3072 }) }),
  },
];

function bareVerifyTimes(key: BareKey, count: number): number[] {
  const times: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const data = randomBytes(200);
    const signature = sign(key.hash, data, key.privateKey);
    const started = performance.now();
    const isValid = verify(key.hash, data, key.publicKey, signature);
    times.push(performance.now() - started);
    if (!isValid) throw new Error('bare verify failed');
  }
  return times;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

export async function benchSigned(
  options: { verifications?: number; requests?: number } = {},
): Promise<SignedBenchResult> {
  const verifications = options.verifications ?? 1000;
  // Each whole authentication commits a SQLite transaction (nonce + audit row): fewer, or the section takes minutes.
  const requests = options.requests ?? 100;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ferry-signed-bench-'));
  const { applyMigrationFiles, openSqliteFile } = await import('../server/audit/sqlite-file');
  const { createPrismaClient } = await import('../server/db');
  const { addUser } = await import('../server/auth/users');
  const { addApiKey } = await import('../server/signed-api/keys');
  const { authenticateSignedRequest } = await import('../server/signed-api/authenticate');
  const { verifierKeyFromLine, verifySshsig } = await import('../server/signed-api/sshsig');
  const { apiNamespace, signedMessage } = await import('../server/signed-api/protocol');
  const { cryptoSigner, signedRequest } = await import('../server/signed-api/testing');
  const { recordAudit } = await import('../server/audit/record');
  const file = path.join(dir, 'bench.db');
  const raw = openSqliteFile(file);
  applyMigrationFiles(raw);
  raw.close();
  const db = createPrismaClient(`file:${file}`);
  try {
    const namespace = apiNamespace('bench');
    const user = await addUser({
      db,
      name: 'bench',
      role: 'operator',
      password: 'correct horse battery',
      audit: { actor: 'bench', clientAddress: null },
    });
    const rows: SignedBenchRow[] = [];
    const body = JSON.stringify({ json: { vm: 'vm1', to: 'hv2', options: { copyStorage: 'none' } } });
    for (const [index, key] of KEYS.entries()) {
      const keyFile = path.join(dir, `key${index}`);
      execFileSync('ssh-keygen', ['-q', ...key.args, '-N', '', '-f', keyFile]);
      const signer = cryptoSigner(readFileSync(keyFile, 'utf8'), { rsaHash: key.rsaHash });
      await addApiKey({
        db,
        userId: user.id,
        publicKey: signer.publicKeyLine,
        audit: { actor: 'bench', clientAddress: null },
      });
      const verifier = verifierKeyFromLine(signer.publicKeyLine);
      const signed = Array.from({ length: verifications }, () =>
        signedRequest({ signer, namespace, url: 'http://127.0.0.1/api/trpc/migration.start', body }),
      );
      const bareTimes = bareVerifyTimes(key.bare(), verifications);
      const verifyTimes: number[] = [];
      for (const request of signed) {
        const headers = request.headers;
        const started = performance.now();
        const message = signedMessage({
          method: 'POST',
          target: '/api/trpc/migration.start',
          bodySha256: createHash('sha256').update(body).digest('hex'),
          timestamp: Number(headers.get('x-ferry-timestamp')),
          nonce: headers.get('x-ferry-nonce') ?? '',
          fingerprint: signer.fingerprint,
        });
        const blob = Buffer.from(headers.get('x-ferry-signature') ?? '', 'base64');
        const check = verifySshsig({ blob, message, namespace, key: verifier });
        verifyTimes.push(performance.now() - started);
        if (check !== 'ok') throw new Error(`${key.name}: ${check}`);
      }
      const fullTimes: number[] = [];
      for (const request of signed.slice(0, requests)) {
        const started = performance.now();
        const outcome = await authenticateSignedRequest({ db, request, clientAddress: '127.0.0.1', namespace });
        fullTimes.push(performance.now() - started);
        if (!outcome.ok) throw new Error(`${key.name}: ${outcome.message}`);
      }
      rows.push({
        keyType: key.name,
        bare: { p50Ms: percentile(bareTimes, 50), p95Ms: percentile(bareTimes, 95) },
        verify: { p50Ms: percentile(verifyTimes, 50), p95Ms: percentile(verifyTimes, 95) },
        full: { p50Ms: percentile(fullTimes, 50), p95Ms: percentile(fullTimes, 95) },
      });
    }
    const auditTimes: number[] = [];
    for (let i = 0; i < requests; i += 1) {
      const started = performance.now();
      await db.$transaction((tx) => recordAudit(tx, { actor: 'bench', action: 'bench.floor', details: { i } }));
      auditTimes.push(performance.now() - started);
    }
    return { rows, auditCommit: { p50Ms: percentile(auditTimes, 50), p95Ms: percentile(auditTimes, 95) } };
  } finally {
    await db.$disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}
