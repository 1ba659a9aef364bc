import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildCompletedJobInfoArgv,
  buildJobAbortArgv,
  buildJobInfoArgv,
  buildMigrateArgv,
  buildPostcopySwitchArgv,
} from './argv';
import { toDomainUuid, type DomainUuid } from '../domain-ref';
import { migrationOptionsSchema, type MigrationOptionsInput } from './options';

/**
 * Real virsh (9.0 here) against the libvirt test driver. The test driver cannot migrate: it answers
 * "this function is not supported by the connection driver: virDomainMigrate3". Getting THAT error proves virsh
 * parsed every flag, found the VM by the UUID argv names it by, and took the URIs as values; an option-parsing
 * problem fails earlier with a different message ("command 'migrate' requires <domain> option", help text,
 * "failed to get domain '--'"…). Every VM here has a name that would be read as an option or shell text.
 */

const HOSTILE_HOST = fileURLToPath(new URL('./__fixtures__/hostile-names.xml', import.meta.url));
const HOSTILE_URI = `test://${HOSTILE_HOST}`;
const DEST = 'test:///default';

const HOSTILE_NAMES = [
  '--',
  '--help',
  '--desturi',
  '-v',
  '--domain=--live',
  'new\nline --live',
  'a b;$(touch PWNED)`touch PWNED`|&>x \'q\' "dq"',
  'tab\tname',
];

const hasVirsh = spawnSync('virsh', ['--version'], { encoding: 'utf8' }).status === 0;

