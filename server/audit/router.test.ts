import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRouter, DETAILS_PREVIEW_LENGTH } from '../api/routers/audit';
import { historyRouter } from '../api/routers/history';
import { createCallerFactory, createContextInner, createTRPCRouter, type Actor } from '../api/trpc';
import { recordAudit } from './record';
import { createTestDb, type TestDb } from '../testing/test-db';

// Only this routers: the app router also pulls in code still being written elsewhere.
const router = createTRPCRouter({ audit: auditRouter, history: historyRouter });
const createCaller = createCallerFactory(router);

describe('audit and history routers', () => {
  let t: TestDb;
  const caller = (role: Actor['role']) =>
    createCaller(createContextInner({ db: t.db, actor: { name: `a-${role}`, role } }));

  beforeAll(async () => {
    t = createTestDb();
    await t.db.$transaction((tx) =>
      recordAudit(tx, { actor: 'alice', action: 'host.add', hostAlias: 'hv1', details: { note: 'x'.repeat(500) } }),
    );
    await t.db.$transaction((tx) =>
      recordAudit(tx, {
        actor: 'bob',
        action: 'migration.start',
        vmName: 'vm-1',
        migrationId: 'cmigration1',
        details: { destination: 'hv2' },
      }),
    );
  });
  afterAll(() => t.cleanup());

  it('lists newest first with a details preview and no hashes; get returns the whole row', async () => {
    const page = await caller('viewer').audit.list({ filter: {}, limit: 10 });
    expect(page.rows.map((row) => row.id)).toEqual([2, 1]);
    expect(page.rows[1]?.detailsPreview).toHaveLength(DETAILS_PREVIEW_LENGTH + 1);
    expect(page.rows[0]).not.toHaveProperty('hash');
    const full = await caller('viewer').audit.get({ id: 1 });
    expect(full.details).toBe(JSON.stringify({ note: 'x'.repeat(500) }));
    expect(full.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('pages with the cursor it hands out', async () => {
    const first = await caller('viewer').audit.list({ filter: {}, limit: 1 });
    expect(first.nextCursor).not.toBeNull();
    const second = await caller('viewer').audit.list({ filter: {}, limit: 1, cursor: first.nextCursor });
    expect(second.rows.map((row) => row.id)).toEqual([1]);
    expect(second.nextCursor).toBeNull();
  });

  it('turns bad input into client errors that name the field', async () => {
    await expect(caller('viewer').audit.get({ id: 99 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(caller('viewer').audit.list({ filter: { q: '!!!' } })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: /letters or digits/,
    });
    await expect(caller('viewer').audit.list({ filter: {}, cursor: 'nope' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
  });

  it('lets only admins verify the chain, and tells the page so', async () => {
    expect(await caller('viewer').audit.access()).toEqual({ actor: 'a-viewer', canVerify: false });
    expect(await caller('admin').audit.access()).toEqual({ actor: 'a-admin', canVerify: true });
    await expect(caller('operator').audit.verify()).rejects.toMatchObject({ code: 'FORBIDDEN' });
    // The refusal is itself an audit row, in the chain like any other.
    const refused = await t.db.auditEvent.findFirstOrThrow({ where: { action: 'access.refused' } });
    expect(refused).toMatchObject({ actor: 'a-operator', result: 'refused' });
    expect(await caller('admin').audit.verify()).toMatchObject({ ok: true, checked: 3 });
  });

  it('serves history pages and chart data', async () => {
    await t.db.migration.create({
      data: {
        vmName: 'vm-1',
        sourceAlias: 'hv1',
        sourceUri: 'u',
        destinationAlias: 'hv2',
        destinationUri: 'u',
        options: '{}',
        actor: 'bob',
        state: 'failed',
        errorCode: 'timeout',
      },
    });
    const page = await caller('viewer').history.list({ filter: { host: 'hv2' } });
    expect(page.rows.map((row) => row.vmName)).toEqual(['vm-1']);
    const stats = await caller('viewer').history.stats({ filter: {} });
    expect(stats.totals.failed).toBe(1);
    expect(stats.failureCauses).toEqual([{ errorCode: 'timeout', count: 1, example: null }]);
  });
});
