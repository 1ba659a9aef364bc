import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * Direct better-sqlite3 access for what must bypass Prisma: applying migration SQL to a scratch database,
 * tampering with rows behind Ferry's back in tests, and bulk-seeding the bench. The app itself goes through
 * Prisma. better-sqlite3 ships without types (no @types/better-sqlite3 installed), so the few calls used
 * here are typed by hand instead of declaring the module globally.
 */
export type SqliteStatement = {
  run(...params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
};

export type SqliteFile = {
  exec(sql: string): void;
  prepare(sql: string): SqliteStatement;
  pragma(sql: string): unknown;
  transaction<T extends (...args: never[]) => unknown>(fn: T): T;
  close(): void;
};

type SqliteConstructor = new (filename: string, options?: { readonly?: boolean }) => SqliteFile;

const requireFromHere = createRequire(import.meta.url);

export function openSqliteFile(filePath: string, options: { readonly?: boolean } = {}): SqliteFile {
  const Database = requireFromHere('better-sqlite3') as SqliteConstructor;
  return new Database(filePath, options);
}

const MIGRATIONS_DIR = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../prisma/migrations');

/**
 * Applies prisma/migrations/* in order, as `prisma migrate deploy` would, without spawning the CLI (about two
 * seconds per database). Tests that must prove the CLI path use the CLI itself.
 */
export function applyMigrationFiles(file: SqliteFile): string[] {
  const names = readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  for (const name of names) file.exec(readFileSync(path.join(MIGRATIONS_DIR, name, 'migration.sql'), 'utf8'));
  return names;
}

/** Prisma's better-sqlite3 adapter stores DateTime as ISO-8601 text with a `+00:00` suffix; seeds must match. */
export function toSqliteTimestamp(date: Date): string {
  return date.toISOString().replace('Z', '+00:00');
}
