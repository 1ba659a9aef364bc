import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../../testing/test-db';
import { createInProcessEventBus } from '../../events/bus';
import { executors } from '../../fleet/executors';
import type { Role } from '../../auth/roles';
import { createCallerFactory, createContextInner, createTRPCRouter } from '../trpc';
import { volumesRouter } from './volumes';

const createCaller = createCallerFactory(createTRPCRouter({ volumes: volumesRouter }));

let testDb: TestDb;
let leftoverId: string;
const as = (role: Role) =>
  createCaller(
    createContextInner({
      db: testDb.db,
      bus: createInProcessEventBus(),
      actor: { name: role === 'viewer' ? 'vera' : 'olga', role },
      clientAddress: '192.0.2.9',
    }),
  );

beforeAll(async () => {
  testDb = createTestDb();
  const host = await testDb.db.host.create({
    data: { alias: 'demo', uri: 'test:///default', displayUri: 'test:///default', displayName: 'Demo' },
  });
  const row = await testDb.db.volumeRecord.create({
    data: {
      hostId: host.id,
      hostAlias: 'demo',
      pool: 'default-pool',
      name: 'vm1.qcow2',
      path: '/default-pool/vm1.qcow2',
      capacityBytes: BigInt(268435456),
      role: 'copy-target',
      status: 'leftover',
      reason: 'demo did not answer (Connection refused)',
      migrationId: null,
    },
  });
  leftoverId = row.id;
});

afterAll(async () => {
  await executors().closeAll();
  await testDb.cleanup();
});

describe('volumes router', () => {
  it('shows a viewer the leftovers of a host, with their story and no URI', async () => {
    const [view] = await as('viewer').volumes.leftovers({ alias: 'demo' });
    expect(view).toMatchObject({
      id: leftoverId,
      path: '/default-pool/vm1.qcow2',
      capacityBytes: 268435456,
      reason: 'demo did not answer (Connection refused)',
      migration: null,
    });
    expect(view?.story).toMatch(/^vm1\.qcow2 on demo was left by a migration no longer in the history/);
    expect(JSON.stringify(view)).not.toContain('test:///');
  });

  it('refuses the remove to a viewer', async () => {
    const error = await as('viewer')
      .volumes.removeLeftover({ id: leftoverId })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TRPCError);
    expect((error as TRPCError).code).toBe('FORBIDDEN');
    expect((await testDb.db.volumeRecord.findUniqueOrThrow({ where: { id: leftoverId } })).status).toBe('leftover');
  });

  it('lets an operator remove it; real virsh finds it gone, so the ledger closes it as gone', async () => {
    expect(await as('operator').volumes.removeLeftover({ id: leftoverId })).toMatchObject({ result: 'already-gone' });
    expect(await testDb.db.volumeRecord.findUniqueOrThrow({ where: { id: leftoverId } })).toMatchObject({
      status: 'removed',
      removedHow: 'gone',
      removedBy: 'olga',
    });
    expect(await as('viewer').volumes.leftovers({ alias: 'demo' })).toEqual([]);
    const audit = await testDb.db.auditEvent.findFirstOrThrow({ where: { action: 'volume.delete', actor: 'olga' } });
    expect(audit).toMatchObject({ result: 'ok', hostAlias: 'demo', clientAddress: '192.0.2.9' });
  });
});
