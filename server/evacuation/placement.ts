/**
 * Where each VM of a host being drained goes, and why; or why it cannot move. PURE: facts.ts asks the hosts, this
 * decides, and a test feeds it made-up fleets.
 *
 * The rules, each giving a sentence the plan page shows:
 * - never onto the source, a host in maintenance or a host that did not answer;
 * - CPU: same architecture; a host-passthrough guest only onto the same CPU model and vendor;
 * - memory: the host's free memory after every VM placed on it so far must still hold this one, plus a reserve;
 * - vCPUs: the vCPUs of the running guests plus those placed must stay within `vcpuRatio` × the host's CPUs;
 * - a domain of the same name on the destination refuses it (libvirt would: "domain already exists");
 * - storage: a disk whose path already exists on the destination is shared storage (no copy) unless Ferry's
 *   ledger says it is a leftover of an earlier migration, or its pool is not a network pool (SHARED_POOL_TYPES);
 *   every other disk needs an active pool with that directory on the destination and room in it for every disk
 *   placed there so far;
 * - spread by free memory: biggest VMs first, each onto the host with the most free memory left after it; a tie
 *   goes to the host with fewer VMs per incoming slot. Incoming limits are concurrency, never a refusal: a host
 *   with a limit of 2 takes ten VMs, two at a time, the others wait in the queue.
 */

export type PlacementPool = { name: string; type: string; targetPath: string | null; availableBytes: number };

/**
 * Pool types whose volumes every host that defines the pool sees: a disk found at the same path in one of these
 * is the VM's own disk, not a copy. A `dir` pool may sit on an NFS mount too, but Ferry cannot tell that from
 * someone else's file at the same path, and migrating with shared storage onto a foreign file would boot the
 * guest on the wrong disk: such a VM is reported, not moved.
 */
export const SHARED_POOL_TYPES: ReadonlySet<string> = new Set(['netfs', 'gluster', 'rbd', 'iscsi', 'iscsi-direct']);

export type PlacementHost = {
  id: string;
  alias: string;
  inMaintenance: boolean;
  /** Why the host could not be asked; null when it answered. */
  error: string | null;
  arch: string | null;
  cpuModel: string | null;
  cpuVendor: string | null;
  cpus: number;
  freeMemoryBytes: number;
  /** vCPUs of the guests running there now. */
  committedVcpus: number;
  domainNames: readonly string[];
  pools: readonly PlacementPool[];
  /** Disk paths (of the VMs being placed) that already exist on this host. */
  existingPaths: readonly string[];
  /** Of those, the ones Ferry's ledger records as leftovers, with the sentence telling their story. */
  leftovers: readonly { path: string; story: string }[];
  maxIncoming: number;
};

export type PlacementDisk = { target: string; path: string; capacityBytes: number };

export type PlacementVm = {
  name: string;
  uuid: string;
  /** libvirt's state word: running, paused, shut off, … */
  state: string;
  memoryBytes: number;
  vcpus: number;
  cpuMode: string | null;
  disks: readonly PlacementDisk[];
  /** Things that stop any migration of this VM (a passed-through PCI device, …), one sentence each. */
  blockers: readonly string[];
};

export type PlacementSource = {
  id: string;
  alias: string;
  arch: string | null;
  cpuModel: string | null;
  cpuVendor: string | null;
};

/** A VM pinned by the admin: onto this host, or left out of the evacuation. */
export type PlacementOverride = { vmUuid: string; destinationHostId: string | null };

export type PlacementOptions = {
  /** How many vCPUs per host CPU Ferry accepts (overcommit); OpenStack's default cpu_allocation_ratio is 16. */
  vcpuRatio: number;
  /** Memory kept free on every destination for the hypervisor itself. */
  memoryReserveBytes: number;
};

export const DEFAULT_PLACEMENT_OPTIONS: PlacementOptions = { vcpuRatio: 4, memoryReserveBytes: 64 * 2 ** 20 };

