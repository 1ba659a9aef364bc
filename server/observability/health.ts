import type { Db } from '../db';
import { readEventStreams } from './event-streams';
import { logger } from './logger';

export type HealthReport = {
  ok: boolean;
  database: 'up' | 'down';
  /**
   * Each registered host and its libvirt event stream: `up`/`state` from the stream owner, or null while no
   * stream source is registered (Ferry then knows nothing about streams, and says so rather than guessing).
   */
  hosts: { alias: string; eventStream: { up: boolean; state: string } | null }[];
};

/**
 * What a caller without a session sees (a load balancer, anyone who reaches the port): whether Ferry is fit to
 * serve and how many hosts' event streams are up, not which hosts Ferry manages (their aliases often name
 * machines and customers). A signed-in user or a signed request gets the whole report.
 */
export type PublicHealthReport = {
  ok: boolean;
  database: 'up' | 'down';
  /** null while no stream source is registered, as in HealthReport. */
  eventStreams: { up: number; total: number } | null;
};

export function publicHealth(report: HealthReport): PublicHealthReport {
  const streams = report.hosts.map((host) => host.eventStream);
  return {
    ok: report.ok,
    database: report.database,
    eventStreams:
      streams.length > 0 && streams.every((stream) => stream === null)
        ? null
        : { up: streams.filter((stream) => stream?.up === true).length, total: streams.length },
  };
}

const DATABASE_TIMEOUT_MS = 2000;

/**
 * The host list is the database check: a real table read (`SELECT 1` answers even when SQLite could not open the
 * file), bounded in time so a locked or stalled database reads as down instead of hanging the probe.
 */
async function listHostAliases(db: Db): Promise<string[] | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error('database did not answer in time')), DATABASE_TIMEOUT_MS);
  });
  try {
    const hosts = await Promise.race([
      db.host.findMany({ select: { alias: true }, orderBy: { alias: 'asc' } }),
      timeout,
    ]);
    return hosts.map((host) => host.alias);
  } catch (error) {
    logger().warn({ event: 'health.database-down', err: error }, 'health: the database does not answer');
    return null;
  } finally {
    clearTimeout(timer);
  }
}

export async function readHealth(db: Db): Promise<HealthReport> {
  const aliases = await listHostAliases(db);
  const reported = readEventStreams();
  if (aliases === null) {
    // Without the database there is no host list; the streams alone are still worth showing.
    return {
      ok: false,
      database: 'down',
      hosts: (reported ?? []).map((s) => ({ alias: s.hostAlias, eventStream: { up: s.up, state: s.state } })),
    };
  }
  const streams = new Map((reported ?? []).map((s) => [s.hostAlias, s]));
  return {
    ok: true,
    database: 'up',
    hosts: aliases.map((alias) => {
      const stream = streams.get(alias);
      const eventStream = stream ? { up: stream.up, state: stream.state } : { up: false, state: 'none' };
      return { alias, eventStream: reported === null ? null : eventStream };
    }),
  };
}
