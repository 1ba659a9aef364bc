import type { CheckStatus } from '../../migrations/types';
import { isSshTransport, isTestDriverUri, LIBVIRT_TRANSPORTS, type LibvirtTransport } from '../uri';

/**
 * Whether a host can take a VM: the one rule set behind both the migrate dialog's "why is this destination
 * disabled" text and preflight's checks. PURE (the dialog imports it). Each rule returns a verdict with two
 * wordings of the same finding: `short`, for a radio button next to the host's name, and `reason`, a sentence
 * for the checklist. The dialog feeds the rules what the fleet page already knows; preflight feeds them what the
 * hosts answer right now.
 */

export type DestinationCheckId =
  'same-host' | 'destination-maintenance' | 'destination-reachable' | 'driver-migrates' | 'name-free' | 'encryption';

export type Verdict = {
  id: DestinationCheckId;
  label: string;
  status: CheckStatus;
  /** A sentence for the preflight checklist. */
  reason: string;
  /** The same finding in a few words, for the dialog's host list; null when the rule passes. */
  short: string | null;
};

export type RuleHost = {
  id: string;
  alias: string;
  uri: string;
  hostUuid: string | null;
  /** The admin's word that QEMU on this host has migration TLS certificates (qemu.conf migrate_tls_x509_*). */
  tlsCapable?: boolean;
};

const LABELS: Record<DestinationCheckId, string> = {
  'same-host': 'Different hosts',
  'destination-maintenance': 'Destination not in maintenance',
  'destination-reachable': 'Destination reachable',
  'driver-migrates': 'Driver can migrate',
  'name-free': 'Name free on destination',
  encryption: 'Encrypted in transit',
};

function verdict(id: DestinationCheckId, status: CheckStatus, reason: string, short: string | null = null): Verdict {
  return { id, label: LABELS[id], status, reason, short };
}

/** The same registered host, or two registrations of one libvirt host (same host UUID). */
export function sameHostRule(source: RuleHost, destination: RuleHost): Verdict {
  if (source.id === destination.id)
    return verdict(
      'same-host',
      'fail',
      `Source and destination are the same host (${source.alias}).`,
      'this is the source host',
    );
  if (source.hostUuid && destination.hostUuid && source.hostUuid === destination.hostUuid)
    return verdict(
      'same-host',
      'fail',
      `${source.alias} and ${destination.alias} are the same libvirt host (UUID ${source.hostUuid}).`,
      'same libvirt host as the source (same host UUID)',
    );
  if (!source.hostUuid || !destination.hostUuid)
    return verdict(
      'same-host',
      'warn',
      'A host does not report a libvirt host UUID, so Ferry cannot prove they differ.',
    );
  return verdict('same-host', 'pass', `Host UUIDs differ (${source.hostUuid} vs ${destination.hostUuid}).`);
}

/** `error`: why the destination did not answer (its last refresh, or preflight's own question); null if it did. */
/** A host being drained takes nothing new: an evacuation set the flag, an operator ends it (issue #12). */
export function maintenanceRule(destination: { alias: string; inMaintenance?: boolean | null }): Verdict {
  return destination.inMaintenance
    ? verdict(
        'destination-maintenance',
        'fail',
        `${destination.alias} is in maintenance: it takes no migrations until an operator ends maintenance on its host page.`,
        'in maintenance',
      )
    : verdict('destination-maintenance', 'pass', `${destination.alias} is not in maintenance.`);
}

export function reachableRule(destination: RuleHost, error: string | null): Verdict {
  return error === null
    ? verdict('destination-reachable', 'pass', `${destination.alias} answered.`)
    : verdict('destination-reachable', 'fail', `${destination.alias}: ${error}`, `unreachable: ${error}`);
}

/** libvirt's test driver answers every read but refuses virDomainMigrate3, as source and as destination. */
export function driverRule(source: RuleHost, destination: RuleHost): Verdict {
  const testHost = [source, destination].find((host) => isTestDriverUri(host.uri));
  return testHost
    ? verdict(
        'driver-migrates',
        'fail',
        `${testHost.alias} uses the libvirt test driver, which cannot migrate.`,
        'the libvirt test driver cannot migrate',
      )
    : verdict('driver-migrates', 'pass', 'Both hosts use a driver that can migrate.');
}

/**
 * The destination must have no domain of this name (libvirt refuses it) and none with this UUID (that would be
 * the VM itself, or a copy left by an earlier attempt). `domains` is the destination's `list --all --uuid --name`.
 */