export type Rejection = { hostId: string; alias: string; reason: string };

export type Placement =
  | {
      kind: 'move';
      vm: PlacementVm;
      destination: { id: string; alias: string };
      /** 'shared' when every disk already sits on storage the destination sees. */
      storage: 'copy-all' | 'shared';
      reasons: string[];
      /** Other hosts that would take it, best first (for one retry after a destination failure). */
      alternatives: { id: string; alias: string }[];
      rejected: Rejection[];
      /** Incoming limit of the destination: how many of its VMs move at once. */
      concurrency: string;
    }
  | { kind: 'excluded'; vm: PlacementVm; reasons: string[] }
  | { kind: 'unmovable'; vm: PlacementVm; reasons: string[]; rejected: Rejection[] };

export type PlacementInput = {
  source: PlacementSource;
  vms: readonly PlacementVm[];
  hosts: readonly PlacementHost[];
  overrides?: readonly PlacementOverride[];
  options?: PlacementOptions;
};

const MIB = 2 ** 20;
const mib = (bytes: number) => `${Math.round(bytes / MIB)} MiB`;
const LIVE_STATES = new Set(['running', 'paused']);

/** What is already promised to a host by the VMs placed on it earlier in this plan. */
type Load = { memoryBytes: number; vcpus: number; vms: number; poolBytes: Map<string, number> };

type Fit =
  { ok: true; storage: 'copy-all' | 'shared'; freeAfter: number; reasons: string[] } | { ok: false; reason: string };

function dirOf(filePath: string): string {
  const index = filePath.lastIndexOf('/');
  return index <= 0 ? '/' : filePath.slice(0, index).replace(/\/+$/, '') || '/';
}

function poolFor(host: PlacementHost, filePath: string): PlacementPool | undefined {
  const directory = dirOf(filePath);
  return host.pools.find(
    (pool) => pool.targetPath !== null && (pool.targetPath.replace(/\/+$/, '') || '/') === directory,
  );
}

/** Whether `host` can take `vm` given what is already placed on it; with the sentences that say why. */
export function judgeHost(options: {
  vm: PlacementVm;
  host: PlacementHost;
  source: PlacementSource;
  load: Load;
  settings: PlacementOptions;
}): Fit {
  const { vm, host, source, load, settings } = options;
  if (host.id === source.id) return { ok: false, reason: 'it is the host being drained' };
  if (host.inMaintenance) return { ok: false, reason: 'in maintenance' };
  if (host.error !== null) return { ok: false, reason: `did not answer: ${host.error}` };

  if (source.arch && host.arch && source.arch !== host.arch)
    return { ok: false, reason: `architecture ${host.arch}, the VM runs on ${source.arch}` };
  if (vm.cpuMode === 'host-passthrough' && (host.cpuModel !== source.cpuModel || host.cpuVendor !== source.cpuVendor))
    return {
      ok: false,
      reason: `host-passthrough guest, and the CPU differs (${source.cpuModel ?? '?'} → ${host.cpuModel ?? '?'})`,
    };

  if (host.domainNames.includes(vm.name))
    return { ok: false, reason: `a domain named "${vm.name}" is already defined there` };

  const freeAfter = host.freeMemoryBytes - load.memoryBytes - vm.memoryBytes;
  if (freeAfter < settings.memoryReserveBytes)
    return {
      ok: false,
      reason: `${mib(host.freeMemoryBytes - load.memoryBytes)} free after this plan's other VMs; needs ${mib(vm.memoryBytes)} + ${mib(settings.memoryReserveBytes)} reserve`,
    };

  const vcpuLimit = host.cpus * settings.vcpuRatio;
  const vcpusAfter = host.committedVcpus + load.vcpus + vm.vcpus;
  if (vcpusAfter > vcpuLimit)
    return { ok: false, reason: `${vcpusAfter} vCPUs would run on ${host.cpus} CPUs (at most ${vcpuLimit})` };

  const storage = judgeStorage(vm, host, load);
  if (!storage.ok) return storage;
  return {
    ok: true,
    storage: storage.storage,
    freeAfter,
    reasons: [
      `${mib(freeAfter)} free after placement (${mib(vm.memoryBytes)} for the VM)`,
      `${vcpusAfter} of ${vcpuLimit} vCPUs (${host.cpus} CPUs × ${settings.vcpuRatio})`,
      vm.cpuMode === 'host-passthrough'
        ? `same CPU (${host.cpuModel ?? 'unknown model'})`
        : `CPU compatible (${host.arch ?? 'same architecture'})`,
      `no domain named "${vm.name}" there`,
      storage.reason,
    ],
  };
}

