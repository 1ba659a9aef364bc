import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  buildCompletedJobInfoArgv,
  buildJobAbortArgv,
  buildJobInfoArgv,
  buildMigrateArgv,
  buildPostcopySwitchArgv,
  timeoutAbortAfterSeconds,
} from './argv';
import {
  describeOptionProblems,
  migrationOptionsSchema,
  MIGRATION_MODES,
  STORAGE_MODES,
  type MigrationOptions,
  type MigrationOptionsInput,
} from './options';

const DEST = 'qemu+ssh://root@10.77.77.12/system?keyfile=/etc/ferry/keys/id_ed25519';
const options = (input: MigrationOptionsInput = {}): MigrationOptions => migrationOptionsSchema.parse(input);

const HOSTILE_NAMES = [
  '--help',
  '--desturi',
  '--',
  '-v',
  '--domain=--live',
  'new\nline --live',
  'a b;$(touch PWNED)`touch PWNED`|&>x \'q\' "dq"',
  'tab\tname',
  '--live --offline',
  ' leading space',
];

/** Flags that take a value: the token after them is data, never a flag. */
const VALUE_FLAGS = new Set(['--domain', '--desturi', '--migrateuri', '--bandwidth', '--timeout']);

/** Splits argv into its flags and the values that follow value-taking flags. */
function flagsOf(argv: readonly string[]): { flags: string[]; values: Map<string, string> } {
  const flags: string[] = [];
  const values = new Map<string, string>();
  for (let index = 1; index < argv.length; index += 1) {
    const token = argv[index] as string;
    flags.push(token);
    if (VALUE_FLAGS.has(token)) {
      values.set(token, argv[index + 1] as string);
      index += 1;
    }
  }
  return { flags, values };
}

/** The flags each option must add, written from the virsh 9.0 `migrate --help` text, independent of argv.ts. */
function expectedFlags(o: MigrationOptions, hasMigrateUri: boolean): string[] {
  const flags = [o.mode === 'live' ? '--live' : '--offline', '--verbose', '--domain', '--desturi'];
  if (o.persistent) flags.push('--persistent');
  if (o.undefineSource) flags.push('--undefinesource');
  if (o.storage === 'copy-all') flags.push('--copy-storage-all');
  if (o.storage === 'copy-inc') flags.push('--copy-storage-inc');
  if (o.tunnelled) flags.push('--p2p', '--tunnelled');
  if (o.tls) flags.push('--tls');
  if (o.compressed) flags.push('--compressed');
  if (o.autoConverge) flags.push('--auto-converge');
  if (o.postcopy) flags.push('--postcopy');
  if (o.unsafe) flags.push('--unsafe');
  if (o.bandwidthMiBps !== undefined) flags.push('--bandwidth');
  if (o.timeoutSeconds !== undefined && o.timeoutAction !== 'abort') {
    flags.push('--timeout', o.timeoutAction === 'postcopy' ? '--timeout-postcopy' : '--timeout-suspend');
  }
  if (hasMigrateUri) flags.push('--migrateuri');
  return flags.sort();
}