export function nameFreeRule(options: {
  destination: RuleHost;
  vm: { name: string; uuid: string | null };
  domains: readonly { name: string; uuid: string }[];
}): Verdict {
  const { destination, vm, domains } = options;
  const byName = domains.find((domain) => domain.name === vm.name);
  if (byName)
    return verdict(
      'name-free',
      'fail',
      `${destination.alias} already has a domain "${vm.name}" (UUID ${byName.uuid}).`,
      `already has a VM named "${vm.name}"`,
    );
  const byUuid = vm.uuid ? domains.find((domain) => domain.uuid === vm.uuid) : undefined;
  if (byUuid)
    return verdict(
      'name-free',
      'fail',
      `${destination.alias} already has a domain with this VM's UUID (${byUuid.uuid}, named "${byUuid.name}").`,
      `already has a VM with this UUID ("${byUuid.name}")`,
    );
  return verdict('name-free', 'pass', `No domain "${vm.name}" on ${destination.alias}.`);
}

/**
 * CloudStack's rule, made visible: when both hosts are TLS-capable the migration should use QEMU's native TLS;
 * otherwise it travels over plain TCP, and the admin is told which host is why. A tunnelled migration is as
 * private as the libvirt connection it rides (qemu+tls or an ssh transport), not over qemu+tcp. Never 'fail':
 * an unencrypted lab or a trusted back-to-back link is the admin's call, but always said out loud.
 */
export function encryptionRule(options: {
  source: RuleHost;
  destination: RuleHost;
  migration: { tls: boolean; tunnelled: boolean };
}): Verdict {
  const { source, destination, migration } = options;
  const notCapable = [source, destination].filter((host) => host.tlsCapable !== true).map((host) => host.alias);
  const notCapableText = `${notCapable.join(' and ')} ${notCapable.length > 1 ? 'are' : 'is'} not TLS-capable`;
  if (migration.tunnelled) {
    const transport = transportOf(destination.uri);
    if (transport === 'tls' || (transport !== null && isSshTransport(transport)))
      return verdict(
        'encryption',
        'pass',
        `Tunnelled: memory travels inside the source's ${transport === 'tls' ? 'TLS' : 'SSH'} connection to ${destination.alias}'s libvirtd.`,
      );
    return verdict(
      'encryption',
      'warn',
      `Tunnelled over ${destination.alias}'s ${transport ?? 'unknown'} transport, which does not encrypt: use a qemu+tls or qemu+ssh URI for it.`,
      'tunnel not encrypted',
    );
  }
  if (migration.tls) {
    return notCapable.length === 0
      ? verdict(
          'encryption',
          'pass',
          `Native TLS: QEMU encrypts memory and disks from ${source.alias} to ${destination.alias}.`,
        )
      : verdict(
          'encryption',
          'warn',
          `${notCapableText}: QEMU there may have no migration certificates (qemu.conf migrate_tls_x509_cert_dir), and --tls would fail.`,
          `${notCapableText}`,
        );
  }
  return notCapable.length === 0
    ? verdict(
        'encryption',
        'warn',
        `Both hosts are TLS-capable, yet memory and disk data will travel unencrypted over plain TCP: choose native TLS.`,
        'plain TCP although both hosts are TLS-capable',
      )
    : verdict(
        'encryption',
        'warn',
        `${notCapableText}, so memory and disk data will travel unencrypted over plain TCP; choose tunnelled to encrypt them.`,
        `${notCapableText}: plain TCP`,
      );
}

/**
 * The transport a URI names or implies, read from its scheme and authority only: rules get display URIs, whose
 * masked values (`pkipath=…`) would not parse again. `qemu+tls://h/system` → tls, `qemu://h/system` → tls
 * (a hostname implies it), `qemu:///system` → unix.
 */
function transportOf(uri: string): LibvirtTransport | null {
  const match = /^[A-Za-z0-9]+(?:\+([a-z0-9]+))?:\/\/([^/?]*)/.exec(uri.trim());
  if (match === null) return null;
  if (match[1] !== undefined) return LIBVIRT_TRANSPORTS.find((transport) => transport === match[1]) ?? null;
  return match[2] ? 'tls' : 'unix';
}

/** The first rule that refuses, in the order the dialog explains them. */
export function firstRefusal(verdicts: readonly Verdict[]): Verdict | null {
  return verdicts.find((candidate) => candidate.status === 'fail') ?? null;
}
