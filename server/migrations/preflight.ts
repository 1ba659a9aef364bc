import type { Db } from '../db';
import type { Executor } from '../hypervisor/executor';
import { matchDomain, toDomainUuid, type DomainRef } from '../libvirt/domain-ref';
import { copiedDisks, type CopiedDisk, type DomainFacts } from '../libvirt/domain-xml';
import {
  driverRule,
  encryptionRule,
  nameFreeRule,
  maintenanceRule,
  reachableRule,
  sameHostRule,
  type Verdict,
} from '../libvirt/migration/destinations';
import type { MigrationOptionFields } from '../libvirt/migration/options';
import type { ListedDomain } from '../libvirt/parsers/list';
import type { Capabilities } from '../libvirt/parsers/xml-documents';
import { dirname, poolForPath, type PoolFacts } from '../libvirt/storage';
import { describeHostError } from '../hosts/host-errors';
import { foreignJobSentence } from '../libvirt/foreign-job';
import {
  diskCapacityArgs,
  domainReadArgs,
  FREECELL_ARGS,
  getCapabilities,
  getDiskCapacity,
  getDomainFacts,
  getDomainHold,
  getFreeMemory,
  listActivePoolsAsking,
  listDomains,
  POOL_LIST_ARGS,
  prefetched,
  volumeExists,
  volumeInfoArgs,
} from './host-queries';
import { LIST_UUID_NAME_ARGS } from '../inventory/virsh-commands';
import { isUuid } from '../libvirt/parsers/list';
import { plural } from '../plural';
import { closeVanishedLeftovers, findLeftoversAt } from '../volumes/service';
import { describeForeignVolume } from '../volumes/story';
import { ACTIVE_STATES, type PreflightCheck } from './types';

/** `uri`: the registered (display) URI; only its scheme is read, to spot the test driver. */
export type PreflightHost = {
  id: string;
  alias: string;
  uri: string;
  hostUuid: string | null;
  /** The host's "native TLS capable" setting, for the encryption check. */
  tlsCapable?: boolean;
  executor: Executor;
};

export type PreflightDisk = {
  target: string;
  path: string;
  capacityBytes: number | null;
  format: string | null;
  pool: string | null;
  existsOnDestination: boolean;
  /** A volume already at this path on the destination that Ferry recorded as its own leftover (removable). */
  leftover: { id: string; name: string; hostAlias: string } | null;
};

export type PreflightFacts = {
  /** The VM as found on the source: its UUID is what every later command names. */
  vm: DomainRef | null;
  domain: DomainFacts | null;
  sourceState: string | null;
  /** Disks that will be copied (copy-storage), with where they land on the destination. */
  disks: PreflightDisk[];
  destinationPools: PoolFacts[];
};

export type PreflightReport = { checks: PreflightCheck[]; facts: PreflightFacts; ok: boolean };

export type PreflightInput = {
  db: Db;
  /** The VM as the request names it; with a UUID (from the inventory) the name must still match on the source. */
  vm: { name: string; uuid: string | null };
  source: PreflightHost;
  destination: PreflightHost;
  migration: MigrationOptionFields;
  /** The migration being started, excluded from the "already migrating" check. */
  migrationId?: string;
  signal?: AbortSignal;
  /** A claimed job waits on it: its reads go ahead of ordinary ones queued on the hosts (RunOptions.urgent). */
  urgent?: boolean;
};

type Call = { executor: Executor; signal?: AbortSignal; urgent?: boolean };
type Answer<T> = { ok: true; value: T } | { ok: false; error: string };

function check(id: string, label: string, status: PreflightCheck['status'], reason: string): PreflightCheck {
  return { id, label, status, reason };
}

function fromVerdict(verdict: Verdict): PreflightCheck {
  return check(verdict.id, verdict.label, verdict.status, verdict.reason);
}

function ask<T>(work: Promise<T>): Promise<Answer<T>> {
  return work.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error: describeHostError(error).error }),
  );
}

function report(checks: PreflightCheck[], facts: PreflightFacts): PreflightReport {
  return { checks, facts, ok: checks.every((c) => c.status !== 'fail') };
}

/**
 * Everything Ferry can know before asking libvirt to migrate, each check with a one-line reason. Runs from the
 * dialog (read-only) and again right before the migration starts. Never throws for a host problem: an
 * unreachable host is itself a failed check. The destination rules are the dialog's (destinations.ts).
 */
