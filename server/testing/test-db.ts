import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PrismaClient } from '@prisma/client';
import { createPrismaClient } from '../db';
import { applyMigrationFiles, openSqliteFile, type SqliteFile } from '../audit/sqlite-file';

export type TestDb = {
  db: PrismaClient;
  /** The same file opened directly: for tampering "behind Ferry's back" and for EXPLAIN. */
  raw: SqliteFile;
  filePath: string;
  cleanup: () => Promise<void>;
};

/** A fresh, fully migrated SQLite file for one test file. */
export function createTestDb(): TestDb {
  const dir = mkdtempSync(path.join(tmpdir(), 'ferry-test-'));
  const filePath = path.join(dir, 'test.db');
  const raw = openSqliteFile(filePath);
  applyMigrationFiles(raw);
  const db = createPrismaClient(`file:${filePath}`);
  return {
    db,
    raw,
    filePath,
    cleanup: async () => {
      await db.$disconnect();
      raw.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
