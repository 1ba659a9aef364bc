import type { FleetDelta, HostMeta, LiveHostSnapshot } from './live-fleet';

/**
 * What `fleet.live` sends: the whole fleet once (first message, or when the browser's last id is no longer in the
 * server's replay ring), then only what changed. Pure, shared by the server (redaction) and the browser (folding).
 */
export type FleetLiveMessage =
  { kind: 'snapshot'; hosts: LiveHostSnapshot[] } | { kind: 'deltas'; deltas: FleetDelta[] };

/** Raw virsh text stays on the server for roles that may not read it (see auth/redact.ts); fleet.list does the same. */
/** What the receiving role may read: raw virsh text (not viewers), host-key fingerprints (admins only). */
export type FleetReadRights = { mayReadRaw: boolean; mayReadFingerprints: boolean };

/** One host as a role may read it (fleet.list and every fleet.live message go through this). */
export function redactFleetSnapshot<
  S extends { errorDetail: string | null; host: { pinnedFingerprint: string | null } },
>(snapshot: S, rights: FleetReadRights): S {
  if (rights.mayReadRaw && rights.mayReadFingerprints) return snapshot;
  return {
    ...snapshot,
    errorDetail: rights.mayReadRaw ? snapshot.errorDetail : null,
    host: rights.mayReadFingerprints ? snapshot.host : { ...snapshot.host, pinnedFingerprint: null },
  };
}

export function redactFleetMessage(message: FleetLiveMessage, rights: FleetReadRights): FleetLiveMessage {
  if (rights.mayReadRaw && rights.mayReadFingerprints) return message;
  const redact = (meta: HostMeta) => redactFleetSnapshot(meta, rights);
  if (message.kind === 'snapshot')
    return { kind: 'snapshot', hosts: message.hosts.map((snapshot) => redactFleetSnapshot(snapshot, rights)) };
  return {
    kind: 'deltas',
    deltas: message.deltas.map((delta) => (delta.type === 'host' ? { ...delta, host: redact(delta.host) } : delta)),
  };
}

type HostLike = { host: { id: string; alias: string }; vms: ReadonlyArray<{ uuid: string }> };

/**
 * The fleet after a message, as new arrays only where something changed (React re-renders just those hosts).
 * Hosts stay ordered by alias, as fleet.list returns them; a host's VMs keep their order, new ones go last.
 */
export function applyFleetMessage<H extends HostLike>(
  current: readonly H[] | undefined,
  message: FleetLiveMessage,
): H[] {
  if (message.kind === 'snapshot') return message.hosts as unknown as H[];
  let hosts = [...(current ?? [])];
  for (const delta of message.deltas) hosts = applyDelta(hosts, delta);
  return hosts;
}

function applyDelta<H extends HostLike>(hosts: H[], delta: FleetDelta): H[] {
  switch (delta.type) {
    case 'host': {
      const index = hosts.findIndex((host) => host.host.id === delta.host.host.id);
      if (index === -1) {
        const added = { ...(delta.host as HostMeta), vms: [] } as unknown as H;
        return [...hosts, added].sort((a, b) => a.host.alias.localeCompare(b.host.alias));
      }
      const next = [...hosts];
      next[index] = { ...hosts[index], ...delta.host, vms: hosts[index]?.vms ?? [] } as unknown as H;
      return next.sort((a, b) => a.host.alias.localeCompare(b.host.alias));
    }
    case 'host-removed':
      return hosts.filter((host) => host.host.id !== delta.hostId);
    case 'vm':
    case 'vm-removed': {
      const index = hosts.findIndex((host) => host.host.id === delta.hostId);
      const host = hosts[index];
      if (host === undefined) return hosts;
      const uuid = delta.type === 'vm' ? delta.vm.uuid : delta.uuid;
      const position = host.vms.findIndex((vm) => vm.uuid === uuid);
      let vms = [...host.vms];
      if (delta.type === 'vm-removed') vms = vms.filter((vm) => vm.uuid !== uuid);
      else if (position === -1) vms.push(delta.vm);
      else vms[position] = delta.vm;
      const next = [...hosts];
      next[index] = { ...host, vms };
      return next;
    }
    default: {
      const unknown: never = delta;
      throw new Error(`unknown fleet delta ${JSON.stringify(unknown)}`);
    }
  }
}
