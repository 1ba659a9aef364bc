import { VirshError, type Executor } from '../hypervisor/executor';
import { withPrefetched } from '../hypervisor/prefetch';
import { isNoSuchDomain } from '../hypervisor/failure';
import { parseDomblkinfoAll, type TargetBlockInfo } from '../libvirt/parsers/domblkinfo';
import { parseDomblklistDetails, type BlockDevice } from '../libvirt/parsers/domblklist';
import { parseDominfo } from '../libvirt/parsers/dominfo';
import { parseDomstatsRaw, readDomainStats, type DomainStatsFacts } from '../libvirt/parsers/domstats';
import { parseListUuidName, parseListUuids, type ListedDomain } from '../libvirt/parsers/list';
import { parseNodeinfo } from '../libvirt/parsers/nodeinfo';
import { ParseError } from '../libvirt/parsers/parse-error';
import { parseVersion } from '../libvirt/parsers/version';
import type { VmState } from '../libvirt/parsers/vm-state';
import { parseCapabilities, parseComputerDevice } from '../libvirt/parsers/xml-documents';
import {
  CAPABILITIES_ARGS,
  COMPUTER_NODEDEV_ARGS,
  DOMSTATS_RAW_ARGS,
  domblkinfoAllArgs,
  domblklistDetailsArgs,
  dominfoArgs,
  domstatsRawOneArgs,
  domuuidArgs,
  HOSTNAME_ARGS,
  LIST_UUID_ARGS,
  LIST_UUID_NAME_ARGS,
  NODEINFO_ARGS,
  VERSION_DAEMON_ARGS,
} from './virsh-commands';

/**
 * Host inventory: what the fleet page and the host page show.
 *
 * The bulk call is `virsh domstats --raw --nowait` (only the groups a card needs), plus `list --all --uuid --name`
 * because domstats carries no UUIDs. On qemu, domstats holds state, vCPUs, balloon memory and every disk's path
 * and sizes, so a host costs two commands per refresh; only a disk's type and device (file/block, disk/cdrom) are
 * not in it and are read once per domain with `domblklist --details`, then kept by UUID for as long as the disk's
 * target and path stay the same. Drivers whose domstats lacks fields (the test driver reports state only)
 * fall back per domain to `dominfo`, `domblklist --details` and `domblkinfo --all`, for those fields only;
 * a VmDetailCache (one per executor unless given) reuses those answers while the domain's state is the
 * same and they are younger than its maxAgeMs, and each card's detailsCollectedAt says how old they are.
 */

export type VmDisk = {
  target: string;
  /** `disk`, `cdrom`, …; null only if the disk appeared between two commands of one refresh. */
  device: string | null;
  /** `file`, `block`, `network`, …; null as for device. */
  type: string | null;
  /** null for an empty drive. */
  path: string | null;
  capacityBytes: number | null;
  /** Bytes the image takes on the host (domblkinfo's Allocation). */
  allocationBytes: number | null;
};

export type VmCard = {
  name: string;
  uuid: string;
  state: VmState;
  /** null only when `problem` says why the details could not be read. */
  vcpus: number | null;
  memoryBytes: number | null;
  maxMemoryBytes: number | null;
  disks: VmDisk[];
  /** When vCPUs, memory and disks were read: the refresh time, or earlier if they came from a VmDetailCache. */
  detailsCollectedAt: Date;
  /** Why some details are missing (the VM is still listed); null when the card is complete. */
  problem: string | null;
};

export type HostInfo = {
  hostname: string | null;
  /** libvirtd's version (`version --daemon`); for in-process drivers, the library's. */
  libvirtVersion: string;
  /** e.g. "QEMU 7.2.22"; null if the driver does not say. */
  hypervisorVersion: string | null;
  /** libvirt's host UUID from capabilities; else the SMBIOS UUID of the `computer` node device (libvirt's
   * default source for it, and the only place the test driver has one); null if neither exists. */
  hostUuid: string | null;
  hostUuidSource: 'capabilities' | 'smbios' | null;
  /** The host CPU model from capabilities (qemu), else nodeinfo's model (the test driver's node file). */
  cpuModel: string;
  arch: string | null;
  cpus: number;
  mhz: number;
  memoryBytes: number;
  vmCount: number;
};

type Timed<T> = { value: T; atMs: number };

