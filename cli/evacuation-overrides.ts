import { CliError, EXIT } from './errors';
import { printable } from './output';

/**
 * `--exclude <vm>` and `--to <vm>=<host>` as the plan's overrides. Names are what an admin types; the server is
 * given UUIDs and host ids taken from the plan and the host list, so a VM is never acted on by its name.
 */

export type PlanVm = { vmName: string; vmUuid: string; sourceAlias: string };
export type HostRef = { id: string; alias: string };
export type Move = { vm: string; host: string };
export type Override = { vmUuid: string; destinationHostId: string | null };

/** More names than this in an error and the list is noise: point at the plan instead. */
const MAX_LISTED = 10;

/**
 * `--to vm1=hv2`. Split at the last "=": an alias cannot contain one (libvirt's alias rule: letters, digits,
 * "_" and "-"), a VM name may.
 */
export function parseMove(text: string): Move {
  const at = text.lastIndexOf('=');
  if (at <= 0 || at === text.length - 1) {
    throw new CliError(EXIT.usage, `--to takes <vm>=<host>, e.g. --to vm1=hv2; "${printable(text)}" is not that.`);
  }
  return { vm: text.slice(0, at), host: text.slice(at + 1) };
}

function listed(names: string[]): string {
  if (names.length === 0) return 'none';
  if (names.length > MAX_LISTED) return `${names.length} VMs; --plan lists them`;
  return names.map(printable).join(', ');
}

/** A VM on the plan by its name (or its UUID, when two hosts of a bring-back hold one name each). */
export function findPlanVm(items: readonly PlanVm[], name: string, flag: string): PlanVm {
  const matches = items.filter((item) => item.vmName === name || item.vmUuid === name);
  if (matches.length === 0) {
    throw new CliError(
      EXIT.usage,
      `${flag} ${printable(name)}: no such VM on the plan (its VMs: ${listed(items.map((item) => item.vmName))}).`,
    );
  }
  if (matches.length > 1) {
    const where = matches.map((item) => printable(item.sourceAlias)).join(' and ');
    throw new CliError(EXIT.usage, `${flag} ${printable(name)}: VMs of that name are on ${where}; give its UUID.`);
  }
  return matches[0] as PlanVm;
}

/**
 * The overrides for `evacuation.plan`/`start`: excluded VMs with a null destination, moved ones with their
 * host's id. A VM named twice, a host that is not registered, or the drained host itself is a usage error.
 */
export function buildOverrides(input: {
  items: readonly PlanVm[];
  hosts: readonly HostRef[];
  source: HostRef;
  exclude: readonly string[];
  moves: readonly Move[];
}): Override[] {
  const overrides = new Map<string, Override>();
  const flagOf = new Map<string, string>();
  for (const name of input.exclude) {
    const vm = findPlanVm(input.items, name, '--exclude');
    overrides.set(vm.vmUuid, { vmUuid: vm.vmUuid, destinationHostId: null });
    flagOf.set(vm.vmUuid, '--exclude');
  }
  for (const move of input.moves) {
    const flag = `--to ${printable(move.vm)}=${printable(move.host)}`;
    const vm = findPlanVm(input.items, move.vm, '--to');
    const host = input.hosts.find((candidate) => candidate.alias === move.host);
    if (!host) {
      throw new CliError(
        EXIT.usage,
        `${flag}: no host "${printable(move.host)}" is registered (registered: ${input.hosts.map((h) => printable(h.alias)).join(', ') || 'none'}).`,
      );
    }
    if (host.id === input.source.id) {
      throw new CliError(EXIT.usage, `${flag}: that is the host being drained; name another one.`);
    }
    const earlier = flagOf.get(vm.vmUuid);
    if (earlier !== undefined) {
      throw new CliError(EXIT.usage, `${flag}: ${printable(vm.vmName)} is already given by ${earlier}.`);
    }
    overrides.set(vm.vmUuid, { vmUuid: vm.vmUuid, destinationHostId: host.id });
    flagOf.set(vm.vmUuid, flag);
  }
  return [...overrides.values()];
}
