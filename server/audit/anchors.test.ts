import { execFile } from 'node:child_process';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTestDb, type TestDb } from '../testing/test-db';
import { parseAnchorLog, verifyAnchors, writeAnchor } from './anchors';
import { computeAuditHash, recordAudit } from './record';
import { verifyAuditChain } from './verify';

/**
 * Anchors through the real path: Ferry's logger writes them to a log file (FERRY_LOG_FILE), the file is read back
 * as a shipper would have kept it, and a real SQLite file is tampered with "behind Ferry's back".
 */
const setup = vi.hoisted(() => {
  const file = `${process.env.TMPDIR ?? '/tmp'}/ferry-anchors-${process.pid}-${Date.now()}.log`;
  process.env.FERRY_LOG_FILE = file;
  process.env.FERRY_LOG_PRETTY = '0';
  return { file };
});

const run = promisify(execFile);
const ROWS = 10;
/** Anchors written after these rows (the interval and admin actions in a real run). */
const ANCHORED_AFTER = [4, 8, 10];

function dropGuards(t: TestDb) {
  t.raw.exec(
    `DROP TRIGGER "AuditEvent_no_update"; DROP TRIGGER "AuditEvent_no_delete"; DROP TRIGGER "AuditEvent_chain_link";`,
  );
}

/** Cutting the tail the way the issue describes: delete the newest rows and rewind the id counter. */
function truncate(t: TestDb, keep: number) {
  dropGuards(t);
  t.raw.prepare(`DELETE FROM "AuditEvent" WHERE "id" > ?`).run(keep);
  t.raw.prepare(`UPDATE "sqlite_sequence" SET "seq" = ? WHERE "name" = 'AuditEvent'`).run(keep);
}

/** Edits one row and re-hashes it and every row after it, so the chain walks clean. */
async function rehashFrom(t: TestDb, id: number) {
  dropGuards(t);
  const rows = await t.db.auditEvent.findMany({ where: { id: { gte: id } }, orderBy: { id: 'asc' } });
  let prevHash = (await t.db.auditEvent.findUniqueOrThrow({ where: { id: id - 1 } })).hash;
  const update = t.raw.prepare(`UPDATE "AuditEvent" SET "actor" = ?, "prevHash" = ?, "hash" = ? WHERE "id" = ?`);
  for (const row of rows) {
    const forged = { ...row, actor: row.id === id ? 'mallory' : row.actor, prevHash };
    const hash = computeAuditHash(forged);
    update.run(forged.actor, prevHash, hash, row.id);
    prevHash = hash;
  }
}

async function verifyCli(t: TestDb, logFile: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      'npx',
      ['tsx', '--conditions=react-server', 'scripts/audit-verify.ts', '--anchors', logFile],
      { env: { ...process.env, DATABASE_URL: `file:${t.filePath}`, FERRY_LOG_FILE: '' } },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('audit anchors', () => {
  let t: TestDb;
  /** This test's part of the log: the anchors written for its own database. */
  let log: string;
  let logFile: string;

  beforeEach(async () => {
    t = createTestDb();
    const offset = (() => {
      try {
        return statSync(setup.file).size;
      } catch {
        return 0;
      }
    })();
    for (let i = 1; i <= ROWS; i++) {
      await t.db.$transaction((tx) =>
        recordAudit(tx, { actor: 'alice', action: 'host.edit', hostAlias: `hv${i}`, details: { i } }),
      );
      if (ANCHORED_AFTER.includes(i)) await writeAnchor(t.db, 'interval');
    }
    log = readFileSync(setup.file).subarray(offset).toString('utf8');
    // A shipped log holds other lines too; they are skipped.
    log = `not json at all\n{"event":"http.request","path":"/"}\n${log}{"event":"audit.anchor","anchor":{"id":1}}\n`;
    logFile = `${t.filePath}.anchors.log`;
    writeFileSync(logFile, log);
  });
  afterEach(() => t.cleanup());
  afterAll(() => rmSync(setup.file, { force: true }));

  it('writes the chain head as a JSON log line and reads it back, skipping other lines', async () => {
    const anchors = parseAnchorLog(log);
    const heads = await t.db.auditEvent.findMany({ where: { id: { in: ANCHORED_AFTER } }, orderBy: { id: 'asc' } });
    expect(anchors.map(({ id, hash }) => ({ id, hash }))).toEqual(heads.map(({ id, hash }) => ({ id, hash })));
    expect(anchors.every((anchor) => typeof anchor.at === 'string')).toBe(true);
  });

  it('passes an untouched table', async () => {
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
    expect(await verifyAnchors(t.db, parseAnchorLog(log))).toEqual({ checked: 3, firstFailure: null });
  });

  it('catches a truncated table that the chain walk alone passes', async () => {
    truncate(t, 8);
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
    const report = await verifyAnchors(t.db, parseAnchorLog(log));
    expect(report.firstFailure).toMatchObject({ id: 10, reason: 'missing', lastGoodId: 8 });
  });

  it('catches a consistently re-hashed table that the chain walk alone passes', async () => {
    await rehashFrom(t, 6);
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
    const report = await verifyAnchors(t.db, parseAnchorLog(log));
    expect(report.firstFailure).toMatchObject({ id: 8, reason: 'hash-changed', lastGoodId: 4 });
    expect(report.firstFailure?.message).toContain('rewritten at or before row 8');
  });

  it(
    'npm run audit:verify -- --anchors <log> passes the untouched table and names the cut',
    { timeout: 90_000 },
    async () => {
      const intact = await verifyCli(t, logFile);
      expect(intact.stdout).toContain('All 3 anchors from the log match.');
      expect(intact.code).toBe(0);
      truncate(t, 7);
      const cut = await verifyCli(t, logFile);
      expect(cut.code).toBe(1);
      expect(cut.stderr).toContain('First row that no longer matches: 8 (missing)');
    },
  );
});
