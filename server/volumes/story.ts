/**
 * PURE: what Ferry says about a volume it recorded, and what it may do with it. No I/O, so every sentence and
 * every decision is unit-tested (story.test.ts); ledger.ts gathers the facts from the host and the database.
 */

export const VOLUME_ROLES = ['precreated', 'copy-target', 'source'] as const;
export type VolumeRole = (typeof VOLUME_ROLES)[number];

export const VOLUME_STATUSES = ['pending', 'leftover', 'removed', 'in-use'] as const;
export type VolumeStatus = (typeof VOLUME_STATUSES)[number];

/** The migration a volume came from, as much of it as the story needs. */
export type StoryMigration = {
  id: string;
  state: string;
  errorCode: string | null;
  vmName: string;
  sourceAlias: string;
  destinationAlias: string;
  endedAt: Date | null;
};

export type StoryVolume = {
  name: string;
  hostAlias: string;
  role: VolumeRole;
  createdAt: Date;
  migration: StoryMigration | null;
};

/**
 * The short reference a person can say and find again: the tail of the migration id (cuid tails are random;
 * the head is a timestamp shared by neighbours). The migration page's URL ends with the same characters.
 */
export function migrationRef(id: string): string {
  return `#${id.slice(-6)}`;
}

/** "just now", "12 min ago", "3 h ago", "2 days ago". */
export function ago(then: Date, now: Date): string {
  const minutes = Math.floor((now.getTime() - then.getTime()) / 60_000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} days ago`;
}

/** How the migration ended, in the words the history page uses. */
function ending(migration: StoryMigration): string {
  if (migration.errorCode === 'interrupted') return 'interrupted by a Ferry restart';
  return migration.state;
}

/**
 * One sentence naming the volume and where it came from, e.g.
 * "vm1.qcow2 on hv2 is the copy left by migration #k3x9a2 (cancelled 12 min ago)".
 */
export function describeRecordedVolume(volume: StoryVolume, now: Date): string {
  const where = `${volume.name} on ${volume.hostAlias}`;
  const { migration } = volume;
  if (!migration)
    return `${where} was left by a migration no longer in the history (recorded ${ago(volume.createdAt, now)})`;
  const when = ago(migration.endedAt ?? volume.createdAt, now);
  const ref = migrationRef(migration.id);
  switch (volume.role) {
    case 'source':
      return `${where} is the source copy kept by migration ${ref} (${ending(migration)} ${when}; ${migration.vmName} moved to ${migration.destinationAlias})`;
    case 'precreated':
      return `${where} is the volume Ferry pre-created for migration ${ref} (${ending(migration)} ${when})`;
    case 'copy-target':
      return `${where} is the copy left by migration ${ref} (${ending(migration)} ${when})`;
    default: {
      const unreachable: never = volume.role;
      return unreachable;
    }
  }
}

/** The preflight sentence for a destination path that exists and that Ferry never recorded: named, never deleted. */
export function describeForeignVolume(options: { path: string; hostAlias: string }): string {
  return (
    `${options.path} already exists on ${options.hostAlias} and Ferry did not create it: Ferry never deletes ` +
    'it; remove or rename it on the host, or pre-create volumes to reuse it'
  );
}

/** What the host said about a recorded volume, gathered right before Ferry acts on it. */
export type VolumeFacts =
  | { kind: 'unreachable'; error: string }
  | { kind: 'pool-error'; pool: string; error: string }
  | { kind: 'missing' }
  | { kind: 'present'; capacityBytes: number; usedBy: string | null };

export type VolumeDecision = { action: 'delete' } | { action: 'gone' } | { action: 'keep'; reason: string };

/**
 * Whether Ferry may delete a volume it recorded: only when the host answered, the volume is still there, no
 * defined domain uses it, and it is still the size Ferry recorded (a different size means someone replaced it).
 * A volume already gone is closed as such. Used by the self-cleaning of failed jobs and by the operator's remove.
 */
export function decideRemoval(
  volume: { path: string; hostAlias: string; capacityBytes: number | null },
  facts: VolumeFacts,
): VolumeDecision {
  switch (facts.kind) {
    case 'unreachable':
      return { action: 'keep', reason: `${volume.hostAlias} did not answer (${facts.error})` };
    case 'pool-error':
      return { action: 'keep', reason: `pool ${facts.pool} on ${volume.hostAlias} could not be read (${facts.error})` };
    case 'missing':
      return { action: 'gone' };
    case 'present':
      if (facts.usedBy !== null)
        return { action: 'keep', reason: `domain ${facts.usedBy} on ${volume.hostAlias} uses it` };
      if (volume.capacityBytes !== null && facts.capacityBytes !== volume.capacityBytes)
        return {
          action: 'keep',
          reason: `it is ${facts.capacityBytes} bytes now, not the ${volume.capacityBytes} bytes Ferry recorded: someone replaced it`,
        };
      return { action: 'delete' };
    default: {
      const unreachable: never = facts;
      return unreachable;
    }
  }
}
