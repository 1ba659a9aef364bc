import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addHost, removeHost } from '../hosts/service';
import { createTestDb, type TestDb } from '../testing/test-db';
import { verifyAuditChain } from './verify';

const WHO = { actor: 'alice', clientAddress: '192.0.2.10' };

/** Makes every audit insert fail inside SQLite, as a full disk or a broken trigger would. */
function breakAuditWrites(t: TestDb) {
  t.raw.exec(
    `CREATE TRIGGER "test_audit_unavailable" BEFORE INSERT ON "AuditEvent" BEGIN SELECT RAISE(ABORT, 'audit store unavailable'); END;`,
  );
}

describe('a change and its audit row commit together or not at all', () => {
  let t: TestDb;
  beforeEach(() => {
    t = createTestDb();
  });
  afterEach(() => t.cleanup());

  it('adding a host writes the host and its host.add row, chained', async () => {
    const host = await addHost({ db: t.db, input: { alias: 'hv1', reference: 'test:///default' }, audit: WHO });
    expect(await t.db.host.count()).toBe(1);
    const rows = await t.db.auditEvent.findMany();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      action: 'host.add',
      result: 'ok',
      hostAlias: host.alias,
      actor: 'alice',
      clientAddress: '192.0.2.10',
    });
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
  });

  it('a failing audit write rolls back the host insert: no change without its audit row', async () => {
    breakAuditWrites(t);
    await expect(
      addHost({ db: t.db, input: { alias: 'hv1', reference: 'test:///default' }, audit: WHO }),
    ).rejects.toThrow(/audit store unavailable/);
    expect(await t.db.host.count()).toBe(0);
    expect(await t.db.auditEvent.count()).toBe(0);
  });

  it('a failing audit write rolls back a host removal too', async () => {
    const host = await addHost({ db: t.db, input: { alias: 'hv1', reference: 'test:///default' }, audit: WHO });
    breakAuditWrites(t);
    await expect(removeHost({ db: t.db, id: host.id, audit: WHO })).rejects.toThrow(/audit store unavailable/);
    expect(await t.db.host.findUnique({ where: { id: host.id } })).not.toBeNull();
    expect(await t.db.auditEvent.count()).toBe(1);
  });

  it('a refused change writes no host.add "ok" row: no audit row for a change that did not happen', async () => {
    await addHost({ db: t.db, input: { alias: 'hv1', reference: 'test:///default' }, audit: WHO });
    await expect(
      addHost({ db: t.db, input: { alias: 'hv1', reference: 'test:///default' }, audit: WHO }),
    ).rejects.toThrow(/already exists/);
    expect(await t.db.host.count()).toBe(1);
    expect(await t.db.auditEvent.count({ where: { action: 'host.add', result: 'ok' } })).toBe(1);
  });
});
