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
import { toDomainUuid, type DomainUuid } from '../domain-ref';
import {
  describeOptionProblems,
  migrationOptionsSchema,
  MIGRATION_MODES,
  STORAGE_MODES,
  type MigrationOptionFields,
  type MigrationOptions,
  type MigrationOptionsInput,
} from './options';

const DEST = 'qemu+ssh://root@10.77.77.12/system?keyfile=/etc/ferry/keys/id_ed25519';
const options = (input: MigrationOptionsInput = {}): MigrationOptions => migrationOptionsSchema.parse(input);

const VM1 = toDomainUuid('0f1e0000-7a5b-4c1b-9e00-0000000000a1');
/** Domain UUIDs: the only way argv names a VM (a name like `1` would be looked up as an ID first). */
const DOMAINS = [
  VM1,
  toDomainUuid('5A0C7C52-0D1E-4C55-9D1B-000000000001'),
  toDomainUuid('00000000-0000-0000-0000-000000000000'),
];

/** Values that must never be mistaken for flags where argv carries user-supplied text (URIs). */
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
function expectedFlags(o: MigrationOptionFields, hasMigrateUri: boolean): string[] {
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
    expect(buildMigrateArgv({ domain: VM1, destinationUri: DEST, options: options() })).toEqual([
      'migrate',
      '--live',
      '--persistent',
      '--undefinesource',
      '--copy-storage-all',
      '--verbose',
      '--domain',
      VM1,
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
    const ours = buildMigrateArgv({ domain: VM1, destinationUri: labDest, options: options({ bandwidthMiBps: 8 }) });
    const labFlags = labArgs.slice(0, -2);
    expect(ours.filter((token) => !['--domain', VM1, '--desturi', labDest].includes(token)).sort()).toEqual(
      [...labFlags].sort(),
    );
    expect(ours.slice(-4)).toEqual(['--domain', VM1, '--desturi', labDest]);
  });

  it('tunnelled over shared storage adds --p2p --tunnelled and no storage flag', () => {
    expect(
      buildMigrateArgv({
        domain: VM1,
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
      VM1,
      '--desturi',
      DEST,
    ]);
  });

  it('peer-to-peer adds --p2p once, also when tunnelled', () => {
    const p2p = buildMigrateArgv({ domain: VM1, destinationUri: DEST, options: options(), peerToPeer: true });
    expect(p2p).toEqual([
      'migrate',
      '--live',
      '--persistent',
      '--undefinesource',
      '--copy-storage-all',
      '--verbose',
      '--p2p',
      '--domain',
      VM1,
      '--desturi',
      DEST,
    ]);
    const tunnelled = buildMigrateArgv({
      domain: VM1,
      destinationUri: DEST,
      options: options({ tunnelled: true, storage: 'shared' }),
      peerToPeer: true,
    });
    expect(tunnelled.filter((arg) => arg === '--p2p')).toHaveLength(1);
  });

  it('offline over shared storage with confirmation', () => {
    expect(
      buildMigrateArgv({
        domain: VM1,
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
      VM1,
      '--desturi',
      DEST,
    ]);
  });

  it('every tuning flag, a bandwidth, a post-copy timeout and a migrate URI', () => {
    const argv = buildMigrateArgv({
      domain: VM1,
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
      VM1,
      '--desturi',
      DEST,
      '--migrateuri',
      'tcp://10.88.0.12',
    ]);
  });

  it("a timeout without an action is virsh's default, suspend, written out", () => {
    const argv = buildMigrateArgv({ domain: VM1, destinationUri: DEST, options: options({ timeoutSeconds: 300 }) });
    expect(argv.slice(argv.indexOf('--timeout'), argv.indexOf('--timeout') + 3)).toEqual([
      '--timeout',
      '300',
      '--timeout-suspend',
    ]);
  });

  it("timeoutAction 'abort' gives virsh no --timeout and hands the deadline to the runner", () => {
    const o = options({ timeoutSeconds: 90, timeoutAction: 'abort' });
    expect(
      buildMigrateArgv({ domain: VM1, destinationUri: DEST, options: o }).filter((t) => t.startsWith('--timeout')),
    ).toEqual([]);
    expect(timeoutAbortAfterSeconds(o)).toBe(90);
    expect(timeoutAbortAfterSeconds(options({ timeoutSeconds: 90 }))).toBeNull();
    expect(timeoutAbortAfterSeconds(options({ timeoutSeconds: 90, timeoutAction: 'suspend' }))).toBeNull();
    expect(timeoutAbortAfterSeconds(options())).toBeNull();
  });

  it('takes only options that went through the schema, which refuses what Ferry refuses', () => {
    const unchecked: MigrationOptionFields = { ...options(), mode: 'offline' };
    // @ts-expect-error: unchecked fields are not MigrationOptions; only migrationOptionsSchema makes those.
    expect(() => buildMigrateArgv({ domain: VM1, destinationUri: DEST, options: unchecked })).not.toThrow();
    expect(() => options({ mode: 'offline' })).toThrow(/Offline migration cannot copy disks/);
  });

  it('refuses values argv cannot carry', () => {
    // A cast or a JavaScript caller could still hand over a name: the builder checks the UUID shape at run time.
    for (const name of ['', 'vm1', '1', '--help', `${VM1}\u0000`]) {
      expect(() => buildMigrateArgv({ domain: name as DomainUuid, destinationUri: DEST, options: options() })).toThrow(
        /a domain must be named by its UUID/,
      );
    }
    expect(() => buildMigrateArgv({ domain: VM1, destinationUri: '', options: options() })).toThrow(
      /destination URI is empty/,
    );
    expect(() => buildMigrateArgv({ domain: VM1, destinationUri: DEST, migrateUri: '', options: options() })).toThrow(
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

  function* allCombinations(): Generator<MigrationOptionFields> {
    const base = options();
    for (const mode of MIGRATION_MODES) {
      for (const storage of STORAGE_MODES) {
        for (const bandwidth of [undefined, 8]) {
          for (const timeout of TIMEOUTS) {
            for (let bits = 0; bits < 1 << BOOLEAN_FIELDS.length; bits += 1) {
              const combo: MigrationOptionFields = { ...base, mode, storage, bandwidthMiBps: bandwidth, ...timeout };
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
      const domain = DOMAINS[index % DOMAINS.length] as DomainUuid;
      const migrateUri = index % 3 === 0 ? HOSTILE_NAMES[index % HOSTILE_NAMES.length] : undefined;
      const parsed = migrationOptionsSchema.safeParse(combo);

      if (describeOptionProblems(combo).length > 0) {
        // The schema is the gate: refused combinations never become MigrationOptions, so never reach the builder.
        if (parsed.success) throw new Error(`the schema accepted refused options: ${JSON.stringify(combo)}`);
        refused += 1;
        continue;
      }
      if (!parsed.success) throw new Error(`the schema refused valid options: ${JSON.stringify(combo)}`);
      valid += 1;
      const argv = buildMigrateArgv({ domain, destinationUri: '--desturi', options: parsed.data, migrateUri });
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
        values.get('--domain') !== domain ||
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
  it('name the domain by its UUID with --domain', () => {
    for (const uuid of DOMAINS) {
      expect(buildJobInfoArgv(uuid)).toEqual(['domjobinfo', '--domain', uuid]);
      expect(buildCompletedJobInfoArgv(uuid)).toEqual(['domjobinfo', '--completed', '--domain', uuid]);
      expect(buildJobAbortArgv(uuid)).toEqual(['domjobabort', '--domain', uuid]);
      expect(buildPostcopySwitchArgv(uuid)).toEqual(['migrate-postcopy', '--domain', uuid]);
    }
  });

  it('refuse anything that is not a UUID, names included', () => {
    for (const build of [buildJobInfoArgv, buildCompletedJobInfoArgv, buildJobAbortArgv, buildPostcopySwitchArgv]) {
      for (const name of ['', '1', 'vm1', ...HOSTILE_NAMES]) {
        expect(() => build(name as DomainUuid)).toThrow(/a domain must be named by its UUID/);
      }
    }
    expect(() => toDomainUuid('1')).toThrow(/not a domain UUID/);
  });
});
