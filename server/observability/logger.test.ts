import { readFileSync, rmSync } from 'node:fs';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { VirshError } from '../hypervisor/executor';
import { REDACTED } from './log-redact';
import { logger, logMigrationState, logUnexpected } from './logger';
import { loggedPath, requestIdFor } from './request-log';

/** The real pino logger writing to a real file (FERRY_LOG_FILE), read back line by line. */
const setup = vi.hoisted(() => {
  const file = `${process.env.TMPDIR ?? '/tmp'}/ferry-logger-${process.pid}-${Date.now()}.log`;
  process.env.FERRY_LOG_FILE = file;
  process.env.LOG_LEVEL = 'debug';
  process.env.FERRY_LOG_PRETTY = '0';
  return { file };
});

const KEY_PATH = '/work/wt/ops/.lab/keys/id_ed25519';
const URI = `qemu+ssh://root@10.77.0.2/system?keyfile=${KEY_PATH}&no_verify=1`;

function lines(): Record<string, unknown>[] {
  return readFileSync(setup.file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('structured logs', () => {
  afterAll(() => rmSync(setup.file, { force: true }));

  it('writes one JSON line per call with level, time, and the fields given', () => {
    logMigrationState({ migrationId: 'cm1abc', state: 'running' });
    const line = lines().at(-1);
    expect(line).toMatchObject({ level: 'info', event: 'migration.state', migrationId: 'cm1abc', state: 'running' });
    expect(typeof line?.time).toBe('string');
  });

  it('never writes a key path, a URI query, a cookie or a signature header', () => {
    const error = new VirshError({
      kind: 'exit',
      message: `virsh -c ${URI} list exited with 1: Cannot recv data: Host key verification failed`,
      argv: ['virsh', '-c', URI, 'list'],
      exitCode: 1,
      stderr: `Warning: Identity file ${KEY_PATH} not accessible\nerror: failed to connect to ${URI}`,
    });
    logUnexpected({ ref: 'deadbeef', where: 'host.add', error: new Error('wrapped', { cause: error }) });
    logger().warn(
      {
        event: 'test',
        headers: {
          cookie: 'ferry_session=s3cr3t-session',
          'x-ferry-signature': 'sig=abc',
          authorization: 'Bearer t0k',
        },
        detail: `connecting to ${URI}`,
        password: 'hunter2',
      },
      'headers seen',
    );
    const text = readFileSync(setup.file, 'utf8');
    // `keyfile=…` may stay (it says a key is used); the path after it may not.
    for (const secret of [KEY_PATH, '.lab/keys', 'id_ed25519', 's3cr3t-session', 'sig=abc', 't0k', 'hunter2']) {
      expect(text).not.toContain(secret);
    }
    const [unexpected, headers] = lines().slice(-2);
    expect(unexpected).toMatchObject({ level: 'error', ref: 'deadbeef', where: 'host.add', event: 'unexpected-error' });
    expect(JSON.stringify(unexpected)).toContain('wrapped');
    expect(JSON.stringify(unexpected)).toContain('virsh -c qemu+ssh://root@10.77.0.2/');
    expect(unexpected?.err).toMatchObject({ type: 'Error', cause: { type: 'VirshError', kind: 'exit' } });
    // A VirshError's stderr and argv are not copied into the log line (they quote files and URIs verbatim).
    expect(JSON.stringify(unexpected)).not.toContain('Identity file');
    expect(headers).toMatchObject({
      headers: { cookie: REDACTED, 'x-ferry-signature': REDACTED, authorization: REDACTED },
      password: REDACTED,
      detail: 'connecting to qemu+ssh://root@10.77.0.2/system?keyfile=…&no_verify=1',
    });
  });

  it('logs a request path without its query, and keeps only a sane request id', () => {
    expect(loggedPath(`/api/trpc/host.add?input=${encodeURIComponent(URI)}`)).toBe('/api/trpc/host.add');
    expect(loggedPath('/metrics#x')).toBe('/metrics');
    expect(requestIdFor('req-1234abcd')).toBe('req-1234abcd');
    const replaced = requestIdFor('evil\nline injected');
    expect(replaced).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('honours LOG_LEVEL (debug here: trace is dropped)', () => {
    const before = lines().length;
    logger().trace({ event: 'too-detailed' }, 'not written');
    logger().debug({ event: 'detailed' }, 'written');
    expect(
      lines()
        .slice(before)
        .map((line) => line.event),
    ).toEqual(['detailed']);
  });
});
