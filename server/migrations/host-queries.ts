import type { Executor } from '../hypervisor/executor';
import { VirshError } from '../hypervisor/executor';
import { raceWithSignal } from '../hypervisor/deadline';
import { isNoSuchDomain, plainFailure } from '../hypervisor/failure';
import { withPrefetched } from '../hypervisor/prefetch';
import { LIST_UUID_NAME_ARGS } from '../inventory/virsh-commands';
import type { DomainUuid } from '../libvirt/domain-ref';
import { parseDomainXml, type DomainFacts } from '../libvirt/domain-xml';
import { parseDomJobInfo, type DomJobInfo } from '../libvirt/migration/jobinfo';
import { parseDomStateReason, type DomainState } from '../libvirt/migration/reattach';
import { parseListUuidName, type ListedDomain } from '../libvirt/parsers/list';
import { parseDomblkinfo } from '../libvirt/parsers/domblkinfo';
import { parseCapabilities, type Capabilities } from '../libvirt/parsers/xml-documents';
import { parseNameList, parsePoolXml, type PoolFacts } from '../libvirt/storage';

/**
 * The handful of virsh reads and writes a migration needs on either host. A domain is named by its UUID (see
 * libvirt/domain-ref.ts for why never by name); a volume path or pool name goes after `--` so one called
 * `--help` stays a value.
 */
type Call = { executor: Executor; signal?: AbortSignal; timeoutMs?: number; urgent?: boolean };

const DEFAULT_TIMEOUT_MS = 15_000;

async function virsh(call: Call, args: string[]) {
  return call.executor.run(args, {
    signal: call.signal,
    timeoutMs: call.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    urgent: call.urgent,
  });
}

/**
 * `call` with its executor answering `commands` from one batch (hypervisor/prefetch.ts): over ssh one remote virsh
 * instead of one per command. The functions below ask as before; the argv builders here say what they will ask.
 * Never for getCapabilities, which caches per executor object.
 */
export async function prefetched(call: Call, commands: ReadonlyArray<readonly string[]>): Promise<Call> {
  const executor = await withPrefetched(call.executor, commands, {
    signal: call.signal,
    timeoutMs: call.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    urgent: call.urgent,
  });
  return { ...call, executor };
}

/** What getDomainFacts and getDomainHold ask about one domain. */
export function domainReadArgs(uuid: DomainUuid): string[][] {
  return [domainXmlArgs(uuid), ...domainHoldArgs(uuid)];
}

export const domainXmlArgs = (uuid: DomainUuid): string[] => ['dumpxml', '--domain', uuid];
const domainHoldArgs = (uuid: DomainUuid): [string[], string[]] => [
  ['domstate', '--reason', '--domain', uuid],
  ['domjobinfo', '--domain', uuid],
];

export const FREECELL_ARGS = ['freecell', '--all'] as const;
export const POOL_LIST_ARGS = ['pool-list', '--name'] as const;

export function volumeInfoArgs(filePath: string): string[] {
  return ['vol-info', '--', filePath];
}

export function domainStateArgs(uuid: DomainUuid): string[] {
  return ['domstate', '--domain', uuid];
}

export function diskCapacityArgs(uuid: DomainUuid, target: string): string[] {
  return ['domblkinfo', '--domain', uuid, '--device', target];
}

export function isNoSuchVolume(error: unknown): boolean {
  return error instanceof VirshError && /failed to get vol|Storage volume not found/i.test(error.stderr);
}

/** Every domain on the host with its UUID and exact name: how a name becomes a UUID (domain-ref.ts). */
export async function listDomains(call: Call): Promise<ListedDomain[]> {
  return parseListUuidName((await virsh(call, [...LIST_UUID_NAME_ARGS])).stdout);
}

/** The domain's state word (`running`, `shut off`, …), or null when the host has no domain with this UUID. */
export async function getDomainState(call: Call, uuid: DomainUuid): Promise<string | null> {
  try {
    const result = await virsh(call, domainStateArgs(uuid));
    return result.stdout.trim().split('\n')[0]?.trim() ?? null;
  } catch (error) {
    if (isNoSuchDomain(error)) return null;
    throw error;
  }
}

/**
 * The domain's state with its reason, and the job libvirt runs on it, asked at once; null when the host has no
 * domain with this UUID. `job` is null where the host keeps no job statistics for the domain (the destination of a
 * migration, the test driver). Neither read waits for the domain's job lock (libvirt/foreign-job.ts).
 */
export async function getDomainHold(
  call: Call,
  uuid: DomainUuid,
): Promise<{ state: DomainState; job: DomJobInfo | null } | null> {
  const [stateRead, jobRead] = await Promise.allSettled([
    virsh(call, domainHoldArgs(uuid)[0]),
    virsh(call, domainHoldArgs(uuid)[1]),
  ]);
  if (stateRead.status === 'rejected') {
    if (isNoSuchDomain(stateRead.reason)) return null;
    throw stateRead.reason;
  }
  const state = parseDomStateReason(stateRead.value.stdout);
  if (state === null) return null;
  if (jobRead.status === 'rejected') {
    // virsh refusing domjobinfo (no statistics here, a driver without it) only means no job is known.
    if (jobRead.reason instanceof VirshError && jobRead.reason.kind === 'exit') return { state, job: null };
    throw jobRead.reason;
  }
  try {
    return { state, job: parseDomJobInfo(jobRead.value.stdout) };
  } catch {
    return { state, job: null };
  }
}