export async function runPreflight(input: PreflightInput): Promise<PreflightReport> {
  const { source, destination } = input;
  const checks: PreflightCheck[] = [];
  const facts: PreflightFacts = { vm: null, domain: null, sourceState: null, disks: [], destinationPools: [] };
  const src: Call = { executor: source.executor, signal: input.signal, urgent: input.urgent };
  const dst: Call = { executor: destination.executor, signal: input.signal, urgent: input.urgent };

  const registered = sameHostRule(source, destination);
  if (registered.status === 'fail' && source.id === destination.id) return report([fromVerdict(registered)], facts);

  // What each host will be asked first, in one batch per host (one remote virsh over ssh): the lists, the VM's
  // own reads when the request names its UUID, the destination's memory and pools. Capabilities are cached.
  // Sent while the maintenance flag is read: only reads, and wasted only when the destination refuses.
  const wantedUuid = input.vm.uuid && isUuid(input.vm.uuid.toLowerCase()) ? toDomainUuid(input.vm.uuid) : null;
  // Capabilities (cached per executor: asked of a host once) go out beside it, not after it.
  const capabilities = { source: ask(getCapabilities(src)), destination: ask(getCapabilities(dst)) };
  const firstRound = Promise.all([
    prefetched(src, [[...LIST_UUID_NAME_ARGS], ...(wantedUuid ? domainReadArgs(wantedUuid) : [])]),
    prefetched(dst, [[...LIST_UUID_NAME_ARGS], [...FREECELL_ARGS], [...POOL_LIST_ARGS]]),
  ]);
  // A host being drained takes nothing new (read now: the dialog's copy of the flag may be old).
  const maintenance = await input.db.host.findUnique({
    where: { id: destination.id },
    select: { inMaintenance: true },
  });
  const notInMaintenance = maintenanceRule({ alias: destination.alias, inMaintenance: maintenance?.inMaintenance });
  if (notInMaintenance.status === 'fail') {
    firstRound.catch(() => undefined);
    return report([fromVerdict(notInMaintenance)], facts);
  }
  const [srcAsked, dstAsked] = await firstRound;
  const [sourceCaps, destinationCaps, sourceDomains, destinationDomains] = await Promise.all([
    capabilities.source,
    capabilities.destination,
    ask(listDomains(srcAsked)),
    ask(listDomains(dstAsked)),
  ]);
  const sourceError = !sourceCaps.ok ? sourceCaps.error : !sourceDomains.ok ? sourceDomains.error : null;
  if (sourceError !== null)
    checks.push(check('source-reachable', 'Source reachable', 'fail', `${source.alias}: ${sourceError}`));
  const destinationError = !destinationCaps.ok
    ? destinationCaps.error
    : !destinationDomains.ok
      ? destinationDomains.error
      : null;
  checks.push(fromVerdict(reachableRule(destination, destinationError)));
  if (!sourceCaps.ok || !destinationCaps.ok || !sourceDomains.ok || !destinationDomains.ok)
    return report(checks, facts);

  checks.push(
    fromVerdict(
      sameHostRule(withFreshUuid(source, sourceCaps.value), withFreshUuid(destination, destinationCaps.value)),
    ),
  );
  checks.push(fromVerdict(driverRule(source, destination)));
  checks.push(fromVerdict(encryptionRule({ source, destination, migration: input.migration })));

  const match = matchDomain(sourceDomains.value, input.vm, source.alias);
  if (!match.ok) {
    checks.push(check('vm-exists', 'VM on source', 'fail', match.message));
    return report(checks, facts);
  }
  facts.vm = match.domain;
  checks.push(
    ...(await checkVm({ input, facts, src: srcAsked, dst: dstAsked, destinationDomains: destinationDomains.value })),
  );
  if (!facts.domain) return report(checks, facts);
  checks.push(cpuCheck(facts.domain, sourceCaps.value, destinationCaps.value));
  return report(checks, facts);
}

function withFreshUuid(host: PreflightHost, caps: Capabilities): PreflightHost {
  return { ...host, hostUuid: caps.hostUuid ?? host.hostUuid };
}

