import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAudit } from './record';
import { createTestDb, type TestDb } from '../testing/test-db';

const run = promisify(execFile);

/** Runs scripts/audit-verify.ts (what `npm run audit:verify` runs) against the test database. */
async function verifyCli(t: TestDb, args: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      'npx',
      ['tsx', '--conditions=react-server', 'scripts/audit-verify.ts', ...args],
      {
        env: { ...process.env, DATABASE_URL: `file:${t.filePath}` },
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('npm run audit:verify', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = createTestDb();
    for (let i = 0; i < 5; i++)
      await t.db.$transaction((tx) => recordAudit(tx, { actor: 'alice', action: 'host.edit', details: { i } }));
  });
  afterAll(() => t.cleanup());

  it('prints an intact chain and an anchor, and accepts that anchor back', { timeout: 90_000 }, async () => {
    const intact = await verifyCli(t);
    expect(intact.code).toBe(0);
    expect(intact.stdout).toContain('Audit chain intact: 5 rows');
    const anchor = /anchor (\d+:[0-9a-f]{64})/.exec(intact.stdout)?.[1];
    expect(anchor).toMatch(/^5:/);
    const again = await verifyCli(t, ['--anchor', anchor ?? '']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Anchor 5 matches.');
    const wrong = await verifyCli(t, ['--anchor', `5:${'0'.repeat(64)}`]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('Anchor mismatch');
  });

  it('exits 1 and names the row that was edited behind its back', { timeout: 60_000 }, async () => {
    t.raw.exec(`DROP TRIGGER "AuditEvent_no_update"`);
    t.raw.prepare(`UPDATE "AuditEvent" SET "actor" = 'mallory' WHERE "id" = 3`).run();
    const broken = await verifyCli(t);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('First broken row: 3 (content-changed)');
  });
});