/** The domain's XML as virsh prints it (errors as virsh's). */
export async function getDomainXml(call: Call, uuid: DomainUuid): Promise<string> {
  return (await virsh(call, domainXmlArgs(uuid))).stdout;
}

export async function getDomainFacts(call: Call, uuid: DomainUuid): Promise<DomainFacts | null> {
  try {
    const result = await virsh(call, domainXmlArgs(uuid));
    return parseDomainXml(result.stdout);
  } catch (error) {
    if (isNoSuchDomain(error)) return null;
    throw error;
  }
}

/**
 * How long one host's `virsh capabilities` answer is reused. It names the host's UUID, architecture and CPU, which
 * change with new hardware or a libvirt upgrade, not between two migrations; yet on qemu it is the largest answer a
 * migration asks for (the guest machine list), and preflight and evacuation planning ask it for both hosts of
 * every job. Concurrent callers share one read; a failed read is not kept.
 */
export const CAPABILITIES_TTL_MS = 60_000;

const capabilitiesByExecutor = new WeakMap<Executor, { expiresAt: number; value: Promise<Capabilities> }>();

export async function getCapabilities(call: Call): Promise<Capabilities> {
  const now = Date.now();
  let entry = capabilitiesByExecutor.get(call.executor);
  if (entry === undefined || entry.expiresAt <= now) {
    // Shared by every caller until it settles, so no one caller's abort ends it for the others (the time limit does).
    const value = virsh({ executor: call.executor, timeoutMs: call.timeoutMs }, ['capabilities']).then((result) =>
      parseCapabilities(result.stdout),
    );
    const created = { expiresAt: now + CAPABILITIES_TTL_MS, value };
    entry = created;
    capabilitiesByExecutor.set(call.executor, created);
    value.catch(() => {
      if (capabilitiesByExecutor.get(call.executor) === created) capabilitiesByExecutor.delete(call.executor);
    });
  }
  const { signal } = call;
  if (signal === undefined) return entry.value;
  return raceWithSignal(entry.value, signal, () =>
    plainFailure({ kind: 'aborted', argv: ['virsh', 'capabilities'], message: 'aborted', cause: signal.reason }),
  );
}

export async function listActivePools(call: Call): Promise<PoolFacts[]> {
  return (await listActivePoolsAsking(call, [])).pools;
}

/**
 * listActivePools, with `alsoAsk` in the same batch after every refresh (one round trip for both): questions whose
 * answer needs the refreshed pools, such as the vol-info of a path a migration will write. Returns the pools and a
 * Call that serves the answers of `alsoAsk`.
 */
export async function listActivePoolsAsking(
  call: Call,
  alsoAsk: ReadonlyArray<readonly string[]>,
): Promise<{ pools: PoolFacts[]; asked: Call }> {
  const names = parseNameList((await virsh(call, [...POOL_LIST_ARGS])).stdout);
  // One batch, in this order: each pool's refresh before its dumpxml, then what the caller asks.
  const asked = await prefetched(call, [
    ...names.flatMap((name) => [
      ['pool-refresh', '--', name],
      ['pool-dumpxml', '--', name],
    ]),
    ...alsoAsk,
  ]);
  const pools: PoolFacts[] = [];
  for (const name of names) {
    // A refresh makes libvirt notice files created behind its back (e.g. by an aborted migration).
    await virsh(asked, ['pool-refresh', '--', name]).catch(() => undefined);
    pools.push(parsePoolXml((await virsh(asked, ['pool-dumpxml', '--', name])).stdout));
  }
  return { pools, asked };
}

export async function volumeExists(call: Call, filePath: string): Promise<boolean> {
  try {
    await virsh(call, volumeInfoArgs(filePath));
    return true;
  } catch (error) {
    if (isNoSuchVolume(error)) return false;
    throw error;
  }
}

export async function createVolume(
  call: Call,
  options: { pool: string; name: string; capacityBytes: number; format: string | null },
) {
  const args = [
    'vol-create-as',
    '--pool',
    options.pool,
    '--name',
    options.name,
    '--capacity',
    `${options.capacityBytes}b`,
  ];
  if (options.format) args.push('--format', options.format);
  await virsh(call, args);
}

export async function deleteVolume(call: Call, filePath: string) {
  await virsh(call, ['vol-delete', '--', filePath]);
}

/** Capacity of one disk in bytes, as libvirt reports it (`domblkinfo` without --human prints bytes). */
export async function getDiskCapacity(call: Call, uuid: DomainUuid, target: string): Promise<number | null> {
  try {
    const result = await virsh(call, diskCapacityArgs(uuid, target));
    return parseDomblkinfo(result.stdout).capacityBytes;
  } catch {
    return null;
  }
}

/** Free memory on the host in bytes, from `virsh freecell --all` ("Total:  6144 KiB"). */
export async function getFreeMemory(call: Call): Promise<number | null> {
  try {
    const result = await virsh(call, [...FREECELL_ARGS]);
    const match = /Total:\s+(\d+)\s*KiB/.exec(result.stdout);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}