/** The VM's own checks: state, name on the destination, other Ferry jobs, storage and memory. */
async function checkVm(options: {
  input: PreflightInput;
  facts: PreflightFacts;
  src: Call;
  dst: Call;
  destinationDomains: ListedDomain[];
}): Promise<PreflightCheck[]> {
  const { input, facts, src, dst } = options;
  const vm = facts.vm as DomainRef;
  const copying = input.migration.storage !== 'shared';
  // The VM's XML (from the first batch when the request named its UUID) says which disks the copy writes, so the
  // storage questions ride along with the next round: the sizes on the source, and whether each path already holds a
  // volume on the destination in the same batch as the pools' refresh (which must come first).
  const domain = await getDomainFacts(src, vm.uuid);
  const disks = copying && domain ? copiedDisks(domain) : [];
  // Everything independent runs at once: the source's and the destination's questions go to different hosts.
  const [hold, activeJob, destination, freeMemory, srcStorage] = await Promise.all([
    getDomainHold(src, vm.uuid),
    input.db.migration.findFirst({
      where: {
        vmName: vm.name,
        sourceAlias: input.source.alias,
        state: { in: [...ACTIVE_STATES] },
        ...(input.migrationId ? { id: { not: input.migrationId } } : {}),
      },
      select: { id: true, state: true },
    }),
    copying
      ? listActivePoolsAsking(
          dst,
          disks.map((disk) => volumeInfoArgs(disk.sourcePath)),
        )
      : Promise.resolve({ pools: [], asked: dst }),
    getFreeMemory(dst),
    prefetched(
      src,
      disks.map((disk) => diskCapacityArgs(vm.uuid, disk.target)),
    ),
  ]);
  const destinationPools = destination.pools;
  facts.domain = domain;
  const sourceState = hold?.state.state ?? null;
  facts.sourceState = sourceState;
  facts.destinationPools = destinationPools;
  if (!domain) return [check('vm-exists', 'VM on source', 'fail', `"${vm.name}" left ${input.source.alias} just now.`)];

  // A job started outside Ferry (plain virsh) would make virsh migrate wait 30 s for the domain's lock, then fail.
  const held = hold === null ? null : foreignJobSentence({ hostAlias: input.source.alias, ...hold });
  const checks = [
    stateCheck(vm.name, sourceState, input.migration),
    fromVerdict(nameFreeRule({ destination: input.destination, vm, domains: options.destinationDomains })),
    activeJob
      ? check(
          'no-active-job',
          'No migration running',
          'fail',
          `Migration ${activeJob.id} of "${vm.name}" is ${activeJob.state}.`,
        )
      : held
        ? check('no-active-job', 'No migration running', 'fail', `"${vm.name}": ${held}`)
        : check('no-active-job', 'No migration running', 'pass', 'No other migration or libvirt job holds this VM.'),
  ];
  if (copying) checks.push(await storageCheck({ input, facts, disks, src: srcStorage, dst: destination.asked }));
  else
    checks.push(
      check(
        'storage',
        'Storage',
        'warn',
        'Shared storage assumed: the disks must be reachable at the same paths on the destination.',
      ),
    );
  checks.push(
    memoryCheck({ vmName: vm.name, destination: input.destination.alias, freeMemory, needed: domain.memoryBytes }),
  );
  return checks;
}

function stateCheck(vmName: string, state: string | null, migration: MigrationOptionFields): PreflightCheck {
  const running = state === 'running' || state === 'paused';
  if (migration.mode === 'live' && !running)
    return check(
      'vm-state',
      'VM state fits',
      'fail',
      `Live migration needs a running VM; "${vmName}" is ${state ?? 'unknown'}. Choose offline.`,
    );
  if (migration.mode === 'offline' && running)
    return check(
      'vm-state',
      'VM state fits',
      'warn',
      `"${vmName}" is running; offline migration moves only its definition.`,
    );
  return check('vm-state', 'VM state fits', 'pass', `"${vmName}" is ${state}.`);
}

/**
 * Where each copied disk lands on the destination, and whether the pools there have room for it. `src` and `dst`
 * serve the sizes and the vol-info answers checkVm asked for in its second round.
 */
