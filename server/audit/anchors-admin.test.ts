import { readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  adminProcedure,
  createCallerFactory,
  createContextInner,
  createTRPCRouter,
  operatorProcedure,
} from '../api/trpc';
import { createTestDb, type TestDb } from '../testing/test-db';
import { parseAnchorLog } from './anchors';
import { recordAudit } from './record';

/** Every admin procedure gets the anchoring middleware: an admin change is followed by an anchor line. */
const setup = vi.hoisted(() => {
  const file = `${process.env.TMPDIR ?? '/tmp'}/ferry-admin-anchors-${process.pid}-${Date.now()}.log`;
  process.env.FERRY_LOG_FILE = file;
  process.env.FERRY_LOG_PRETTY = '0';
  return { file };
});

const audited =
  (action: string) =>
  ({ ctx }: { ctx: { db: TestDb['db']; actor: { name: string } } }) =>
    ctx.db.$transaction((tx) => recordAudit(tx, { actor: ctx.actor.name, action }));

const router = createTRPCRouter({
  adminChange: adminProcedure.mutation(audited('settings.change')),
  operatorChange: operatorProcedure.mutation(audited('migration.start')),
});
const createCaller = createCallerFactory(router);

describe('anchors after admin actions', () => {
  let t: TestDb;
  beforeAll(() => {
    t = createTestDb();
  });
  afterAll(async () => {
    await t.cleanup();
    rmSync(setup.file, { force: true });
  });

  const anchors = () => {
    try {
      return parseAnchorLog(readFileSync(setup.file, 'utf8'));
    } catch {
      return [];
    }
  };

  it('writes the new chain head after an admin mutation, not after an operator one', async () => {
    const admin = createCaller(createContextInner({ db: t.db, actor: { name: 'root-admin', role: 'admin' } }));
    const operator = createCaller(createContextInner({ db: t.db, actor: { name: 'op', role: 'operator' } }));

    await operator.operatorChange();
    const row = await admin.adminChange();
    await vi.waitFor(() => expect(anchors().map((a) => a.id)).toContain(row.id));
    expect(anchors()).toEqual([expect.objectContaining({ id: row.id, hash: row.hash })]);

    await operator.operatorChange();
    // Give a stray anchor the time it would take, then check there is none.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(anchors()).toHaveLength(1);
  });
});
