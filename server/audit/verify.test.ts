import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { computeAuditHash, recordAudit } from './record';
import { createTestDb, type TestDb } from '../testing/test-db';
import { verifyAuditChain } from './verify';

const ROWS = 12;

/**
 * Tampering "behind Ferry's back": the triggers are dropped through a direct SQLite connection, as someone
 * with the database file could, and the chain must still tell.
 */
function dropGuards(t: TestDb) {
  t.raw.exec(
    `DROP TRIGGER "AuditEvent_no_update"; DROP TRIGGER "AuditEvent_no_delete"; DROP TRIGGER "AuditEvent_chain_link";`,
  );
}

describe('verifyAuditChain', () => {
  let t: TestDb;

  beforeEach(async () => {
    t = createTestDb();
    for (let i = 1; i <= ROWS; i++) {
      await t.db.$transaction((tx) =>
        recordAudit(tx, {
          actor: i % 2 ? 'alice' : 'bob',
          action: 'host.edit',
          hostAlias: `hv${i}`,
          details: { changes: { displayName: { from: `old ${i}`, to: `new ${i}` } } },
        }),
      );
    }
  });
  afterEach(() => t.cleanup());

  it('reports an intact chain, across several batches', async () => {
    const report = await verifyAuditChain(t.db, { batchSize: 5 });
    expect(report).toMatchObject({ ok: true, checked: ROWS, firstId: 1, lastId: ROWS, firstBreak: null });
  });

  it('reports an empty log as intact', async () => {
    const empty = createTestDb();
    try {
      expect(await verifyAuditChain(empty.db)).toMatchObject({ ok: true, checked: 0, firstId: null, lastId: null });
    } finally {
      await empty.cleanup();
    }
  });

  it('finds exactly the row whose details were edited with raw SQL', async () => {
    dropGuards(t);
    t.raw.prepare(`UPDATE "AuditEvent" SET "details" = ? WHERE "id" = 7`).run(JSON.stringify({ changes: {} }));
    const report = await verifyAuditChain(t.db, { batchSize: 5 });
    expect(report.ok).toBe(false);
    expect(report.firstBreak).toMatchObject({ id: 7, reason: 'content-changed', missingIds: null });
    expect(report.checked).toBe(6);
  });

  it('finds an edited actor and an edited timestamp', async () => {
    dropGuards(t);
    t.raw.prepare(`UPDATE "AuditEvent" SET "actor" = 'mallory' WHERE "id" = 3`).run();
    expect((await verifyAuditChain(t.db)).firstBreak).toMatchObject({ id: 3, reason: 'content-changed' });

    const second = createTestDb();
    try {
      for (let i = 0; i < 3; i++)
        await second.db.$transaction((tx) => recordAudit(tx, { actor: 'alice', action: 'host.add', details: {} }));
      dropGuards(second);
      second.raw.prepare(`UPDATE "AuditEvent" SET "at" = '2020-01-01T00:00:00.000+00:00' WHERE "id" = 2`).run();
      expect((await verifyAuditChain(second.db)).firstBreak).toMatchObject({ id: 2, reason: 'content-changed' });
    } finally {
      await second.cleanup();
    }
  });

  it('finds a row rewritten with a recomputed hash at the next row, whose link no longer matches', async () => {
    dropGuards(t);
    const row = await t.db.auditEvent.findUniqueOrThrow({ where: { id: 5 } });
    const forged = { ...row, actor: 'mallory' };
    t.raw
      .prepare(`UPDATE "AuditEvent" SET "actor" = ?, "hash" = ? WHERE "id" = 5`)
      .run(forged.actor, computeAuditHash(forged));
    const report = await verifyAuditChain(t.db);
    expect(report.firstBreak).toMatchObject({ id: 6, reason: 'link-broken', missingIds: null });
  });

  it('finds a deleted row in the middle and names the missing id', async () => {
    dropGuards(t);
    t.raw.prepare(`DELETE FROM "AuditEvent" WHERE "id" = 4`).run();
    const report = await verifyAuditChain(t.db, { batchSize: 5 });
    expect(report.firstBreak).toMatchObject({ id: 5, reason: 'rows-missing', missingIds: { from: 4, to: 4 } });
    expect(report.firstBreak?.message).toContain('row 4 is missing');
  });

  it('finds deleted rows at the start and at the end', async () => {
    dropGuards(t);
    t.raw.prepare(`DELETE FROM "AuditEvent" WHERE "id" IN (11, 12)`).run();
    expect((await verifyAuditChain(t.db)).firstBreak).toMatchObject({
      id: 11,
      reason: 'rows-missing',
      missingIds: { from: 11, to: 12 },
    });

    t.raw.prepare(`DELETE FROM "AuditEvent" WHERE "id" = 1`).run();
    expect((await verifyAuditChain(t.db)).firstBreak).toMatchObject({
      id: 2,
      reason: 'rows-missing',
      missingIds: { from: 1, to: 1 },
    });
  });
});
