import { z } from 'zod';

/**
 * What an admin can ask of one `virsh migrate`, and which combinations Ferry refuses before anything runs.
 *
 * PURE: no I/O, no node:* imports, so the browser's migrate dialog validates with the same rules.
 *
 * Every refusal below quotes where it comes from, so nobody "fixes" one without knowing what breaks:
 * - virsh 9.0 (tools/virsh-domain.c, checked by running virsh against test:///default on Debian 12):
 *   `--live`/`--offline` are exclusive; `--timeout` needs `--live` ("migrate: Unexpected timeout for offline
 *   migration"); `--timeout-*` needs `--timeout`; `--timeout-postcopy` needs `--postcopy`; `--tunnelled` needs
 *   `--p2p` ("cannot perform tunnelled migration without using peer2peer flag").
 * - libvirt 9.0 qemu driver (src/qemu/qemu_migration.c, qemuMigrationSrcBeginPhase): "offline migration cannot
 *   handle non-shared storage", "offline migration must be specified with the persistent flag set",
 *   "tunnelled offline migration does not make sense", "post-copy migration is not supported with non-live or
 *   paused migration", "post-copy is not supported with tunnelled migration", and with QEMU ≥ blockdev (7.2
 *   is) "migration of non-shared storage is not supported with tunnelled migration and this QEMU".
 * - Ferry policy (libvirt would accept, Ferry will not): TLS together with tunnelling (the tunnel already runs
 *   inside the encrypted libvirt connection; `--tls` configures QEMU's native transport, which a tunnelled
 *   migration does not use); speed/convergence knobs on an offline migration (there is no memory stream for
 *   them to act on); the confirmations for `--unsafe` and for offline + undefine-source.
 *
 * Timeout actions: virsh 9.0 offers only `--timeout-suspend` (its default) and `--timeout-postcopy`; it has no
 * way to abort on timeout. `timeoutAction: 'abort'` is therefore Ferry-side: no `--timeout` goes to virsh and
 * the job runner must itself run `domjobabort` after `timeoutSeconds` (see `timeoutAbortAfterSeconds` in argv.ts).
 */

export const MIGRATION_MODES = ['live', 'offline'] as const;
export type MigrationMode = (typeof MIGRATION_MODES)[number];

/**
 * shared: disks already reachable from the destination; copy-all: copy every disk; copy-inc: copy only the top image
 * (backing files must already exist on the destination).
 */
export const STORAGE_MODES = ['shared', 'copy-all', 'copy-inc'] as const;
export type StorageMode = (typeof STORAGE_MODES)[number];

export const TIMEOUT_ACTIONS = ['abort', 'suspend', 'postcopy'] as const;
export type TimeoutAction = (typeof TIMEOUT_ACTIONS)[number];

/** virsh migrate --bandwidth takes MiB/s as an unsigned long; this ceiling (1 TiB/s) only keeps typos out. */
export const MAX_BANDWIDTH_MIBPS = 1_048_576;
/** virsh parses --timeout as an int; a week is far beyond any sane migration and keeps typos out. */
export const MAX_TIMEOUT_SECONDS = 7 * 24 * 3600;