type CachedVm = {
  state: VmState;
  info?: Timed<{ vcpus: number; memoryBytes: number; maxMemoryBytes: number }>;
  /** Whole disks from the per-domain fallback (drivers without sizes in domstats). */
  disks?: Timed<VmDisk[]>;
  /** type/device of each disk, keyed by target + path; valid while domstats shows the same target and path. */
  diskKinds?: Map<string, Pick<BlockDevice, 'type' | 'device'>>;
  /**
   * The last sizes domstats gave for each disk, keyed as diskKinds. `domstats --nowait` leaves sizes out while
   * another job holds the domain (a migration arriving on this host); these stand in for them until maxAgeMs.
   */
  diskSizes?: Map<string, Timed<Pick<VmDisk, 'capacityBytes' | 'allocationBytes'>>>;
};

/**
 * Per-host memory of details that domstats does not carry, keyed by domain UUID. Facts only a per-domain
 * fallback can read (vCPUs, memory and disk sizes on drivers without full domstats) are reused while the
 * domain's state is unchanged and they are younger than maxAgeMs; a card served from here says so in
 * detailsCollectedAt. Disk type/device are reused for as long as the same target has the same path.
 * One cache per host: UUIDs are unique per host, not across a migration's two ends.
 */
export type VmDetailCache = {
  readonly maxAgeMs: number;
  readonly entries: Map<string, CachedVm>;
};

export const DEFAULT_DETAIL_MAX_AGE_MS = 60_000;

export function createVmDetailCache(options: { maxAgeMs?: number } = {}): VmDetailCache {
  return { maxAgeMs: options.maxAgeMs ?? DEFAULT_DETAIL_MAX_AGE_MS, entries: new Map() };
}

export type CollectOptions = {
  executor: Executor;
  signal?: AbortSignal;
  now?: () => Date;
  /** Per-command limit passed to the executor. */
  timeoutMs?: number;
};

export type CollectVmsOptions = CollectOptions & {
  /** Defaults to one cache per executor object (executors are kept per host), created on first use. */
  cache?: VmDetailCache;
};

const CACHE_BY_EXECUTOR = new WeakMap<Executor, VmDetailCache>();

function cacheFor(executor: Executor): VmDetailCache {
  let cache = CACHE_BY_EXECUTOR.get(executor);
  if (cache === undefined) {
    cache = createVmDetailCache();
    CACHE_BY_EXECUTOR.set(executor, cache);
  }
  return cache;
}

export type VmsSnapshot = {
  vms: VmCard[];
  /** Domains listed at the start of the refresh that were gone by the time their details were read. */
  vanished: ListedDomain[];
  collectedAt: Date;
};

/**
 * virsh's words when the connection itself failed. An executor that runs one process per command reports
 * these as plain exit failures, but they concern the whole host, not the domain being asked about.
 */
const NO_CONNECTION_PATTERN =
  /failed to connect to the hypervisor|Cannot recv data|Cannot write data|End of file while reading data|no valid connection/;

/** A failure that concerns one domain (virsh ran and said no, or printed something odd), not the host. */
function isDomainLevelFailure(error: unknown): error is VirshError | ParseError {
  if (error instanceof ParseError) return true;
  return error instanceof VirshError && error.kind === 'exit' && !NO_CONNECTION_PATTERN.test(error.stderr);
}

function describeFailure(error: VirshError | ParseError): string {
  if (error instanceof ParseError) return error.message;
  const lines = error.stderr
    .split('\n')
    .map((line) => line.replace(/^error:\s*/, '').trim())
    .filter(Boolean);
  return lines.join(': ') || error.message;
}

function diskKindKey(target: string, path: string | null): string {
  return `${target}\u0000${path ?? ''}`;
}

class VanishedError extends Error {}

async function runVirsh(options: CollectOptions, args: readonly string[]): Promise<string> {
  const { stdout } = await options.executor.run(args, { signal: options.signal, timeoutMs: options.timeoutMs });
  return stdout;
}

/** Runs a per-domain command; a domain that no longer exists turns into VanishedError. */
async function runForDomain(options: CollectOptions, args: readonly string[]): Promise<string> {
  try {
    return await runVirsh(options, args);
  } catch (error) {
    if (isNoSuchDomain(error)) throw new VanishedError();
    throw error;
  }
}

/** A cached part is reused only while the domain's state is unchanged and the part is younger than maxAgeMs. */
function reusable<T>(options: {
  entry: CachedVm | undefined;
  part: Timed<T> | undefined;
  state: VmState;
  cache: VmDetailCache;
  nowMs: number;
}): Timed<T> | undefined {
  const { entry, part, state, cache, nowMs } = options;
  if (entry === undefined || part === undefined || entry.state !== state) return undefined;
  return nowMs - part.atMs < cache.maxAgeMs ? part : undefined;
}

