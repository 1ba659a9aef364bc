import { describe, expect, it } from 'vitest';
import {
  ago,
  decideRemoval,
  describeForeignVolume,
  describeRecordedVolume,
  migrationRef,
  type StoryMigration,
} from './story';

const NOW = new Date('2026-12-02T20:00:00Z');
const minutesAgo = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000);

const migration = (overrides: Partial<StoryMigration> = {}): StoryMigration => ({
  id: 'cmio3x0k80000ab12k3x9a2',
  state: 'cancelled',
  errorCode: 'cancelled',
  vmName: 'vm1',
  sourceAlias: 'hv1',
  destinationAlias: 'hv2',
  endedAt: minutesAgo(12),
  ...overrides,
});

describe('describeRecordedVolume', () => {
  it('names the copy a cancelled job left with its migration and how long ago it ended', () => {
    expect(
      describeRecordedVolume(
        { name: 'vm1.qcow2', hostAlias: 'hv2', role: 'copy-target', createdAt: minutesAgo(14), migration: migration() },
        NOW,
      ),
    ).toBe('vm1.qcow2 on hv2 is the copy left by migration #k3x9a2 (cancelled 12 min ago)');
  });

  it('says "interrupted by a Ferry restart" for a job the reconciler closed', () => {
    const interrupted = migration({ state: 'failed', errorCode: 'interrupted', endedAt: minutesAgo(90) });
    expect(
      describeRecordedVolume(
        { name: 'vm1.qcow2', hostAlias: 'hv2', role: 'copy-target', createdAt: minutesAgo(95), migration: interrupted },
        NOW,
      ),
    ).toBe('vm1.qcow2 on hv2 is the copy left by migration #k3x9a2 (interrupted by a Ferry restart 1 h ago)');
  });

  it('names a kept source copy with where the VM went', () => {
    const succeeded = migration({ state: 'succeeded', errorCode: null, endedAt: minutesAgo(3) });
    expect(
      describeRecordedVolume(
        { name: 'vm1.qcow2', hostAlias: 'hv1', role: 'source', createdAt: minutesAgo(4), migration: succeeded },
        NOW,
      ),
    ).toBe('vm1.qcow2 on hv1 is the source copy kept by migration #k3x9a2 (succeeded 3 min ago; vm1 moved to hv2)');
  });

  it('names a pre-created volume of a failed job, and one whose migration left the history', () => {
    const failed = migration({ state: 'failed', errorCode: 'disk-size-mismatch', endedAt: minutesAgo(0) });
    expect(
      describeRecordedVolume(
        { name: 'vm1.qcow2', hostAlias: 'hv2', role: 'precreated', createdAt: minutesAgo(1), migration: failed },
        NOW,
      ),
    ).toBe('vm1.qcow2 on hv2 is the volume Ferry pre-created for migration #k3x9a2 (failed just now)');
    expect(
      describeRecordedVolume(
        {
          name: 'vm1.qcow2',
          hostAlias: 'hv2',
          role: 'copy-target',
          createdAt: minutesAgo(3 * 24 * 60),
          migration: null,
        },
        NOW,
      ),
    ).toBe('vm1.qcow2 on hv2 was left by a migration no longer in the history (recorded 3 days ago)');
  });
});

describe('describeForeignVolume', () => {
  it('names a volume Ferry did not create and says Ferry will not delete it', () => {
    expect(describeForeignVolume({ path: '/var/lib/libvirt/images/vm2.qcow2', hostAlias: 'hv2' })).toMatch(
      /^\/var\/lib\/libvirt\/images\/vm2\.qcow2 already exists on hv2 and Ferry did not create it: Ferry never deletes it/,
    );
  });
});

describe('migrationRef and ago', () => {
  it('uses the random tail of the id', () => {
    expect(migrationRef('cmio3x0k80000ab12k3x9a2')).toBe('#k3x9a2');
  });

  it('rounds down to minutes, hours, then days', () => {
    expect(ago(minutesAgo(0.5), NOW)).toBe('just now');
    expect(ago(minutesAgo(59), NOW)).toBe('59 min ago');
    expect(ago(minutesAgo(60), NOW)).toBe('1 h ago');
    expect(ago(minutesAgo(47 * 60), NOW)).toBe('47 h ago');
    expect(ago(minutesAgo(49 * 60), NOW)).toBe('2 days ago');
  });
});

describe('decideRemoval', () => {
  const volume = { path: '/var/lib/libvirt/images/vm1.qcow2', hostAlias: 'hv2', capacityBytes: 268435456 };

  it('deletes the volume it recorded when it is unchanged and unused', () => {
    expect(decideRemoval(volume, { kind: 'present', capacityBytes: 268435456, usedBy: null })).toEqual({
      action: 'delete',
    });
  });

  it('keeps a volume a defined domain uses, naming the domain', () => {
    expect(decideRemoval(volume, { kind: 'present', capacityBytes: 268435456, usedBy: 'vm1' })).toEqual({
      action: 'keep',
      reason: 'domain vm1 on hv2 uses it',
    });
  });

  it('keeps a volume whose size changed: it is no longer the one Ferry recorded', () => {
    const decision = decideRemoval(volume, { kind: 'present', capacityBytes: 1048576, usedBy: null });
    expect(decision).toEqual({
      action: 'keep',
      reason: 'it is 1048576 bytes now, not the 268435456 bytes Ferry recorded: someone replaced it',
    });
  });

  it('skips the size check when the size was never known', () => {
    expect(
      decideRemoval({ ...volume, capacityBytes: null }, { kind: 'present', capacityBytes: 1, usedBy: null }),
    ).toEqual({ action: 'delete' });
  });

  it('keeps the volume when the host or its pool does not answer, and closes one that is gone', () => {
    expect(decideRemoval(volume, { kind: 'unreachable', error: 'Connection refused' })).toEqual({
      action: 'keep',
      reason: 'hv2 did not answer (Connection refused)',
    });
    expect(
      decideRemoval(volume, {
        kind: 'pool-error',
        pool: 'default',
        error: "Requested operation is not valid: storage pool 'default' is not active",
      }),
    ).toEqual({
      action: 'keep',
      reason:
        "pool default on hv2 could not be read (Requested operation is not valid: storage pool 'default' is not active)",
    });
    expect(decideRemoval(volume, { kind: 'missing' })).toEqual({ action: 'gone' });
  });
});