const migrationOptionsObject = z.object({
  mode: z.enum(MIGRATION_MODES).default('live'),
  /** `--persistent`: define the VM on the destination, so it survives a destination reboot. */
  persistent: z.boolean().default(true),
  /** `--undefinesource`: remove the VM's definition from the source once the migration succeeds. */
  undefineSource: z.boolean().default(true),
  storage: z.enum(STORAGE_MODES).default('copy-all'),
  /** `--p2p --tunnelled`: send the migration stream through the libvirtd connection instead of a direct QEMU socket. */
  tunnelled: z.boolean().default(false),
  /** `--tls`: encrypt QEMU's native migration stream (needs TLS certificates set up for QEMU on both hosts). */
  tls: z.boolean().default(false),
  /** `--compressed`: compress repeated memory pages (XBZRLE). */
  compressed: z.boolean().default(false),
  /** `--auto-converge`: throttle the guest's vCPUs when memory is dirtied faster than it can be sent. */
  autoConverge: z.boolean().default(false),
  /** `--postcopy`: allow switching to post-copy (via `migrate-postcopy` or `timeoutAction: 'postcopy'`). */
  postcopy: z.boolean().default(false),
  bandwidthMiBps: z
    .number()
    .int('bandwidthMiBps must be a whole number of MiB/s')
    .min(1, 'bandwidthMiBps must be at least 1 MiB/s')
    .max(MAX_BANDWIDTH_MIBPS, `bandwidthMiBps must be at most ${MAX_BANDWIDTH_MIBPS} MiB/s`)
    .optional(),
  timeoutSeconds: z
    .number()
    .int('timeoutSeconds must be a whole number of seconds')
    .min(1, 'timeoutSeconds must be at least 1 second')
    .max(MAX_TIMEOUT_SECONDS, `timeoutSeconds must be at most ${MAX_TIMEOUT_SECONDS} seconds (one week)`)
    .optional(),
  /** What happens when `timeoutSeconds` passes; absent means virsh's default, suspend. */
  timeoutAction: z.enum(TIMEOUT_ACTIONS).optional(),
  /** `--unsafe`: skip libvirt's safety checks (e.g. disk cache mode on shared storage). Needs `confirmUnsafe`. */
  unsafe: z.boolean().default(false),
  /** The admin's explicit yes to the options that can lose the VM or its data: `unsafe`, offline + undefineSource. */
  confirmUnsafe: z.boolean().default(false),
  /** Ferry-side, opt-in: after a verified migration, delete the copied disk volumes on the source. */
  deleteSourceVolumes: z.boolean().default(false),
  /** Ferry-side: create empty volumes of the right size on the destination before copying storage into them. */
  precreateVolumes: z.boolean().default(false),
});

/** The option fields with defaults filled in, not yet checked against the refused combinations. */
export type MigrationOptionFields = z.output<typeof migrationOptionsObject>;
/** What a caller may send: every field with a default may be left out (the migrate dialog's form speaks this). */
export type MigrationOptionsInput = z.input<typeof migrationOptionsObject>;

export type OptionProblem = { path: keyof MigrationOptionFields; message: string };

/**
 * Every combination Ferry refuses, each with the field to point at and one sentence an admin can act on.
 * Works on already-parsed options (e.g. built in code rather than through the schema).
 *
 * One long flat list on purpose: each rule sits with the libvirt/virsh text it comes from, and reading them
 * top to bottom is how a reviewer checks that two rules do not contradict each other.
 */