async function readDisksPerDomain(
  collect: CollectOptions,
  uuid: string,
  problems: string[],
): Promise<VmDisk[] | undefined> {
  let devices: BlockDevice[];
  try {
    devices = parseDomblklistDetails(await runForDomain(collect, domblklistDetailsArgs(uuid)));
  } catch (error) {
    if (!isDomainLevelFailure(error)) throw error;
    problems.push(`domblklist: ${describeFailure(error)}`);
    return undefined;
  }
  let sizes: TargetBlockInfo[] = [];
  try {
    sizes = parseDomblkinfoAll(await runForDomain(collect, domblkinfoAllArgs(uuid)));
  } catch (error) {
    if (!isDomainLevelFailure(error)) throw error;
    problems.push(`domblkinfo: ${describeFailure(error)}`);
  }
  return devices.map((device) => {
    const size = sizes.find((candidate) => candidate.target === device.target);
    return {
      target: device.target,
      device: device.device,
      type: device.type,
      path: device.source,
      capacityBytes: size?.capacityBytes ?? null,
      allocationBytes: size?.allocationBytes ?? null,
    };
  });
}

// One VM's card from the bulk stats plus the per-VM fallbacks; a little over 80 lines because each fallback
// (dominfo, domblklist, domblkinfo) shares the same cache check.
async function collectOneVm(options: {
  collect: CollectOptions;
  listed: ListedDomain;
  facts: DomainStatsFacts | undefined;
  cache: VmDetailCache;
  nowMs: number;
}): Promise<VmCard> {
  const { collect, listed, facts, cache, nowMs } = options;
  const cached = cache.entries.get(listed.uuid);
  const problems: string[] = [];
  let state = facts?.state;

  // vCPUs and memory: from domstats, else a reusable cache entry, else dominfo (which also gives the state).
  let info: Timed<{ vcpus: number; memoryBytes: number; maxMemoryBytes: number }> | undefined =
    facts?.vcpus !== undefined && facts.memoryBytes !== undefined && facts.maxMemoryBytes !== undefined
      ? {
          value: { vcpus: facts.vcpus, memoryBytes: facts.memoryBytes, maxMemoryBytes: facts.maxMemoryBytes },
          atMs: nowMs,
        }
      : undefined;
  if (info === undefined && state !== undefined)
    info = reusable({ entry: cached, part: cached?.info, state, cache, nowMs });
  if (info === undefined || state === undefined) {
    try {
      const parsed = parseDominfo(await runForDomain(collect, dominfoArgs(listed.uuid)));
      state = parsed.state;
      info = {
        value: { vcpus: parsed.vcpus, memoryBytes: parsed.memoryBytes, maxMemoryBytes: parsed.maxMemoryBytes },
        atMs: nowMs,
      };
    } catch (error) {
      if (!isDomainLevelFailure(error)) throw error;
      problems.push(`dominfo: ${describeFailure(error)}`);
    }
  }
  if (state === undefined) throw new DomainUnreadableError(problems.join('; '));

  const entry: CachedVm = { state, info };
  let disks: Timed<VmDisk[]> | undefined;
  if (facts?.blocks !== undefined) {
    // Sizes and paths are fresh from domstats; only type/device may come from the cache.
    const kinds = cached?.diskKinds ?? new Map<string, Pick<BlockDevice, 'type' | 'device'>>();
    let listedDevices: BlockDevice[] | undefined;
    if (!facts.blocks.every((block) => kinds.has(diskKindKey(block.target, block.path)))) {
      try {
        listedDevices = parseDomblklistDetails(await runForDomain(collect, domblklistDetailsArgs(listed.uuid)));
      } catch (error) {
        if (!isDomainLevelFailure(error)) throw error;
        problems.push(`domblklist: ${describeFailure(error)}`);
      }
    }
    entry.diskKinds = new Map();
    entry.diskSizes = new Map();
    let oldestMs = nowMs;
    const value = facts.blocks.map((block): VmDisk => {
      const key = diskKindKey(block.target, block.path);
      const kind =
        listedDevices === undefined
          ? kinds.get(key)
          : listedDevices.find((device) => device.target === block.target && device.source === block.path);
      if (kind !== undefined) entry.diskKinds?.set(key, { type: kind.type, device: kind.device });
      let sizes: Timed<Pick<VmDisk, 'capacityBytes' | 'allocationBytes'>> = {
        value: { capacityBytes: block.capacityBytes, allocationBytes: block.allocationBytes },
        atMs: nowMs,
      };
      // A disk with a path but no sizes: domstats could not take the domain's job (see DOMSTATS_RAW_ARGS).
      if (block.path !== null && block.capacityBytes === null && block.allocationBytes === null) {
        const known = cached?.diskSizes?.get(key);
        if (known !== undefined && nowMs - known.atMs < cache.maxAgeMs) sizes = known;
      }
      if (sizes.value.capacityBytes !== null || sizes.value.allocationBytes !== null) {
        entry.diskSizes?.set(key, sizes);
        oldestMs = Math.min(oldestMs, sizes.atMs);
      }
      return { ...block, ...sizes.value, type: kind?.type ?? null, device: kind?.device ?? null };
    });
    disks = { value, atMs: oldestMs };
  } else {
    disks = reusable({ entry: cached, part: cached?.disks, state, cache, nowMs });
    if (disks === undefined) {
      const problemCount = problems.length;
      const value = await readDisksPerDomain(collect, listed.uuid, problems);
      if (value !== undefined) disks = { value, atMs: nowMs };
      // Keep only complete answers for reuse.
      if (problems.length === problemCount) entry.disks = disks;
    } else {
      entry.disks = disks;
    }
  }

  if (problems.length === 0) cache.entries.set(listed.uuid, entry);
  else cache.entries.delete(listed.uuid);

  return {
    name: listed.name,
    uuid: listed.uuid,
    state,
    vcpus: info?.value.vcpus ?? null,
    memoryBytes: info?.value.memoryBytes ?? null,
    maxMemoryBytes: info?.value.maxMemoryBytes ?? null,
    disks: disks?.value ?? [],
    // A card that mixes cached and fresh facts is as old as its oldest part.
    detailsCollectedAt: new Date(Math.min(info?.atMs ?? nowMs, disks?.atMs ?? nowMs)),
    problem: problems.length === 0 ? null : problems.join('; '),
  };
}

