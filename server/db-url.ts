import path from 'node:path';
import fs from 'node:fs';

export const DEFAULT_DATABASE_URL = 'file:./data/ferry.db';

/**
 * Turns DATABASE_URL (default `file:./data/ferry.db`, relative to the working directory) into an absolute
 * `file:` URL and makes sure its directory exists, so the CLI, the app and the tests agree on one file.
 */
export function resolveDatabaseUrl(raw: string | undefined): string {
  const url = raw && raw.trim() !== '' ? raw.trim() : DEFAULT_DATABASE_URL;
  if (!url.startsWith('file:')) {
    throw new Error(`DATABASE_URL must be a SQLite "file:" URL, got "${url}"`);
  }
  const filePath = url.slice('file:'.length);
  if (filePath === ':memory:') return url;
  const absolute = path.resolve(filePath);
  fs.mkdirSync(path.dirname(absolute), { recursive: true });
  return `file:${absolute}`;
}
