import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  describeOptionProblems,
  optionProblemsByField,
  listOptionProblems,
  migrationOptionsSchema,
  type MigrationOptionsInput,
} from './options';

/** Parses and returns the issues as `path: message` strings (empty when valid). */
function issuesOf(input: MigrationOptionsInput): string[] {
  const result = migrationOptionsSchema.safeParse(input);
  if (result.success) return [];
  return result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('migrationOptionsSchema defaults', () => {
  it('fills the house defaults: live, persistent, undefine source, copy all storage, everything else off', () => {
    expect(migrationOptionsSchema.parse({})).toEqual({
      mode: 'live',
      persistent: true,
      undefineSource: true,
      storage: 'copy-all',
      tunnelled: false,
      tls: false,
      compressed: false,
      autoConverge: false,
      postcopy: false,
      unsafe: false,
      confirmUnsafe: false,
      deleteSourceVolumes: false,
      precreateVolumes: false,
    });
  });

  it('has no problems with the defaults', () => {
    expect(describeOptionProblems(migrationOptionsSchema.parse({}))).toEqual([]);
  });
});

describe('migrationOptionsSchema field checks', () => {
  it.each([
    [{ bandwidthMiBps: 0 }, /bandwidthMiBps: bandwidthMiBps must be at least 1 MiB\/s/],
    [{ bandwidthMiBps: 1.5 }, /bandwidthMiBps: bandwidthMiBps must be a whole number/],
    [{ bandwidthMiBps: 2_000_000 }, /bandwidthMiBps: bandwidthMiBps must be at most 1048576/],
    [
      { timeoutSeconds: 0, timeoutAction: 'suspend' as const },
      /timeoutSeconds: timeoutSeconds must be at least 1 second/,
    ],
    [{ timeoutSeconds: 2.5 }, /timeoutSeconds: timeoutSeconds must be a whole number/],
    [{ mode: 'warp' }, /^mode: /],
    [{ storage: 'nfs' }, /^storage: /],
    [{ timeoutAction: 'explode', timeoutSeconds: 5 }, /^timeoutAction: /],
  ])('refuses %j', (input, expected) => {
    const issues = issuesOf(input as MigrationOptionsInput);
    expect(
      issues.some((issue) => expected.test(issue)),
      issues.join('\n'),
    ).toBe(true);
  });

  it('accepts the smallest valid bandwidth and timeout', () => {
    expect(issuesOf({ bandwidthMiBps: 1, timeoutSeconds: 1 })).toEqual([]);
  });

  it('reports problems in z.flattenError form on the field to fix', () => {
    const result = migrationOptionsSchema.safeParse({ mode: 'offline' });
    expect(result.success).toBe(false);
    if (result.success) return;
    const flat = z.flattenError(result.error);
    expect(Object.keys(flat.fieldErrors).sort()).toEqual(['confirmUnsafe', 'storage']);
  });

  it('gives the dialog one message per field, for field checks and refused combinations alike', () => {
    expect(optionProblemsByField({})).toEqual({});
    expect(optionProblemsByField({ bandwidthMiBps: 0 })).toEqual({
      bandwidthMiBps: 'bandwidthMiBps must be at least 1 MiB/s',
    });
    const offline = optionProblemsByField({ mode: 'offline' });
    expect(Object.keys(offline).sort()).toEqual(['confirmUnsafe', 'storage']);
    expect(offline.storage).toMatch(/^Offline migration cannot copy disks/);
  });
});

describe('refused combinations', () => {
  // Each row: input, the field the problem points at, words from the message (usually libvirt's own).
  it.each([
    [
      { mode: 'offline', storage: 'copy-all', confirmUnsafe: true },
      'storage',
      /offline migration cannot handle non-shared storage/,
    ],
    [
      { mode: 'offline', storage: 'copy-inc', confirmUnsafe: true },
      'storage',
      /offline migration cannot handle non-shared storage/,
    ],
    [
      { mode: 'offline', storage: 'shared', persistent: false, confirmUnsafe: true },
      'persistent',
      /must be specified with the persistent flag set/,
    ],
    [
      { mode: 'offline', storage: 'shared', tunnelled: true, confirmUnsafe: true },
      'tunnelled',
      /tunnelled offline migration does not make sense/,
    ],
    [{ mode: 'offline', storage: 'shared' }, 'confirmUnsafe', /Offline migration with undefineSource/],
    [
      { mode: 'offline', storage: 'shared', postcopy: true, confirmUnsafe: true },
      'postcopy',
      /not supported with non-live/,
    ],
    [
      { mode: 'offline', storage: 'shared', timeoutSeconds: 30, confirmUnsafe: true },
      'timeoutSeconds',
      /Unexpected timeout for offline migration/,
    ],
    [
      { mode: 'offline', storage: 'shared', bandwidthMiBps: 8, confirmUnsafe: true },
      'bandwidthMiBps',
      /only applies to live migration/,
    ],
    [
      { mode: 'offline', storage: 'shared', compressed: true, confirmUnsafe: true },
      'compressed',
      /only applies to live migration/,
    ],
    [
      { mode: 'offline', storage: 'shared', autoConverge: true, confirmUnsafe: true },
      'autoConverge',
      /only applies to live migration/,
    ],
    [{ mode: 'offline', storage: 'shared', tls: true, confirmUnsafe: true }, 'tls', /only applies to live migration/],
    [{ tunnelled: true }, 'storage', /non-shared storage is not supported with tunnelled migration/],
    [
      { tunnelled: true, storage: 'copy-inc' },
      'storage',
      /non-shared storage is not supported with tunnelled migration/,
    ],
    [
      { tunnelled: true, storage: 'shared', postcopy: true },
      'postcopy',
      /post-copy is not supported with tunnelled migration/,
    ],
    [{ tunnelled: true, storage: 'shared', tls: true }, 'tls', /Choose TLS or tunnelling/],
    [{ timeoutAction: 'suspend' }, 'timeoutAction', /Unexpected --timeout-\* option without --timeout/],
    [
      { timeoutAction: 'postcopy', timeoutSeconds: 30 },
      'timeoutAction',
      /--postcopy is required by option --timeout-postcopy/,
    ],
    [{ unsafe: true }, 'confirmUnsafe', /--unsafe skips libvirt's checks/],
    [{ deleteSourceVolumes: true, storage: 'shared' }, 'deleteSourceVolumes', /source volumes ARE the VM's disks/],
    [{ deleteSourceVolumes: true, undefineSource: false }, 'deleteSourceVolumes', /enable undefineSource too/],
    [{ precreateVolumes: true, storage: 'shared' }, 'precreateVolumes', /only makes sense when storage is copied/],
  ] as const)('%j → %s', (input, path, message) => {
    const options = migrationOptionsObjectParse(input);
    const problems = listOptionProblems(options);
    expect(
      problems.some((problem) => problem.path === path && message.test(problem.message)),
      JSON.stringify(problems, null, 2),
    ).toBe(true);
    expect(issuesOf(input).some((issue) => issue.startsWith(`${path}: `) && message.test(issue))).toBe(true);
    expect(describeOptionProblems(options)).toEqual(problems.map((problem) => problem.message));
  });

  it.each([
    [{ mode: 'offline', storage: 'shared', confirmUnsafe: true }],
    [{ mode: 'offline', storage: 'shared', undefineSource: false }],
    [{ tunnelled: true, storage: 'shared' }],
    [{ tls: true, postcopy: true, timeoutSeconds: 60, timeoutAction: 'postcopy' }],
    [{ timeoutSeconds: 60 }],
    [{ timeoutSeconds: 60, timeoutAction: 'abort' }],
    [{ unsafe: true, confirmUnsafe: true }],
    [{ deleteSourceVolumes: true, precreateVolumes: true }],
    [{ storage: 'copy-inc', compressed: true, autoConverge: true, bandwidthMiBps: 100 }],
  ] as const)('accepts %j', (input) => {
    expect(issuesOf(input)).toEqual([]);
  });
});

/** Parses the field types and defaults but not the combination rules, so the rules can be tested directly. */
function migrationOptionsObjectParse(input: MigrationOptionsInput) {
  const defaults = migrationOptionsSchema.parse({});
  return { ...defaults, ...input };
}