export function listOptionProblems(options: MigrationOptionFields): OptionProblem[] {
  const problems: OptionProblem[] = [];
  const add = (path: keyof MigrationOptionFields, message: string) => problems.push({ path, message });
  const isOffline = options.mode === 'offline';
  const copiesStorage = options.storage !== 'shared';

  if (isOffline) {
    if (copiesStorage) {
      add(
        'storage',
        'Offline migration cannot copy disks (libvirt: "offline migration cannot handle non-shared storage"); choose storage \'shared\' if the destination already sees the disks, or migrate live.',
      );
    }
    if (!options.persistent) {
      add(
        'persistent',
        'Offline migration only moves the definition, so it must be persistent (libvirt: "offline migration must be specified with the persistent flag set").',
      );
    }
    if (options.tunnelled) {
      add(
        'tunnelled',
        'Offline migration sends no data stream to tunnel (libvirt: "tunnelled offline migration does not make sense").',
      );
    }
    if (options.undefineSource && !options.confirmUnsafe) {
      add(
        'confirmUnsafe',
        'Offline migration with undefineSource removes the VM from the source while its disks are not copied; if the destination does not really see the same disks the VM is lost. Set confirmUnsafe to accept that.',
      );
    }
    if (options.postcopy) {
      add(
        'postcopy',
        'Post-copy needs a running VM (libvirt: "post-copy migration is not supported with non-live or paused migration").',
      );
    }
    if (options.timeoutSeconds !== undefined) {
      add(
        'timeoutSeconds',
        'A timeout only applies to live migration (virsh: "Unexpected timeout for offline migration").',
      );
    }
    if (options.bandwidthMiBps !== undefined)
      add(
        'bandwidthMiBps',
        'A bandwidth limit only applies to live migration: offline migration sends no memory or disk data.',
      );
    if (options.compressed)
      add('compressed', 'Compression only applies to live migration: offline migration sends no memory.');
    if (options.autoConverge)
      add('autoConverge', 'Auto-converge only applies to live migration: it throttles a running guest.');
    if (options.tls)
      add('tls', 'TLS only applies to live migration: offline migration opens no QEMU data stream to encrypt.');
  }

  if (options.tunnelled) {
    if (copiesStorage) {
      add(
        'storage',
        'Tunnelled migration cannot copy disks with QEMU 7.2 (libvirt: "migration of non-shared storage is not supported with tunnelled migration and this QEMU"); use shared storage or turn tunnelling off.',
      );
    }
    if (options.postcopy) {
      add(
        'postcopy',
        'Post-copy does not work over a tunnel (libvirt: "post-copy is not supported with tunnelled migration").',
      );
    }
    if (options.tls) {
      add(
        'tls',
        "Choose TLS or tunnelling, not both: a tunnelled migration already travels inside the encrypted libvirt connection, and --tls only encrypts QEMU's direct stream, which a tunnel does not use.",
      );
    }
  }

  if (options.timeoutAction !== undefined && options.timeoutSeconds === undefined) {
    add(
      'timeoutAction',
      'A timeout action needs timeoutSeconds (virsh: "Unexpected --timeout-* option without --timeout").',
    );
  }
  if (options.timeoutAction === 'postcopy' && !options.postcopy) {
    add(
      'timeoutAction',
      'Switching to post-copy on timeout needs postcopy enabled (virsh: "Option --postcopy is required by option --timeout-postcopy").',
    );
  }

  if (options.unsafe && !options.confirmUnsafe) {
    add(
      'confirmUnsafe',
      "--unsafe skips libvirt's checks that protect the disks from corruption; set confirmUnsafe to accept that risk.",
    );
  }

  if (options.deleteSourceVolumes) {
    if (!copiesStorage) {
      add(
        'deleteSourceVolumes',
        "With shared storage the source volumes ARE the VM's disks; deleting them would destroy the migrated VM.",
      );
    }
    if (!options.undefineSource) {
      add(
        'deleteSourceVolumes',
        'Deleting the source volumes while keeping the VM defined on the source leaves a definition that points at missing disks; enable undefineSource too.',
      );
    }
  }
  if (options.precreateVolumes && !copiesStorage) {
    add(
      'precreateVolumes',
      'Pre-creating destination volumes only makes sense when storage is copied; with shared storage the destination already uses the same disks.',
    );
  }

  return problems;
}

/** The messages of `listOptionProblems`, for places that only show text. */
export function describeOptionProblems(options: MigrationOptionFields): string[] {
  return listOptionProblems(options).map((problem) => problem.message);
}

/**
 * The validated migration options. Parsing fills defaults (live, persistent, undefine source, copy all storage)
 * and reports every refused combination as an issue on the field to fix. The result is branded: the only way to
 * a `MigrationOptions` is through this schema, so code that takes one (the argv builder, the runner) need not
 * check again. Options are parsed at the edge (the tRPC input) and when the runner loads a stored row.
 */
export const migrationOptionsSchema = migrationOptionsObject
  .superRefine((options, ctx) => {
    for (const problem of listOptionProblems(options)) {
      ctx.addIssue({ code: 'custom', path: [problem.path], message: problem.message });
    }
  })
  .brand<'MigrationOptions'>();

/** Options that passed every rule above. */
export type MigrationOptions = z.output<typeof migrationOptionsSchema>;

/**
 * The first problem of each field for a form's current values: field checks (a bandwidth of 0) and refused
 * combinations alike, from the schema above. The migrate dialog shows each next to its control, so a rule
 * changes here and nowhere else.
 */
export function optionProblemsByField(input: unknown): Partial<Record<keyof MigrationOptionFields, string>> {
  const parsed = migrationOptionsSchema.safeParse(input);
  const byField: Partial<Record<keyof MigrationOptionFields, string>> = {};
  if (parsed.success) return byField;
  for (const issue of parsed.error.issues) {
    const field = issue.path[0];
    if (typeof field === 'string' && field in migrationOptionsObject.shape)
      byField[field as keyof MigrationOptionFields] ??= issue.message;
  }
  return byField;
}