/** Working directory for virsh, so a name that did reach a shell would leave PWNED where we look for it. */
const workDir = mkdtempSync(join(tmpdir(), 'ferry-argv-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

type Run = { exitCode: number | null; stdout: string; stderr: string };

/**
 * virsh 9.0's `migrate` sometimes never exits when the migration fails at once (seen ~half the time against
 * the test driver: the job thread has finished, the main loop keeps polling; gdb shows it in g_main_loop_run).
 * So each run gets a short deadline and is retried; the assertions are on the first run that exits.
 */
async function runVirsh(args: readonly string[]): Promise<Run> {
  for (let attempt = 0; attempt < 12; attempt += 1) {
    const result = await new Promise<Run | null>((resolve) => {
      const child = spawn('virsh', ['-c', HOSTILE_URI, ...args], { cwd: workDir, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(null);
      }, 2_500);
      child.on('close', (exitCode) => {
        clearTimeout(timer);
        resolve({ exitCode, stdout, stderr });
      });
    });
    if (result !== null) return result;
  }
  throw new Error(`virsh ${args.join(' ')} did not exit in 12 attempts`);
}

const options = (input: MigrationOptionsInput = {}) => migrationOptionsSchema.parse(input);

/** The fixture's UUID for each name (hostile-names.xml lists them in this order). */
const UUID_OF = new Map<string, DomainUuid>(
  HOSTILE_NAMES.map((name, index) => [name, toDomainUuid(`0f3e77a0-0000-4000-8000-00000000000${index + 1}`)]),
);
const uuidOf = (name: string) => UUID_OF.get(name) as DomainUuid;

describe.skipIf(!hasVirsh)('argv against real virsh and the test driver', () => {
  // The XML gives fixed UUIDs: without them the test driver makes new ones for every connection.
  it('the hostile host defines exactly these VM names', () => {
    const result = spawnSync('virsh', ['-c', HOSTILE_URI, 'list', '--all', '--uuid'], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    const names = result.stdout
      .split('\n')
      .filter((uuid) => uuid !== '')
      .map((uuid) =>
        spawnSync('virsh', ['-c', HOSTILE_URI, 'domname', '--domain', uuid], { encoding: 'utf8' }).stdout.replace(
          /\n\n$/,
          '',
        ),
      );
    expect(names.sort()).toEqual([...HOSTILE_NAMES].sort());
  });

  it('the fixture UUIDs belong to these names', () => {
    for (const name of HOSTILE_NAMES) {
      const result = spawnSync('virsh', ['-c', HOSTILE_URI, 'domname', '--domain', uuidOf(name)], { encoding: 'utf8' });
      expect(result.stdout.replace(/\n\n$/, '')).toBe(name);
    }
  });

  it.each(HOSTILE_NAMES.map((name) => [JSON.stringify(name), name]))(
    'migrate finds VM %s by its UUID',
    async (_label, name) => {
      const run = await runVirsh(buildMigrateArgv({ domain: uuidOf(name), destinationUri: DEST, options: options() }));
      expect(run.stderr).toBe('error: this function is not supported by the connection driver: virDomainMigrate3\n');
      expect(run.exitCode).toBe(1);
    },
  );

  it('a UUID no VM has is reported as such, not matched to another VM', async () => {
    const missing = toDomainUuid('0f3e77a0-0000-4000-8000-0000000000ff');
    const run = await runVirsh(buildMigrateArgv({ domain: missing, destinationUri: DEST, options: options() }));
    expect(run.stderr).toBe(`error: failed to get domain '${missing}'\n`);
  });

  it('takes the destination and migrate URIs as values', async () => {
    const dest = await runVirsh(
      buildMigrateArgv({ domain: uuidOf('--help'), destinationUri: '--help', options: options() }),
    );
    expect(dest.stderr).toBe("error: no connection driver available for URI '--help' does not include a driver name\n");

    const migrateUri = await runVirsh(
      buildMigrateArgv({ domain: uuidOf('--help'), destinationUri: DEST, migrateUri: '--desturi', options: options() }),
    );
    expect(migrateUri.stderr).toBe(
      'error: this function is not supported by the connection driver: virDomainMigrate3\n',
    );
  });

  // One row per flag Ferry can emit: virsh must accept the spelling and the combination and hand it to libvirt.
  it.each([
    [{}, 'virDomainMigrate3'],
    [{ storage: 'copy-inc' }, 'virDomainMigrate3'],
    [{ storage: 'shared', undefineSource: false, persistent: false }, 'virDomainMigrate3'],
    [{ tls: true, compressed: true, autoConverge: true, bandwidthMiBps: 8 }, 'virDomainMigrate3'],
    [{ postcopy: true, timeoutSeconds: 30, timeoutAction: 'postcopy' }, 'virDomainMigrate3'],
    [{ timeoutSeconds: 30 }, 'virDomainMigrate3'],
    [{ timeoutSeconds: 30, timeoutAction: 'suspend' }, 'virDomainMigrate3'],
    [{ timeoutSeconds: 30, timeoutAction: 'abort' }, 'virDomainMigrate3'],
    [{ unsafe: true, confirmUnsafe: true }, 'virDomainMigrate3'],
    // The test driver checks these features itself and names them, which still proves virsh took the flags.
    [{ tunnelled: true, storage: 'shared' }, 'p2p migration is not supported by the source host'],
    [
      { mode: 'offline', storage: 'shared', confirmUnsafe: true },
      'offline migration is not supported by the source host',
    ],
  ] as const)('virsh accepts %j', async (input, expected) => {
    const run = await runVirsh(
      buildMigrateArgv({
        domain: uuidOf('-v'),
        destinationUri: DEST,
        options: options(input),
        migrateUri: 'tcp://127.0.0.1:49152',
      }),
    );
    expect(run.stderr).toContain(expected);
    expect(run.stderr).toMatch(
      /^error: (this function is not supported by the connection driver|argument unsupported): /,
    );
  });

  it.each(HOSTILE_NAMES.map((name) => [JSON.stringify(name), name]))(
    'job commands find VM %s by its UUID',
    async (_label, hostile) => {
      const name = uuidOf(hostile);
      expect((await runVirsh(buildJobInfoArgv(name))).stderr).toBe(
        'error: this function is not supported by the connection driver: virDomainGetJobInfo\n',
      );
      // --completed needs the stats API, which the test driver lacks: virsh says so, then names the call.
      expect((await runVirsh(buildCompletedJobInfoArgv(name))).stderr).toBe(
        'error: Optional flags or --rawstats are not supported by the daemon\nerror: this function is not supported by the connection driver: virDomainGetJobStats\n',
      );
      expect((await runVirsh(buildJobAbortArgv(name))).stderr).toBe(
        'error: this function is not supported by the connection driver: virDomainAbortJob\n',
      );
      expect((await runVirsh(buildPostcopySwitchArgv(name))).stderr).toBe(
        'error: this function is not supported by the connection driver: virDomainMigrateStartPostCopy\n',
      );
    },
  );

  it('never ran shell text from a name', () => {
    expect(existsSync(join(workDir, 'PWNED'))).toBe(false);
    expect(readdirSync(workDir)).toEqual([]);
  });
});
