import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrismaClient } from '../db';
import { createTestDb, type TestDb } from '../testing/test-db';
import { setEventStreamSource } from './event-streams';
import { publicHealth, readHealth } from './health';

describe('health', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = createTestDb();
    await t.db.host.createMany({
      data: ['hv1', 'hv2'].map((alias) => ({
        alias,
        uri: `qemu+ssh://root@${alias}/system?keyfile=/secret/keys/${alias}`,
        displayUri: `qemu+ssh://root@${alias}/system`,
        displayName: alias,
      })),
    });
  });
  afterAll(() => t.cleanup());

  it('lists each host with no stream state while no stream source is registered, and no URI', async () => {
    const health = await readHealth(t.db);
    expect(health).toEqual({
      ok: true,
      database: 'up',
      hosts: [
        { alias: 'hv1', eventStream: null },
        { alias: 'hv2', eventStream: null },
      ],
    });
    expect(JSON.stringify(health)).not.toContain('://');
  });

  it("reports each host's stream from the registered source; a host without one has none", async () => {
    setEventStreamSource(() => [{ hostAlias: 'hv1', up: false, state: 'reconnecting since 12:03' }]);
    try {
      expect((await readHealth(t.db)).hosts).toEqual([
        { alias: 'hv1', eventStream: { up: false, state: 'reconnecting since 12:03' } },
        { alias: 'hv2', eventStream: { up: false, state: 'none' } },
      ]);
    } finally {
      setEventStreamSource(null);
    }
  });

  it('tells a caller without a session how many streams are up, never which hosts Ferry manages', async () => {
    expect(publicHealth(await readHealth(t.db))).toEqual({ ok: true, database: 'up', eventStreams: null });
    setEventStreamSource(() => [{ hostAlias: 'hv1', up: true, state: 'live' }]);
    try {
      const report = publicHealth(await readHealth(t.db));
      expect(report).toEqual({ ok: true, database: 'up', eventStreams: { up: 1, total: 2 } });
      expect(JSON.stringify(report)).not.toMatch(/hv1|hv2/);
    } finally {
      setEventStreamSource(null);
    }
  });

  it('says the database is down when it does not answer', async () => {
    const unreachable = createPrismaClient('file:/nonexistent-dir/ferry/health.db');
    try {
      expect(await readHealth(unreachable)).toEqual({ ok: false, database: 'down', hosts: [] });
    } finally {
      await unreachable.$disconnect().catch(() => {});
    }
  });
});