describe('buildMigrateArgv, common cases', () => {
  it('defaults: live, persistent, undefine source, copy all storage, verbose, named domain and desturi', () => {
    expect(buildMigrateArgv({ vmName: 'vm1', destinationUri: DEST, options: options() })).toEqual([
      'migrate',
      '--live',
      '--persistent',
      '--undefinesource',
      '--copy-storage-all',
      '--verbose',
      '--domain',
      'vm1',
      '--desturi',
      DEST,
    ]);
  });

  it('has the same flags as the lab run captured in fixtures/migration/migrate-bw8.json, with named values', () => {
    const lab = JSON.parse(
      readFileSync(new URL('../fixtures/migration/migrate-bw8.json', import.meta.url), 'utf8'),
    ) as { argv: string[] };
    // Lab argv: virsh -c <src> migrate <flags…> --bandwidth 8 vm1 <dest> (positional domain and desturi).
    const labArgs = lab.argv.slice(3);
    const labDest = labArgs.at(-1) as string;
    const ours = buildMigrateArgv({ vmName: 'vm1', destinationUri: labDest, options: options({ bandwidthMiBps: 8 }) });
    const labFlags = labArgs.slice(0, -2);
    expect(ours.filter((token) => !['--domain', 'vm1', '--desturi', labDest].includes(token)).sort()).toEqual(
      [...labFlags].sort(),
    );
    expect(ours.slice(-4)).toEqual(['--domain', 'vm1', '--desturi', labDest]);
  });

  it('tunnelled over shared storage adds --p2p --tunnelled and no storage flag', () => {
    expect(
      buildMigrateArgv({
        vmName: 'vm1',
        destinationUri: DEST,
        options: options({ tunnelled: true, storage: 'shared' }),
      }),
    ).toEqual([
      'migrate',
      '--live',
      '--persistent',
      '--undefinesource',
      '--verbose',
      '--p2p',
      '--tunnelled',
      '--domain',
      'vm1',
      '--desturi',
      DEST,
    ]);
  });

  it('offline over shared storage with confirmation', () => {
    expect(
      buildMigrateArgv({
        vmName: 'vm-off',
        destinationUri: DEST,
        options: options({ mode: 'offline', storage: 'shared', confirmUnsafe: true }),
      }),
    ).toEqual([
      'migrate',
      '--offline',
      '--persistent',
      '--undefinesource',
      '--verbose',
      '--domain',
      'vm-off',
      '--desturi',
      DEST,
    ]);
  });

  it('every tuning flag, a bandwidth, a post-copy timeout and a migrate URI', () => {
    const argv = buildMigrateArgv({
      vmName: 'vm1',
      destinationUri: DEST,
      migrateUri: 'tcp://10.88.0.12',
      options: options({
        storage: 'copy-inc',
        tls: true,
        compressed: true,
        autoConverge: true,
        postcopy: true,
        unsafe: true,
        confirmUnsafe: true,
        bandwidthMiBps: 100,
        timeoutSeconds: 120,
        timeoutAction: 'postcopy',
      }),
    });
    expect(argv).toEqual([
      'migrate',
      '--live',
      '--persistent',
      '--undefinesource',
      '--copy-storage-inc',
      '--verbose',
      '--tls',
      '--compressed',
      '--auto-converge',
      '--postcopy',
      '--unsafe',
      '--bandwidth',
      '100',
      '--timeout',
      '120',
      '--timeout-postcopy',
      '--domain',
      'vm1',
      '--desturi',
      DEST,
      '--migrateuri',
      'tcp://10.88.0.12',
    ]);
  });

  it("a timeout without an action is virsh's default, suspend, written out", () => {
    const argv = buildMigrateArgv({ vmName: 'vm1', destinationUri: DEST, options: options({ timeoutSeconds: 300 }) });
    expect(argv.slice(argv.indexOf('--timeout'), argv.indexOf('--timeout') + 3)).toEqual([
      '--timeout',
      '300',
      '--timeout-suspend',
    ]);
  });

  it("timeoutAction 'abort' gives virsh no --timeout and hands the deadline to the runner", () => {
    const o = options({ timeoutSeconds: 90, timeoutAction: 'abort' });
    expect(
      buildMigrateArgv({ vmName: 'vm1', destinationUri: DEST, options: o }).filter((t) => t.startsWith('--timeout')),
    ).toEqual([]);
    expect(timeoutAbortAfterSeconds(o)).toBe(90);
    expect(timeoutAbortAfterSeconds(options({ timeoutSeconds: 90 }))).toBeNull();
    expect(timeoutAbortAfterSeconds(options({ timeoutSeconds: 90, timeoutAction: 'suspend' }))).toBeNull();
    expect(timeoutAbortAfterSeconds(options())).toBeNull();
  });

  it('refuses options Ferry refuses, naming the problem', () => {
    expect(() =>
      buildMigrateArgv({ vmName: 'vm1', destinationUri: DEST, options: { ...options(), mode: 'offline' } }),
    ).toThrow(/refusing to build virsh migrate argv: Offline migration cannot copy disks/);
  });

  it('refuses values argv cannot carry', () => {
    expect(() => buildMigrateArgv({ vmName: '', destinationUri: DEST, options: options() })).toThrow(
      /VM name is empty/,
    );
    expect(() => buildMigrateArgv({ vmName: 'vm\u00001', destinationUri: DEST, options: options() })).toThrow(
      /VM name contains a NUL byte/,
    );
    expect(() => buildMigrateArgv({ vmName: 'vm1', destinationUri: '', options: options() })).toThrow(
      /destination URI is empty/,
    );
    expect(() => buildMigrateArgv({ vmName: 'vm1', destinationUri: DEST, migrateUri: '', options: options() })).toThrow(
      /migrate URI is empty/,
    );
  });
});

