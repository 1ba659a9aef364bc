import { createRequire } from 'node:module';
import pino, { type DestinationStream, type Logger } from 'pino';
import { redactLogRecord, serializeError } from './log-redact';
import { observabilitySettings } from './settings';

/**
 * Ferry's structured log: one JSON object per line on stdout (and, with FERRY_LOG_FILE, appended to that file),
 * pretty-printed under `next dev`. Every record goes through redactLogRecord before it is written, so a caller
 * that passes an error or a header cannot leak a key path or a cookie. Writes are synchronous: a line about a
 * migration must not be lost when the process exits right after.
 */
function prettyStream(): DestinationStream | null {
  try {
    // A devDependency: absent from a production install, and only wanted in development.
    const require = createRequire(import.meta.url);
    const pretty = require('pino-pretty') as (options: Record<string, unknown>) => DestinationStream;
    return pretty({ colorize: true, sync: true, translateTime: 'SYS:HH:MM:ss.l' });
  } catch {
    return null;
  }
}

function createLogger(): Logger {
  const settings = observabilitySettings();
  const wantsPretty =
    settings.FERRY_LOG_PRETTY === '1' || (settings.FERRY_LOG_PRETTY === '' && settings.NODE_ENV === 'development');
  const console = (wantsPretty ? prettyStream() : null) ?? pino.destination({ dest: 1, sync: true });
  const consoleLevel = settings.FERRY_LOG_CONSOLE_LEVEL || settings.LOG_LEVEL;
  const streams: pino.StreamEntry[] = consoleLevel === 'silent' ? [] : [{ level: consoleLevel, stream: console }];
  if (settings.FERRY_LOG_FILE !== '') {
    streams.push({
      level: 'trace',
      stream: pino.destination({ dest: settings.FERRY_LOG_FILE, sync: true, mkdir: true, append: true }),
    });
  }
  return pino(
    {
      level: settings.LOG_LEVEL,
      base: { service: 'ferry', pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // pino's own err serializer copies every enumerable field (a VirshError's stderr, argv); ours keeps less.
      serializers: { err: serializeError, error: serializeError },
      formatters: {
        level: (label) => ({ level: label }),
        log: (record) => redactLogRecord(record) as Record<string, unknown>,
      },
    },
    pino.multistream(streams),
  );
}

/** On globalThis: the HTTP edge (tsx) and Next's bundles each load this module, and all must share one log. */
const store = globalThis as unknown as { ferryLogger?: Logger };

export function logger(): Logger {
  store.ferryLogger ??= createLogger();
  return store.ferryLogger;
}

/** One line per state a migration enters (queued, preflight, running, cancelling and the final ones). */
export function logMigrationState(entry: { migrationId: string; state: string; message?: string }): void {
  logger().info(
    { event: 'migration.state', migrationId: entry.migrationId, state: entry.state, message: entry.message },
    `migration ${entry.migrationId} ${entry.state}`,
  );
}

/** The detail behind a "Something went wrong (ref …)" a client saw; the ref joins the two. */
export function logUnexpected(entry: { ref: string; where?: string; error: unknown }): void {
  logger().error(
    { event: 'unexpected-error', ref: entry.ref, where: entry.where, err: entry.error },
    `unexpected error (ref ${entry.ref})`,
  );
}

/** A background failure around a job (its runner, its event writes, its bandwidth share), under its id. */
export function logJobError(entry: { migrationId?: string; what: string; error: unknown }): void {
  logger().error(
    { event: 'migration.error', migrationId: entry.migrationId, what: entry.what, err: entry.error },
    entry.migrationId ? `migration ${entry.migrationId}: ${entry.what}` : entry.what,
  );
}
