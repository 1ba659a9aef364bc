import type { Prisma } from '@prisma/client';

/**
 * A running hv1 → hv2 migration row with every required column, for tests that need a job to hang events or an
 * evacuation on (made-up URIs; nothing reads a host). `overrides` sets what the test cares about.
 */
export function runningMigrationRow(
  overrides: Partial<Prisma.MigrationUncheckedCreateInput> = {},
): Prisma.MigrationUncheckedCreateInput {
  return {
    vmName: 'vm1',
    sourceAlias: 'hv1',
    sourceUri: 'qemu+ssh://root@hv1/system',
    destinationAlias: 'hv2',
    destinationUri: 'qemu+ssh://root@hv2/system',
    options: '{}',
    actor: 'bob',
    state: 'running',
    ...overrides,
  };
}
