import { insertEventRow, writePercent } from '../server/migrations/events';
import { createTestDb } from '../server/testing/test-db';
import { percentile } from './ferry-server';

/**
 * What a running job writes for every percent and job sample (an event row, the row's percent), on a real SQLite
 * file: through Prisma's query API (its query compiler builds a plan per call) and as the one-statement writes the
 * jobs use (events.ts). Interleaved, so both see the same file and machine.
 */

export type DbWritesResult = {
  writes: number;
  create: { p50Ms: number; p95Ms: number };
  insert: { p50Ms: number; p95Ms: number };
  updateMany: { p50Ms: number; p95Ms: number };
  update: { p50Ms: number; p95Ms: number };
};

export async function benchDbWrites(options: { writes?: number } = {}): Promise<DbWritesResult> {
  const writes = options.writes ?? 1000;
  const testDb = createTestDb();
  try {
    const { db } = testDb;
    const migration = await db.migration.create({
      data: {
        vmName: 'bench-vm',
        sourceAlias: 'hv1',
        sourceUri: 'test:///default',
        destinationAlias: 'hv2',
        destinationUri: 'test:///default',
        options: '{}',
        actor: 'bench',
        state: 'running',
      },
    });
    const data = (percent: number) => ({
      migrationId: migration.id,
      type: 'progress',
      data: JSON.stringify({ type: 'progress', percent, readAt: Date.now() }),
    });
    const times = {
      create: [] as number[],
      insert: [] as number[],
      updateMany: [] as number[],
      update: [] as number[],
    };
    const timed = async (into: number[], work: () => Promise<unknown>) => {
      const started = performance.now();
      await work();
      into.push(performance.now() - started);
    };
    // A warm-up of each, not counted.
    await db.migrationEvent.create({ data: data(0) });
    await insertEventRow(db, data(0));
    for (let index = 0; index < writes; index++) {
      const percent = index % 100;
      await timed(times.create, () => db.migrationEvent.create({ data: data(percent) }));
      await timed(times.insert, () => insertEventRow(db, data(percent)));
      await timed(times.updateMany, () => db.migration.updateMany({ where: { id: migration.id }, data: { percent } }));
      await timed(times.update, () => writePercent(db, migration.id, percent));
    }
    const summary = (values: number[]) => ({ p50Ms: percentile(values, 50), p95Ms: percentile(values, 95) });
    return {
      writes,
      create: summary(times.create),
      insert: summary(times.insert),
      updateMany: summary(times.updateMany),
      update: summary(times.update),
    };
  } finally {
    await testDb.cleanup();
  }
}