function judgeStorage(
  vm: PlacementVm,
  host: PlacementHost,
  load: Load,
):
  | { ok: true; storage: 'copy-all' | 'shared'; reason: string; need: Map<string, number> }
  | { ok: false; reason: string } {
  if (vm.disks.length === 0) return { ok: true, storage: 'copy-all', reason: 'no disks to copy', need: new Map() };
  const leftover = vm.disks
    .map((disk) => host.leftovers.find((entry) => entry.path === disk.path))
    .find((entry) => entry !== undefined);
  if (leftover) return { ok: false, reason: `leftover volume: ${leftover.story}` };
  const existing = vm.disks.filter((disk) => host.existingPaths.includes(disk.path));
  const foreign = existing.find((disk) => !SHARED_POOL_TYPES.has(poolFor(host, disk.path)?.type ?? ''));
  if (foreign) {
    const pool = poolFor(host, foreign.path);
    return {
      ok: false,
      reason: `${foreign.path} already exists there${pool ? ` in pool ${pool.name} (${pool.type})` : ''}, not on network storage: Ferry cannot tell a shared disk from someone else's file`,
    };
  }
  if (existing.length === vm.disks.length)
    return {
      ok: true,
      storage: 'shared',
      reason: `shared storage: ${vm.disks.length === 1 ? 'its disk is' : 'all its disks are'} already there`,
      need: new Map(),
    };
  if (existing.length > 0)
    return {
      ok: false,
      reason: `${existing.map((disk) => disk.path).join(', ')} already exists there, the other disks do not`,
    };
  const need = new Map<string, number>();
  for (const disk of vm.disks) {
    const pool = poolFor(host, disk.path);
    if (!pool) return { ok: false, reason: `no active storage pool for ${dirOf(disk.path)} (disk ${disk.target})` };
    need.set(pool.name, (need.get(pool.name) ?? 0) + disk.capacityBytes);
  }
  for (const [name, bytes] of need) {
    const pool = host.pools.find((candidate) => candidate.name === name) as PlacementPool;
    const left = pool.availableBytes - (load.poolBytes.get(name) ?? 0);
    if (left < bytes)
      return { ok: false, reason: `pool ${name} has ${mib(left)} left for this plan; needs ${mib(bytes)}` };
  }
  const pools = [...need.keys()];
  return { ok: true, storage: 'copy-all', reason: `room in pool ${pools.join(', ')} for the disks`, need };
}

function vmBlockers(vm: PlacementVm): string[] {
  const blockers = [...vm.blockers];
  if (!LIVE_STATES.has(vm.state))
    blockers.push(
      `it is ${vm.state === 'shutoff' ? 'shut off' : vm.state}: an evacuation moves running guests live; a stopped guest's disks cannot be copied offline`,
    );
  return blockers;
}

function emptyLoad(): Load {
  return { memoryBytes: 0, vcpus: 0, vms: 0, poolBytes: new Map() };
}

/**
 * The plan: one placement per VM, in the order the VMs were given. Biggest VMs are placed first so that the
 * small ones fill the gaps; overrides are honoured when the admin's host can take the VM, else the VM is
 * reported unmovable with the host's reason.
 */