async function storageCheck(options: {
  input: PreflightInput;
  facts: PreflightFacts;
  disks: CopiedDisk[];
  src: Call;
  dst: Call;
}): Promise<PreflightCheck> {
  const { input, facts, disks, src, dst } = options;
  const vm = facts.vm as DomainRef;
  const destination = input.destination.alias;
  const problems: string[] = [];
  const needPerPool = new Map<string, number>();
  const sizes = await Promise.all(
    disks.map((disk) => Promise.all([getDiskCapacity(src, vm.uuid, disk.target), volumeExists(dst, disk.sourcePath)])),
  );
  await closeVanishedLeftovers(input.db, {
    hostId: input.destination.id,
    paths: disks.filter((_, index) => !sizes[index]?.[1]).map((disk) => disk.sourcePath as string),
  });
  const recorded = await findLeftoversAt(input.db, {
    hostId: input.destination.id,
    paths: disks.filter((_, index) => sizes[index]?.[1]).map((disk) => disk.sourcePath as string),
  });
  for (const [index, disk] of disks.entries()) {
    const diskPath = disk.sourcePath as string;
    const pool = poolForPath(facts.destinationPools, diskPath);
    const [capacityBytes, existsOnDestination] = sizes[index] as [number | null, boolean];
    const leftover = existsOnDestination ? recorded.get(diskPath) : undefined;
    facts.disks.push({
      target: disk.target,
      path: diskPath,
      capacityBytes,
      format: disk.format,
      pool: pool?.name ?? null,
      existsOnDestination,
      leftover: leftover ? { id: leftover.id, name: leftover.name, hostAlias: leftover.hostAlias } : null,
    });
    if (!pool) problems.push(`no active pool on ${destination} has target ${dirname(diskPath)} (for ${disk.target})`);
    else
      needPerPool.set(pool.name, (needPerPool.get(pool.name) ?? 0) + (existsOnDestination ? 0 : (capacityBytes ?? 0)));
    if (existsOnDestination && !input.migration.precreateVolumes)
      problems.push(leftover ? leftover.story : describeForeignVolume({ path: diskPath, hostAlias: destination }));
  }
  for (const [poolName, needed] of needPerPool) {
    const pool = facts.destinationPools.find((candidate) => candidate.name === poolName);
    if (pool && pool.availableBytes < needed)
      problems.push(`pool ${poolName} has ${pool.availableBytes} bytes free, needs ${needed}`);
  }
  if (problems.length > 0) return check('storage', 'Storage on destination', 'fail', `${problems.join('; ')}.`);
  return check(
    'storage',
    'Storage on destination',
    'pass',
    disks.length === 0 ? 'No disks to copy.' : `Room in the destination pools for ${plural(disks.length, 'disk')}.`,
  );
}

function memoryCheck(options: { vmName: string; destination: string; freeMemory: number | null; needed: number }) {
  const { vmName, destination, freeMemory, needed } = options;
  const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
  if (freeMemory === null)
    return check('memory', 'Destination memory', 'warn', `${destination} did not report free memory.`);
  return freeMemory >= needed
    ? check('memory', 'Destination memory', 'pass', `${mib(freeMemory)} MiB free ≥ ${mib(needed)} MiB.`)
    : check(
        'memory',
        'Destination memory',
        'fail',
        `${destination} has ${mib(freeMemory)} MiB free; "${vmName}" needs ${mib(needed)} MiB.`,
      );
}

function cpuCheck(
  domain: DomainFacts,
  source: { arch: string | null; cpuModel: string | null; cpuVendor: string | null },
  destination: { arch: string | null; cpuModel: string | null; cpuVendor: string | null },
): PreflightCheck {
  if (source.arch && destination.arch && source.arch !== destination.arch) {
    return check('cpu', 'CPU compatible', 'fail', `Architectures differ: ${source.arch} → ${destination.arch}.`);
  }
  if (domain.cpuMode === 'host-passthrough') {
    const same = source.cpuModel === destination.cpuModel && source.cpuVendor === destination.cpuVendor;
    return check(
      'cpu',
      'CPU compatible',
      same ? 'warn' : 'fail',
      same
        ? `host-passthrough: both hosts report ${source.cpuModel ?? 'the same CPU'}, but any microcode or feature difference breaks the guest.`
        : `host-passthrough guest, but the CPUs differ (${source.cpuModel ?? '?'} → ${destination.cpuModel ?? '?'}).`,
    );
  }
  if (domain.cpuMode === 'host-model')
    return check(
      'cpu',
      'CPU compatible',
      'pass',
      'host-model: libvirt pins the expanded model, which the destination checks on arrival.',
    );
  if (domain.cpuMode === 'custom')
    return check(
      'cpu',
      'CPU compatible',
      'pass',
      `custom model ${domain.cpuModel ?? ''}: the destination checks it on arrival.`.trim(),
    );
  return check(
    'cpu',
    'CPU compatible',
    'pass',
    `Hypervisor default CPU; same architecture (${destination.arch ?? 'unknown'}).`,
  );
}