describe('buildMigrateArgv over every option combination', () => {
  const BOOLEAN_FIELDS = [
    'persistent',
    'undefineSource',
    'tunnelled',
    'tls',
    'compressed',
    'autoConverge',
    'postcopy',
    'unsafe',
    'confirmUnsafe',
    'deleteSourceVolumes',
    'precreateVolumes',
  ] as const;
  const TIMEOUTS = [
    {},
    { timeoutSeconds: 30 },
    { timeoutSeconds: 30, timeoutAction: 'suspend' },
    { timeoutSeconds: 30, timeoutAction: 'postcopy' },
    { timeoutSeconds: 30, timeoutAction: 'abort' },
    { timeoutAction: 'suspend' },
  ] as const;

  function* allCombinations(): Generator<MigrationOptions> {
    const base = options();
    for (const mode of MIGRATION_MODES) {
      for (const storage of STORAGE_MODES) {
        for (const bandwidth of [undefined, 8]) {
          for (const timeout of TIMEOUTS) {
            for (let bits = 0; bits < 1 << BOOLEAN_FIELDS.length; bits += 1) {
              const combo: MigrationOptions = { ...base, mode, storage, bandwidthMiBps: bandwidth, ...timeout };
              BOOLEAN_FIELDS.forEach((field, index) => {
                combo[field] = (bits & (1 << index)) !== 0;
              });
              yield combo;
            }
          }
        }
      }
    }
  }

  it('maps each option to exactly its flags, once, with every value right after its flag', () => {
    let valid = 0;
    let refused = 0;
    let index = 0;
    for (const combo of allCombinations()) {
      index += 1;
      const vmName = HOSTILE_NAMES[index % HOSTILE_NAMES.length] as string;
      const migrateUri = index % 3 === 0 ? '--help' : undefined;
      const build = () => buildMigrateArgv({ vmName, destinationUri: '--desturi', options: combo, migrateUri });

      if (describeOptionProblems(combo).length > 0) {
        let message = '';
        try {
          build();
        } catch (error) {
          message = (error as Error).message;
        }
        if (!message.startsWith('refusing to build virsh migrate argv'))
          throw new Error(`built argv for refused options: ${JSON.stringify(combo)}`);
        refused += 1;
        continue;
      }
      valid += 1;
      const argv = build();
      const { flags, values } = flagsOf(argv);
      const context = () => JSON.stringify({ combo, argv });

      if (argv[0] !== 'migrate') throw new Error(`argv does not start with migrate: ${context()}`);
      if ([...flags].sort().join(' ') !== expectedFlags(combo, migrateUri !== undefined).join(' ')) {
        throw new Error(
          `flags differ: expected ${expectedFlags(combo, migrateUri !== undefined).join(' ')}: ${context()}`,
        );
      }
      // Together with the exact flag list above, this proves no hostile value landed where virsh reads a flag:
      // a misplaced '--help' or '--desturi' would show up as an extra or duplicated flag.
      if (new Set(flags).size !== flags.length) throw new Error(`a flag appears twice: ${context()}`);
      if (
        values.get('--domain') !== vmName ||
        values.get('--desturi') !== '--desturi' ||
        values.get('--migrateuri') !== migrateUri
      ) {
        throw new Error(`a value is not right after its flag: ${context()}`);
      }
      if (combo.bandwidthMiBps !== undefined && values.get('--bandwidth') !== String(combo.bandwidthMiBps))
        throw new Error(`bandwidth value: ${context()}`);
      if (values.has('--timeout') && values.get('--timeout') !== String(combo.timeoutSeconds))
        throw new Error(`timeout value: ${context()}`);
    }
    // 2 modes × 3 storages × 2 bandwidths × 6 timeouts × 2^11 booleans.
    expect(valid + refused).toBe(2 * 3 * 2 * 6 * 2 ** 11);
    expect(valid).toBeGreaterThan(1000);
    expect(refused).toBeGreaterThan(1000);
  });
});

describe('job argv builders', () => {
  it('name the domain with --domain, for ordinary and hostile names alike', () => {
    for (const name of ['vm1', ...HOSTILE_NAMES]) {
      expect(buildJobInfoArgv(name)).toEqual(['domjobinfo', '--domain', name]);
      expect(buildCompletedJobInfoArgv(name)).toEqual(['domjobinfo', '--completed', '--domain', name]);
      expect(buildJobAbortArgv(name)).toEqual(['domjobabort', '--domain', name]);
      expect(buildPostcopySwitchArgv(name)).toEqual(['migrate-postcopy', '--domain', name]);
    }
  });

  it('refuse an empty name or a NUL byte', () => {
    for (const build of [buildJobInfoArgv, buildCompletedJobInfoArgv, buildJobAbortArgv, buildPostcopySwitchArgv]) {
      expect(() => build('')).toThrow(/VM name is empty/);
      expect(() => build('a\u0000b')).toThrow(/NUL byte/);
    }
  });
});