export function placeVms(input: PlacementInput): Placement[] {
  const settings = input.options ?? DEFAULT_PLACEMENT_OPTIONS;
  const overrides = new Map((input.overrides ?? []).map((entry) => [entry.vmUuid, entry.destinationHostId]));
  const loads = new Map(input.hosts.map((host) => [host.id, emptyLoad()]));
  const decided = new Map<string, Placement>();

  const order = [...input.vms].sort(
    (a, b) =>
      Number(overrides.has(b.uuid)) - Number(overrides.has(a.uuid)) ||
      b.memoryBytes - a.memoryBytes ||
      (a.name < b.name ? -1 : 1),
  );
  for (const vm of order) {
    if (overrides.has(vm.uuid) && overrides.get(vm.uuid) === null) {
      decided.set(vm.uuid, { kind: 'excluded', vm, reasons: ['left on the host by the admin'] });
      continue;
    }
    const blockers = vmBlockers(vm);
    if (blockers.length > 0) {
      decided.set(vm.uuid, { kind: 'unmovable', vm, reasons: blockers, rejected: [] });
      continue;
    }
    const pinned = overrides.get(vm.uuid);
    const candidates = pinned ? input.hosts.filter((host) => host.id === pinned) : input.hosts;
    const fits: { host: PlacementHost; fit: Extract<Fit, { ok: true }> }[] = [];
    const rejected: Rejection[] = [];
    for (const host of candidates) {
      if (host.id === input.source.id) continue;
      const load = loads.get(host.id) ?? emptyLoad();
      const fit = judgeHost({ vm, host, source: input.source, load, settings });
      if (fit.ok) fits.push({ host, fit });
      else rejected.push({ hostId: host.id, alias: host.alias, reason: fit.reason });
    }
    if (pinned && candidates.length === 0) rejected.push({ hostId: pinned, alias: pinned, reason: 'not registered' });
    if (fits.length === 0) {
      const why =
        rejected.length === 0
          ? ['no other host is registered']
          : pinned
            ? [`the chosen host cannot take it: ${rejected.map((r) => `${r.alias}: ${r.reason}`).join('; ')}`]
            : [`no host can take it: ${rejected.map((r) => `${r.alias}: ${r.reason}`).join('; ')}`];
      decided.set(vm.uuid, { kind: 'unmovable', vm, reasons: why, rejected });
      continue;
    }
    const perSlot = (host: PlacementHost) => (loads.get(host.id)?.vms ?? 0) / Math.max(1, host.maxIncoming);
    fits.sort(
      (a, b) =>
        b.fit.freeAfter - a.fit.freeAfter ||
        perSlot(a.host) - perSlot(b.host) ||
        (a.host.alias < b.host.alias ? -1 : 1),
    );
    const [best, ...others] = fits as [(typeof fits)[number], ...typeof fits];
    const load = loads.get(best.host.id) as Load;
    load.memoryBytes += vm.memoryBytes;
    load.vcpus += vm.vcpus;
    load.vms += 1;
    if (best.fit.storage === 'copy-all')
      for (const disk of vm.disks) {
        const pool = poolFor(best.host, disk.path);
        if (pool) load.poolBytes.set(pool.name, (load.poolBytes.get(pool.name) ?? 0) + disk.capacityBytes);
      }
    const reasons = [
      pinned
        ? `chosen by the admin`
        : `most free memory after placement among ${fits.length === 1 ? 'the one host that fits' : `${fits.length} hosts that fit`}`,
      ...best.fit.reasons,
    ];
    decided.set(vm.uuid, {
      kind: 'move',
      vm,
      destination: { id: best.host.id, alias: best.host.alias },
      storage: best.fit.storage,
      reasons,
      alternatives: others.map((entry) => ({ id: entry.host.id, alias: entry.host.alias })),
      rejected,
      concurrency: `${best.host.alias} takes ${best.host.maxIncoming} at a time; the others wait in the queue`,
    });
  }
  return input.vms.map((vm) => decided.get(vm.uuid) as Placement);
}
