import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeAuditHash, recordAudit } from './record';
import { openSqliteFile, toSqliteTimestamp } from './sqlite-file';
import { createTestDb, type TestDb } from '../testing/test-db';

const run = promisify(execFile);

describe('prisma migrate deploy', () => {
  it('creates the append-only triggers, the chain-link trigger and the search index', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ferry-migrate-'));
    const file = path.join(dir, 'deploy.db');
    try {
      await run('npx', ['prisma', 'migrate', 'deploy'], {
        env: { ...process.env, DATABASE_URL: `file:${file}` },
        cwd: process.cwd(),
      });
      const sqlite = openSqliteFile(file, { readonly: true });
      const names = (
        sqlite
          .prepare(`SELECT "name" FROM "sqlite_master" WHERE "type" IN ('trigger', 'table') ORDER BY "name"`)
          .all() as { name: string }[]
      ).map((row) => row.name);
      sqlite.close();
      expect(names).toEqual(
        expect.arrayContaining([
          'AuditEvent_no_update',
          'AuditEvent_no_delete',
          'AuditEvent_chain_link',
          'AuditEvent_search_insert',
          'AuditEventSearch',
        ]),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the database refuses to change the audit log', () => {
  let t: TestDb;

  beforeAll(async () => {
    t = createTestDb();
    for (const action of ['host.add', 'host.edit', 'host.remove']) {
      await t.db.$transaction((tx) =>
        recordAudit(tx, {
          actor: 'alice',
          clientAddress: '10.0.0.1',
          action,
          hostAlias: 'hv1',
          details: { n: action },
        }),
      );
    }
  });
  afterAll(() => t.cleanup());

  it('refuses UPDATE through Prisma and through raw SQL, and the row is unchanged', async () => {
    await expect(t.db.auditEvent.update({ where: { id: 2 }, data: { actor: 'mallory' } })).rejects.toThrow();
    await expect(t.db.$executeRaw`UPDATE "AuditEvent" SET "details" = '{}' WHERE "id" = 2`).rejects.toThrow(
      /append-only: UPDATE refused/,
    );
    expect(() => t.raw.prepare(`UPDATE "AuditEvent" SET "result" = 'ok'`).run()).toThrow(/append-only: UPDATE refused/);
    const row = await t.db.auditEvent.findUniqueOrThrow({ where: { id: 2 } });
    expect(row.actor).toBe('alice');
    expect(row.details).toBe('{"n":"host.edit"}');
  });

  it('refuses DELETE through Prisma and through raw SQL, and every row is still there', async () => {
    await expect(t.db.auditEvent.deleteMany({})).rejects.toThrow();
    await expect(t.db.$executeRaw`DELETE FROM "AuditEvent" WHERE "id" = 3`).rejects.toThrow(
      /append-only: DELETE refused/,
    );
    expect(() => t.raw.prepare(`DELETE FROM "AuditEvent"`).run()).toThrow(/append-only: DELETE refused/);
    expect(await t.db.auditEvent.count()).toBe(3);
  });

  it('refuses a row that does not link to the last hash, so concurrent writers cannot fork the chain', async () => {
    const last = await t.db.auditEvent.findFirstOrThrow({ orderBy: { id: 'desc' } });
    const fields = {
      at: new Date(),
      actor: 'bob',
      clientAddress: null,
      action: 'host.add',
      result: 'ok',
      hostAlias: 'hv2',
      vmName: null,
      migrationId: null,
      details: '{}',
    };
    const stale = { ...fields, prevHash: last.prevHash };
    const insert = t.raw.prepare(
      `INSERT INTO "AuditEvent" ("at", "actor", "action", "result", "hostAlias", "details", "prevHash", "hash") VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const values = (row: typeof stale, hash: string) => [
      toSqliteTimestamp(row.at),
      row.actor,
      row.action,
      row.result,
      row.hostAlias,
      row.details,
      row.prevHash,
      hash,
    ];
    expect(() => insert.run(...values(stale, computeAuditHash(stale)))).toThrow(/AuditEvent chain/);
    // A row written without recordAudit (no hash) is refused too.
    const current = { ...fields, prevHash: last.hash };
    expect(() => insert.run(...values(current, ''))).toThrow(/AuditEvent chain/);
    expect(() => insert.run(...values(current, computeAuditHash(current)))).not.toThrow();
    expect(await t.db.auditEvent.count()).toBe(4);
  });

  it('links each row recorded by recordAudit to the one before, starting from an empty prevHash', async () => {
    const rows = await t.db.auditEvent.findMany({ orderBy: { id: 'asc' } });
    expect(rows[0]?.prevHash).toBe('');
    for (let i = 1; i < rows.length; i++) expect(rows[i]?.prevHash).toBe(rows[i - 1]?.hash);
    for (const row of rows) expect(computeAuditHash(row)).toBe(row.hash);
  });

  it('indexes details that are not JSON as plain text instead of refusing the row', async () => {
    const last = await t.db.auditEvent.findFirstOrThrow({ orderBy: { id: 'desc' } });
    const row = {
      at: new Date(),
      actor: 'script',
      clientAddress: null,
      action: 'host.edit',
      result: 'ok',
      hostAlias: null,
      vmName: null,
      migrationId: null,
      details: 'not json: quokka',
      prevHash: last.hash,
    };
    const inserted = t.raw
      .prepare(
        `INSERT INTO "AuditEvent" ("at", "actor", "action", "result", "details", "prevHash", "hash") VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        toSqliteTimestamp(row.at),
        row.actor,
        row.action,
        row.result,
        row.details,
        row.prevHash,
        computeAuditHash(row),
      );
    const hits = t.raw
      .prepare(`SELECT "rowid" FROM "AuditEventSearch" WHERE "AuditEventSearch" MATCH 'quokka'`)
      .all() as { rowid: number }[];
    expect(hits.map((hit) => hit.rowid)).toEqual([Number(inserted.lastInsertRowid)]);
  });

  it('indexes details for search as rows are appended', async () => {
    await t.db.$transaction((tx) =>
      recordAudit(tx, { actor: 'carol', action: 'aliases.import', details: { imported: ['zanzibar-hv'] } }),
    );
    const hits = t.raw
      .prepare(`SELECT "rowid" FROM "AuditEventSearch" WHERE "AuditEventSearch" MATCH '"zanzibar"*'`)
      .all() as { rowid: number }[];
    const row = await t.db.auditEvent.findFirstOrThrow({ where: { actor: 'carol' } });
    expect(hits.map((hit) => hit.rowid)).toEqual([row.id]);
  });
});