class DomainUnreadableError extends Error {}

/**
 * The bulk read: list first, then stats; a domain created in between is simply picked up next refresh, and one
 * removed in between is caught by its per-domain lookup.
 */
const BULK_COMMANDS = [LIST_UUID_NAME_ARGS, DOMSTATS_RAW_ARGS];

/**
 * libvirt before 4.5 has no `--nowait` for domstats: the daemon refuses the flag ("unsupported flags (0x…) in
 * function …"), an older virsh the option. Such a host is read without it (and so waits for a busy domain's job,
 * as every read did before); the executor is remembered so later reads ask that way at once.
 */
const NOWAIT_REFUSED = /unsupported flags|doesn't support option --nowait/;
const WITHOUT_NOWAIT = new WeakSet<Executor>();

function domstatsFor(host: Executor, args: readonly string[]): readonly string[] {
  return WITHOUT_NOWAIT.has(host) ? args.filter((arg) => arg !== '--nowait') : args;
}

/** The bulk read's commands as this host takes them. */
function bulkCommandsFor(host: Executor): ReadonlyArray<readonly string[]> {
  return BULK_COMMANDS.map((args) => domstatsFor(host, args));
}

async function readDomstats(
  host: Executor,
  args: readonly string[],
  run: (args: readonly string[]) => Promise<string>,
): Promise<string> {
  const asked = domstatsFor(host, args);
  try {
    return await run(asked);
  } catch (error) {
    if (asked !== args || !(error instanceof VirshError) || !NOWAIT_REFUSED.test(error.stderr)) throw error;
    WITHOUT_NOWAIT.add(host);
    return run(domstatsFor(host, args));
  }
}

/**
 * Every VM on the host with its state, vCPUs, memory and disks. A VM that disappears between the list and
 * its details is left out (and named in `vanished`); a VM whose details virsh refuses is kept with
 * `problem` set. Transport failures (connection, timeout, abort) fail the whole host.
 */
export async function collectVmsSnapshot(options: CollectVmsOptions): Promise<VmsSnapshot> {
  const commands = bulkCommandsFor(options.executor);
  return snapshotAfterBulk(options, await prefetching(options, commands));
}

