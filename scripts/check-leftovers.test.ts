import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const SCRIPT = join(REPO, 'scripts/check-leftovers.sh');
let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ferry-leftovers-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function check(...args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile('bash', [SCRIPT, ...args], { cwd: REPO }, (error, stdout) =>
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout }),
    );
  });
}

// The machine may run other things meanwhile (so the list need not be empty); what matters is that a virsh
// started after the snapshot is named, and is no longer named once it is gone.
it('names a virsh started after the snapshot and still running, and counts it', async () => {
  const baseline = join(work, 'baseline.txt');
  const out = join(work, 'leftovers.txt');
  expect((await check('snapshot', baseline)).code).toBe(0);

  const virsh = spawn('virsh', ['-c', 'test:///default', 'event', '--all', '--loop'], { stdio: 'ignore' });
  const exited = new Promise((resolve) => virsh.once('exit', resolve));
  try {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const found = await check('check', baseline, out);
    expect(found.code).toBe(1);
    expect(found.stdout).toContain('leftovers: the test run left these behind:');
    expect(await readFile(out, 'utf8')).toContain(`process ${virsh.pid} (virsh): virsh -c test:///default event`);
  } finally {
    virsh.kill('SIGKILL');
    await exited;
  }
  await check('check', baseline, out);
  expect(await readFile(out, 'utf8')).not.toContain(`process ${virsh.pid} `);
}, 30_000);
