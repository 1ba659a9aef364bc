import { createHash, createPublicKey, verify } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { apiNamespace, canonicalTarget, signedMessage, sshsigSignedData } from './protocol';

describe('canonicalTarget', () => {
  it('sorts the query by name, then value, and keeps the path', () => {
    expect(canonicalTarget('/api/trpc/fleet.list?input=%7B%7D&batch=1')).toBe(
      '/api/trpc/fleet.list?batch=1&input=%7B%7D',
    );
    expect(canonicalTarget('/x?b=2&a=3&a=1')).toBe('/x?a=1&a=3&b=2');
  });

  it('gives one spelling whichever way the client encoded the query', () => {
    expect(canonicalTarget("/x?q=a b&r=it's")).toBe(canonicalTarget('/x?q=a+b&r=it%27s'));
    expect(canonicalTarget('/x?q=a%20b')).toBe('/x?q=a%20b');
  });

  it('drops an empty query', () => {
    expect(canonicalTarget('/api/trpc/hosts.list')).toBe('/api/trpc/hosts.list');
    expect(canonicalTarget('/api/trpc/hosts.list?')).toBe('/api/trpc/hosts.list');
  });
});

describe('signedMessage', () => {
  const parts = {
    method: 'post',
    target: '/api/trpc/migration.start?b=1&a=2',
    bodySha256: createHash('sha256').update('{}').digest('hex'),
    timestamp: 1764705600,
    nonce: 'AAAAAAAAAAAAAAAAAAAAAA',
    fingerprint: 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU',
  };

  it('puts every part on its own line, method upper-cased, query sorted', () => {
    expect(signedMessage(parts).split('\n')).toEqual([
      'ferry-api-v1',
      'POST',
      '/api/trpc/migration.start?a=2&b=1',
      parts.bodySha256,
      '1764705600',
      'AAAAAAAAAAAAAAAAAAAAAA',
      parts.fingerprint,
    ]);
  });

  it('changes when any part changes', () => {
    const base = signedMessage(parts);
    for (const changed of [
      { ...parts, method: 'GET' },
      { ...parts, target: '/api/trpc/migration.cancel?a=2&b=1' },
      { ...parts, target: '/api/trpc/migration.start?a=3&b=1' },
      { ...parts, bodySha256: createHash('sha256').update('{ }').digest('hex') },
      { ...parts, timestamp: parts.timestamp + 1 },
      { ...parts, nonce: 'BAAAAAAAAAAAAAAAAAAAAA' },
    ]) {
      expect(signedMessage(changed)).not.toBe(base);
    }
  });
});

describe('sshsigSignedData', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ferry-sshsig-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is exactly what ssh-keygen -Y sign signs (its signature verifies over these bytes)', () => {
    const key = path.join(dir, 'id');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const messageFile = path.join(dir, 'msg');
    const message = 'ferry-api-v1\nGET\n/api/trpc/hosts.list\n';
    writeFileSync(messageFile, message);
    const namespace = apiNamespace('test');
    execFileSync('ssh-keygen', ['-q', '-Y', 'sign', '-f', key, '-n', namespace, messageFile]);
    const armored = readFileSync(`${messageFile}.sig`, 'utf8');
    const blob = Buffer.from(armored.replace(/-----[^-]+-----/g, '').replace(/\s/g, ''), 'base64');
    // Walk the blob: magic, version, then five strings; the last is `string format, string raw signature`.
    let offset = 10;
    const next = (): Buffer => {
      const length = blob.readUInt32BE(offset);
      const value = blob.subarray(offset + 4, offset + 4 + length);
      offset += 4 + length;
      return value;
    };
    const publicKey = next();
    expect(next().toString()).toBe(namespace);
    expect(next().toString()).toBe('');
    expect(next().toString()).toBe('sha512');
    const signature = next();
    const raw = signature.subarray(4 + signature.readUInt32BE(0) + 4);
    const rawPublic = publicKey.subarray(4 + publicKey.readUInt32BE(0) + 4);

    const data = sshsigSignedData(namespace, 'sha512', createHash('sha512').update(message).digest());
    const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), rawPublic]);
    const keyObject = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    expect(verify(null, data, keyObject, raw)).toBe(true);
    expect(verify(null, Buffer.concat([data, Buffer.from('x')]), keyObject, raw)).toBe(false);
  });
});
