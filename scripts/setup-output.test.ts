import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const dir = mkdtempSync(path.join(tmpdir(), 'ferry-setup-output-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What `npm run setup` prints for the steps that used to nag a newcomer, run for real. */
describe('setup output', () => {
  it('migrates a fresh database without Prisma warning about the schema url', async () => {
    const { stdout, stderr } = await run('npx', ['prisma', 'migrate', 'deploy'], {
      env: { ...process.env, DATABASE_URL: `file:${path.join(dir, 'fresh.db')}` },
    });
    expect(stdout).toContain('All migrations have been successfully applied.');
    expect(`${stdout}${stderr}`).not.toMatch(/WARNING|will NOT be used/);
  });

  it('keeps Next quiet about telemetry and writes no preference, neither in the home nor the working directory', async () => {
    // Next keeps its notice flag in ~/.config/nextjs-nodejs, or in ./cache when it thinks it runs in a container.
    const home = path.join(dir, 'home');
    const work = path.join(dir, 'work');
    mkdirSync(work, { recursive: true });
    const script = 'source "$1" && exec "$2" telemetry status';
    const args = ['-c', script, 'bash', path.resolve('scripts/quiet-env.sh'), path.resolve('node_modules/.bin/next')];
    const { stdout } = await run('bash', args, {
      cwd: work,
      env: { ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config') },
    });
    expect(stdout).toContain('Status: Disabled');
    expect(stdout).not.toContain('Attention');
    // Next's settings store creates its directory on start either way; the notice flag is what must stay unwritten.
    expect(existsSync(path.join(home, '.config', 'nextjs-nodejs', 'config.json'))).toBe(false);
    expect(existsSync(path.join(work, 'cache', 'config.json'))).toBe(false);
  });
});