/** The rest of collectVmsSnapshot, once `bulk` holds (or will fetch) the bulk commands' answers. */
async function snapshotAfterBulk(options: CollectVmsOptions, bulk: CollectOptions): Promise<VmsSnapshot> {
  const now = options.now ?? (() => new Date());
  const cache = options.cache ?? cacheFor(options.executor);
  const collectedAt = now();
  const nowMs = collectedAt.getTime();
  const listed = parseListUuidName(await runVirsh(bulk, LIST_UUID_NAME_ARGS));
  const statsByName = new Map<string, DomainStatsFacts>();
  const stats = await readDomstats(options.executor, DOMSTATS_RAW_ARGS, (args) => runVirsh(bulk, args));
  for (const record of parseDomstatsRaw(stats)) {
    statsByName.set(record.name, readDomainStats(record));
  }
  const perDomain = await prefetching(options, perDomainCommands({ listed, statsByName, cache, nowMs }));

  const vms: VmCard[] = [];
  const vanished: ListedDomain[] = [];
  for (const domain of listed) {
    options.signal?.throwIfAborted();
    try {
      vms.push(
        await collectOneVm({ collect: perDomain, listed: domain, facts: statsByName.get(domain.name), cache, nowMs }),
      );
    } catch (error) {
      if (error instanceof VanishedError) {
        vanished.push(domain);
        cache.entries.delete(domain.uuid);
        continue;
      }
      if (error instanceof DomainUnreadableError) {
        vms.push({
          name: domain.name,
          uuid: domain.uuid,
          state: 'no-state',
          vcpus: null,
          memoryBytes: null,
          maxMemoryBytes: null,
          disks: [],
          detailsCollectedAt: collectedAt,
          problem: error.message,
        });
        continue;
      }
      throw error;
    }
  }

  const present = new Set(listed.map((domain) => domain.uuid));
  for (const uuid of cache.entries.keys()) if (!present.has(uuid)) cache.entries.delete(uuid);
  return { vms, vanished, collectedAt };
}

/** `options` with its executor serving `commands` from one batch (see withPrefetched). */
async function prefetching(
  options: CollectOptions,
  commands: ReadonlyArray<readonly string[]>,
): Promise<CollectOptions> {
  const executor = await withPrefetched(options.executor, commands, {
    signal: options.signal,
    timeoutMs: options.timeoutMs,
  });
  return { ...options, executor };
}

/** The per-domain commands collectOneVm will ask for, predicted from the bulk answers and the cache. */
function perDomainCommands(options: {
  listed: ListedDomain[];
  statsByName: Map<string, DomainStatsFacts>;
  cache: VmDetailCache;
  nowMs: number;
}): string[][] {
  const commands: string[][] = [];
  for (const domain of options.listed) {
    const facts = options.statsByName.get(domain.name);
    const cached = options.cache.entries.get(domain.uuid);
    const state = facts?.state;
    const hasInfo = facts?.vcpus !== undefined && facts.memoryBytes !== undefined && facts.maxMemoryBytes !== undefined;
    const infoReusable =
      state !== undefined &&
      reusable({ entry: cached, part: cached?.info, state, cache: options.cache, nowMs: options.nowMs }) !== undefined;
    if (state === undefined || (!hasInfo && !infoReusable)) commands.push([...dominfoArgs(domain.uuid)]);
    if (facts?.blocks !== undefined) {
      const kinds = cached?.diskKinds;
      if (!facts.blocks.every((block) => kinds?.has(diskKindKey(block.target, block.path))))
        commands.push([...domblklistDetailsArgs(domain.uuid)]);
    } else if (
      state === undefined ||
      reusable({ entry: cached, part: cached?.disks, state, cache: options.cache, nowMs: options.nowMs }) === undefined
    ) {
      commands.push([...domblklistDetailsArgs(domain.uuid)], [...domblkinfoAllArgs(domain.uuid)]);
    }
  }
  return commands;
}

/**
 * One domain's card, as a full read would make it, re-read after an event: `domstats --raw <uuid>` and the same
 * per-domain fallbacks and cache. Its name comes from domstats (a rename keeps the UUID). null when the domain is
 * gone. Transport failures reject, as for a full read.
 */
