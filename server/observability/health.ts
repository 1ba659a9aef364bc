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

const DATABASE_TIMEOUT_MS = 2000;

async function databaseAnswers(db: Db): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error('database did not answer in time')), DATABASE_TIMEOUT_MS);
  });
  try {
    await Promise.race([db.$queryRaw`SELECT 1`, timeout]);
    return true;
  } catch (error) {
    logger().warn({ event: 'health.database-down', err: error }, 'health: the database does not answer');
    return false;
  } finally {
    clearTimeout(timer);
  }
}

export async function readHealth(db: Db): Promise<HealthReport> {
  if (!(await databaseAnswers(db))) {
    // Without the database there is no host list; the streams alone are still worth showing.
    const streams = readEventStreams() ?? [];
    return {
      ok: false,
      database: 'down',
      hosts: streams.map((s) => ({ alias: s.hostAlias, eventStream: { up: s.up, state: s.state } })),
    };
  }
  const hosts = await db.host.findMany({ select: { alias: true }, orderBy: { alias: 'asc' } });
  const reported = readEventStreams();
  const streams = new Map((reported ?? []).map((s) => [s.hostAlias, s]));
  const known = reported !== null;
  return {
    ok: true,
    database: 'up',
    hosts: hosts.map(({ alias }) => {
      const stream = streams.get(alias);
      return {
        alias,
        eventStream: stream ? { up: stream.up, state: stream.state } : known ? { up: false, state: 'none' } : null,
      };
    }),
  };
}
