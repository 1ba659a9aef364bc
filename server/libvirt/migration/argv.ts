import { hasNul } from '../text-checks';
import type { DomainUuid } from '../domain-ref';
import { isUuid } from '../parsers/list';
import type { MigrationOptionFields, MigrationOptions, StorageMode } from './options';

/**
 * argv builders for the virsh commands of a migration: everything after `virsh -c <source-uri>`.
 *
 * PURE: no I/O. The executor passes these arrays to spawn (or through the one quoting function for ssh), so
 * no shell ever sees them here.
 *
 * The domain is always its UUID (`DomainUuid`, see domain-ref.ts): virsh looks a bare name up as an ID first.
 * Every other value (URIs) goes in with its named option (`--domain X`, `--desturi X`,
 * `--migrateuri X`). virsh's parser takes the argument after an option that expects a value as that value, even
 * when it starts with `--`: with virsh 9.0, `migrate --domain --help --desturi test:///default` fails with
 * "failed to get domain '--help'", and a domain really named `--help` reaches virDomainMigrate3. Positional
 * arguments would not be safe: `migrate --live --help` prints help. (argv.integration.test.ts checks this
 * against real virsh.)
 */

const STORAGE_FLAGS: Record<StorageMode, readonly string[]> = {
  shared: [],
  'copy-all': ['--copy-storage-all'],
  'copy-inc': ['--copy-storage-inc'],
};

export type BuildMigrateArgvOptions = {
  domain: DomainUuid;
  /** The destination as the SOURCE host sees it for --p2p, or as the machine running virsh sees it otherwise. */
  destinationUri: string;
  /** Checked already: only migrationOptionsSchema makes this type. */
  options: MigrationOptions;
  /** QEMU's data connection, e.g. `tcp://10.77.77.12`, when the hostname in destinationUri is not the right network. */
  migrateUri?: string;
  /** `--p2p`: the source's libvirtd drives the migration (peer-to-peer.ts says when it can); tunnelled implies it. */
  peerToPeer?: boolean;
};

/**
 * `virsh migrate` argv. The options type proves they passed the rules of options.ts; throws only if a value
 * could not travel in argv.
 *
 *     ['migrate', '--live', '--persistent', '--undefinesource', '--copy-storage-all', '--verbose',
 *      '--domain', '5a0c7c52-0d1e-4c55-9d1b-000000000001', '--desturi', 'qemu+ssh://root@10.77.77.12/system']
 */
export function buildMigrateArgv({
  domain,
  destinationUri,
  options,
  migrateUri,
  peerToPeer = false,
}: BuildMigrateArgvOptions): string[] {
  requireDomain(domain);
  requireArgValue({ what: 'destination URI', value: destinationUri });
  if (migrateUri !== undefined) requireArgValue({ what: 'migrate URI', value: migrateUri });

  const argv = ['migrate', options.mode === 'live' ? '--live' : '--offline'];
  if (options.persistent) argv.push('--persistent');
  if (options.undefineSource) argv.push('--undefinesource');
  argv.push(...STORAGE_FLAGS[options.storage]);
  // Always: the progress parser reads the `\rMigration: [ 45 %]` lines that only --verbose prints.
  argv.push('--verbose');
  if (options.tunnelled) argv.push('--p2p', '--tunnelled');
  else if (peerToPeer) argv.push('--p2p');
  if (options.tls) argv.push('--tls');
  if (options.compressed) argv.push('--compressed');
  if (options.autoConverge) argv.push('--auto-converge');
  if (options.postcopy) argv.push('--postcopy');
  if (options.unsafe) argv.push('--unsafe');
  if (options.bandwidthMiBps !== undefined) argv.push('--bandwidth', String(options.bandwidthMiBps));
  if (options.timeoutSeconds !== undefined) {
    const action = options.timeoutAction ?? 'suspend';
    // 'abort' has no virsh flag; the runner enforces it (timeoutAbortAfterSeconds), so virsh gets no --timeout.
    if (action === 'suspend') argv.push('--timeout', String(options.timeoutSeconds), '--timeout-suspend');
    if (action === 'postcopy') argv.push('--timeout', String(options.timeoutSeconds), '--timeout-postcopy');
  }
  argv.push('--domain', domain, '--desturi', destinationUri);
  if (migrateUri !== undefined) argv.push('--migrateuri', migrateUri);
  return argv;
}

/**
 * Seconds after which the job runner must abort the migration itself (`buildJobAbortArgv`), or null when
 * virsh handles the timeout or there is none. virsh 9.0 can only suspend or switch to post-copy on timeout.
 */
export function timeoutAbortAfterSeconds(options: MigrationOptionFields): number | null {
  return options.timeoutAction === 'abort' && options.timeoutSeconds !== undefined ? options.timeoutSeconds : null;
}

/** `virsh domjobinfo`: statistics of the running job; only the SOURCE host has them during a migration. */
export function buildJobInfoArgv(domain: DomainUuid): string[] {
  requireDomain(domain);
  return ['domjobinfo', '--domain', domain];
}

/** `virsh domjobinfo --completed`: statistics of the job that just finished (downtime, setup time, totals). */
export function buildCompletedJobInfoArgv(domain: DomainUuid): string[] {
  requireDomain(domain);
  return ['domjobinfo', '--completed', '--domain', domain];
}

/** `virsh domjobabort`: cancels the running migration; `virsh migrate` then fails with "canceled by client". */
export function buildJobAbortArgv(domain: DomainUuid): string[] {
  requireDomain(domain);
  return ['domjobabort', '--domain', domain];
}

/** `virsh migrate-postcopy`: switches a migration started with --postcopy to post-copy now. */
export function buildPostcopySwitchArgv(domain: DomainUuid): string[] {
  requireDomain(domain);
  return ['migrate-postcopy', '--domain', domain];
}

/** The brand is a compile-time promise; this keeps a cast or a JavaScript caller from slipping a name through. */
function requireDomain(domain: DomainUuid): void {
  if (!isUuid(domain)) throw new Error(`a domain must be named by its UUID, got ${JSON.stringify(domain)}`);
}

function requireArgValue({ what, value }: { what: string; value: string }): void {
  if (value === '') throw new Error(`${what} is empty`);
  if (hasNul(value)) throw new Error(`${what} contains a NUL byte, which argv cannot carry`);
}

/**
 * What libvirt 9.0's QEMU driver takes as "no limit" for migrate-setspeed: QEMU_DOMAIN_MIG_BANDWIDTH_MAX, the
 * largest MiB/s whose byte count fits QEMU's int64 (`virsh migrate-getspeed` prints it for a fresh domain).
 */
export const UNLIMITED_MIGRATION_SPEED_MIBPS = 8_796_093_022_207;

/** `virsh migrate-setspeed`: changes the bandwidth limit of a migration while it runs (MiB/s). */
export function buildSetSpeedArgv(domain: DomainUuid, mibps: number): string[] {
  requireDomain(domain);
  if (!Number.isSafeInteger(mibps) || mibps < 1)
    throw new Error(`a speed must be a positive whole MiB/s, got ${mibps}`);
  return ['migrate-setspeed', '--domain', domain, '--bandwidth', String(mibps)];
}