export async function collectOneDomain(options: CollectVmsOptions & { uuid: string }): Promise<VmCard | null> {
  const now = options.now ?? (() => new Date());
  const cache = options.cache ?? cacheFor(options.executor);
  const nowMs = now().getTime();
  let record;
  try {
    const stats = await readDomstats(options.executor, domstatsRawOneArgs(options.uuid), (args) =>
      runForDomain(options, args),
    );
    [record] = parseDomstatsRaw(stats);
  } catch (error) {
    if (error instanceof VanishedError) {
      cache.entries.delete(options.uuid);
      return null;
    }
    throw error;
  }
  if (record === undefined) return null;
  const listed = { uuid: options.uuid, name: record.name };
  try {
    return await collectOneVm({ collect: options, listed, facts: readDomainStats(record), cache, nowMs });
  } catch (error) {
    if (error instanceof VanishedError) {
      cache.entries.delete(options.uuid);
      return null;
    }
    if (error instanceof DomainUnreadableError) {
      return {
        ...listed,
        state: 'no-state',
        vcpus: null,
        memoryBytes: null,
        maxMemoryBytes: null,
        disks: [],
        detailsCollectedAt: new Date(nowMs),
        problem: error.message,
      };
    }
    throw error;
  }
}

/** The UUID of the domain called `name` (passed after --domain, so any name is looked up verbatim); null if none. */
export async function lookupDomainUuid(options: CollectOptions & { name: string }): Promise<string | null> {
  try {
    const uuid = (await runForDomain(options, domuuidArgs(options.name))).trim();
    return uuid === '' ? null : uuid;
  } catch (error) {
    if (error instanceof VanishedError) return null;
    throw error;
  }
}

export async function collectVms(options: CollectVmsOptions): Promise<VmCard[]> {
  return (await collectVmsSnapshot(options)).vms;
}

async function optional<T>(work: () => Promise<T>): Promise<T | null> {
  try {
    return await work();
  } catch (error) {
    if (isDomainLevelFailure(error)) return null;
    throw error;
  }
}

/** Facts about the host itself; they rarely change, so callers may cache them per host. */
export async function collectHostInfo(options: CollectOptions): Promise<HostInfo> {
  const version = parseVersion(await runVirsh(options, VERSION_DAEMON_ARGS));
  const nodeinfo = parseNodeinfo(await runVirsh(options, NODEINFO_ARGS));
  const capabilities = parseCapabilities(await runVirsh(options, CAPABILITIES_ARGS));
  const hostname = await optional(async () => (await runVirsh(options, HOSTNAME_ARGS)).trim() || null);
  const vmCount = parseListUuids(await runVirsh(options, LIST_UUID_ARGS)).length;

  let hostUuid = capabilities.hostUuid;
  let hostUuidSource: HostInfo['hostUuidSource'] = hostUuid === null ? null : 'capabilities';
  if (hostUuid === null) {
    const computer = await optional(async () => parseComputerDevice(await runVirsh(options, COMPUTER_NODEDEV_ARGS)));
    if (computer?.hardwareUuid) {
      hostUuid = computer.hardwareUuid;
      hostUuidSource = 'smbios';
    }
  }

  return {
    hostname,
    libvirtVersion: version.daemonVersion ?? version.libraryVersion,
    hypervisorVersion:
      version.hypervisorType === null ? null : `${version.hypervisorType} ${version.hypervisorVersion ?? ''}`.trim(),
    hostUuid,
    hostUuidSource,
    cpuModel: capabilities.cpuModel ?? nodeinfo.cpuModel,
    arch: capabilities.arch,
    cpus: nodeinfo.cpus,
    mhz: nodeinfo.mhz,
    memoryBytes: nodeinfo.memoryBytes,
    vmCount,
  };
}

export type HostInventory = VmsSnapshot & { host: HostInfo };

/**
 * What collectHostInfo may ask a host. The nodedev fallback is only read when capabilities name no host UUID
 * (the test driver's do not); asking it anyway costs one command in the batch, not a round trip.
 */
const HOST_INFO_COMMANDS = [
  VERSION_DAEMON_ARGS,
  NODEINFO_ARGS,
  CAPABILITIES_ARGS,
  HOSTNAME_ARGS,
  LIST_UUID_ARGS,
  COMPUTER_NODEDEV_ARGS,
];

/** The host's facts and its VMs, the facts asked in the same batch as the bulk read (one round trip less). */
export async function collectHostInventory(options: CollectVmsOptions): Promise<HostInventory> {
  const bulk = await prefetching(options, [...HOST_INFO_COMMANDS, ...bulkCommandsFor(options.executor)]);
  const host = await collectHostInfo(bulk);
  const snapshot = await snapshotAfterBulk(options, bulk);
  return { host, ...snapshot };
}
