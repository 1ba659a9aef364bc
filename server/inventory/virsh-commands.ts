import { hasNul } from '../libvirt/text-checks';
/**
 * The argv of every virsh command the inventory runs. Pure. A domain is always passed as the value of
 * `--domain`, never as a bare positional: virsh takes the word after `--domain` verbatim, so a VM named
 * `--help` or `-c` is looked up, not parsed as an option (checked against real virsh in collect.test.ts).
 * The inventory itself passes UUIDs, because virsh resolves a bare number as a domain ID before a name,
 * and a UUID names one domain whatever the others are called.
 */

export const LIST_UUID_NAME_ARGS: readonly string[] = ['list', '--all', '--uuid', '--name'];
export const LIST_UUID_ARGS: readonly string[] = ['list', '--all', '--uuid'];
/**
 * `--nowait`: without it, qemu's domstats waits for each domain's job lock, and a domain arriving by migration
 * holds it for the whole incoming migration (its async job admits no other job), so a read of the destination
 * hung until the migration ended. With it, a busy domain is reported without the stats that need its monitor
 * (block sizes); collect.ts keeps its last known sizes then. Measured on the lab: during a 2 MiB/s incoming
 * migration, a read of hv2 took 0.7 s (a fresh virsh over ssh) with it and 13.9 s (until the migration was
 * aborted) without it; e2e/live-fleet.spec.ts checks the page during such a migration.
 *
 * The groups are what a card shows (collect.ts reads state, vCPUs, balloon memory and disks). Without them qemu also
 * asks every guest's monitor for CPU, interface, perf and QEMU's own statistics: on the lab (five running guests,
 * over ssh) a read took 52 ms that way and 18 ms with only these groups. A driver that lacks a group leaves it
 * out (no `--enforce`): the test driver still answers with the state alone.
 */
export const DOMSTATS_RAW_ARGS: readonly string[] = [
  'domstats',
  '--state',
  '--vcpu',
  '--balloon',
  '--block',
  '--raw',
  '--nowait',
];
export const VERSION_DAEMON_ARGS: readonly string[] = ['version', '--daemon'];
export const NODEINFO_ARGS: readonly string[] = ['nodeinfo'];
export const CAPABILITIES_ARGS: readonly string[] = ['capabilities'];
export const HOSTNAME_ARGS: readonly string[] = ['hostname'];
export const COMPUTER_NODEDEV_ARGS: readonly string[] = ['nodedev-dumpxml', '--device', 'computer'];

function checkDomain(domain: string): string {
  if (domain === '') throw new Error('a domain name or UUID must not be empty');
  if (hasNul(domain)) throw new Error('a domain name or UUID must not contain a NUL byte');
  return domain;
}

export function dominfoArgs(domain: string): string[] {
  return ['dominfo', '--domain', checkDomain(domain)];
}

export function domblklistDetailsArgs(domain: string): string[] {
  return ['domblklist', '--details', '--domain', checkDomain(domain)];
}

export function domblkinfoAllArgs(domain: string): string[] {
  return ['domblkinfo', '--all', '--domain', checkDomain(domain)];
}

export function domuuidArgs(domain: string): string[] {
  return ['domuuid', '--domain', checkDomain(domain)];
}

/**
 * domstats takes domains as bare positionals; a UUID (never a name, see above) is the only safe one to pass.
 * `--nowait` as for DOMSTATS_RAW_ARGS.
 */
export function domstatsRawOneArgs(uuid: string): string[] {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(uuid)) throw new Error('expected a UUID');
  return [...DOMSTATS_RAW_ARGS, uuid];
}
