import type { Db } from '../db';
import { mapLimit } from '../fleet/service';
import { describeHostError } from '../hosts/host-errors';
import type { Executor, ExecutorSource } from '../hypervisor/executor';
import { collectVms } from '../inventory/collect';
import { LIST_UUID_NAME_ARGS, NODEINFO_ARGS } from '../inventory/virsh-commands';
import { toDomainUuid } from '../libvirt/domain-ref';
import { copiedDisks, parseDomainXml } from '../libvirt/domain-xml';
import { parseNodeinfo } from '../libvirt/parsers/nodeinfo';
import { foreignJobSentence } from '../libvirt/foreign-job';
import {
  domainReadArgs,
  FREECELL_ARGS,
  getCapabilities,
  getDomainHold,
  getDomainXml,
  getFreeMemory,
  listActivePools,
  listDomains,
  POOL_LIST_ARGS,
  prefetched,
  volumeExists,
  volumeInfoArgs,
} from '../migrations/host-queries';
import { ACTIVE_STATES } from '../migrations/types';
import { findLeftoversAt } from '../volumes/service';
import { findMigrationBlockers } from './blockers';
import type { PlacementHost, PlacementSource, PlacementVm } from './placement';

/**
 * The one place evacuation planning asks hosts anything: the facts placement.ts decides over. Reuses the
 * inventory (`domstats`, `list`), preflight's queries (capabilities, freecell, pools, vol-info) and the volume
 * ledger. A host that does not answer becomes a PlacementHost with `error`, never an exception.
 */

export type FactsDeps = { db: Db; executors: ExecutorSource };

type HostRow = {
  id: string;
  alias: string;
  uri: string;
  executorKind: string;
  pinnedFingerprint: string | null;
  inMaintenance: boolean;
  maxIncomingMigrations: number;
};

const TIMEOUT_MS = 20_000;
/** virsh calls on one host at once while gathering facts (an ssh host's connection carries 8 channels). */
const HOST_CALLS_AT_ONCE = 4;

/** The running (and stopped) VMs of `host`, optionally only these UUIDs, with what placement needs of each. */
export async function gatherVms(
  deps: FactsDeps,
  host: HostRow,
  only?: ReadonlySet<string>,
): Promise<{ source: PlacementSource; vms: PlacementVm[] }> {
  const executor = deps.executors.get(host);
  const [cards, capabilities] = await Promise.all([
    collectVms({ executor, timeoutMs: TIMEOUT_MS }),
    getCapabilities({ executor, timeoutMs: TIMEOUT_MS }),
  ]);
  const wanted = cards.filter((card) => !only || only.has(card.uuid));
  // The VMs Ferry itself is migrating: libvirt's job on each is Ferry's, not a stranger's.
  const ferryJobs = new Map(
    (
      await deps.db.migration.findMany({
        where: { vmUuid: { in: wanted.map((card) => card.uuid) }, state: { in: [...ACTIVE_STATES] } },
        select: { vmUuid: true, state: true, destinationAlias: true },
      })
    ).map((job) => [job.vmUuid, job]),
  );
  // Every VM's XML, state and job in one batch (one remote virsh over ssh), then read from it.
  const asked = await prefetched(
    { executor, timeoutMs: TIMEOUT_MS },
    wanted.flatMap((card) => domainReadArgs(toDomainUuid(card.uuid))),
  );
  const vms = await mapLimit(wanted, HOST_CALLS_AT_ONCE, async (card): Promise<PlacementVm> => {
    const uuid = toDomainUuid(card.uuid);
    const [xml, hold] = await Promise.all([getDomainXml(asked, uuid), getDomainHold(asked, uuid)]);
    const domain = parseDomainXml(xml);
    // A VM already in a migration cannot start another: Ferry's own is named as Ferry's, and a job started outside
    // Ferry (a plain virsh migration) would fail this one at libvirt's lock.
    const ferryJob = ferryJobs.get(card.uuid);
    const held = ferryJob
      ? `Ferry is migrating it to ${ferryJob.destinationAlias} (${ferryJob.state}): wait for it to end, or cancel it.`
      : hold === null
        ? null
        : foreignJobSentence({ hostAlias: host.alias, ...hold });
    const capacities = new Map(card.disks.map((disk) => [disk.target, disk.capacityBytes]));
    return {
      name: card.name,
      uuid: card.uuid,
      state: card.state,
      memoryBytes: card.maxMemoryBytes ?? card.memoryBytes ?? domain.memoryBytes,
      vcpus: card.vcpus ?? domain.vcpus,
      cpuMode: domain.cpuMode,
      disks: copiedDisks(domain).map((disk) => ({
        target: disk.target,
        path: disk.sourcePath,
        capacityBytes: capacities.get(disk.target) ?? 0,
      })),
      blockers: [...findMigrationBlockers(xml), ...(held === null ? [] : [held])],
    };
  });
  return {
    source: {
      id: host.id,
      alias: host.alias,
      arch: capabilities.arch,
      cpuModel: capabilities.cpuModel,
      cpuVendor: capabilities.cpuVendor,
    },
    vms,
  };
}

type HostAnswers = {
  executor: Executor;
  capabilities: Awaited<ReturnType<typeof getCapabilities>>;
  nodeinfo: ReturnType<typeof parseNodeinfo>;
  freeMemory: Awaited<ReturnType<typeof getFreeMemory>>;
  cards: Awaited<ReturnType<typeof collectVms>>;
  pools: Awaited<ReturnType<typeof listActivePools>>;
  domains: Awaited<ReturnType<typeof listDomains>>;
};

/** What askHost got: the answers, or why the host gave none. Never a rejected promise. */
export type AskedHost = Promise<{ ok: true; answers: HostAnswers } | { ok: false; error: unknown }>;

/**
 * The part of a candidate's facts that does not depend on the VMs being placed, so a plan asks it while the
 * source is still listing its VMs (two hosts' round trips at once instead of one after the other).
 */
export function askHost(deps: FactsDeps, host: HostRow): AskedHost {
  const ask = async (): Promise<HostAnswers> => {
    const executor = deps.executors.get(host);
    const call = { executor, timeoutMs: TIMEOUT_MS };
    // The inventory read is its own batch; these four another, asked while it runs (capabilities are cached).
    const [cards, capabilities, asked] = await Promise.all([
      collectVms({ executor, timeoutMs: TIMEOUT_MS }),
      getCapabilities(call),
      prefetched(call, [[...NODEINFO_ARGS], [...FREECELL_ARGS], [...POOL_LIST_ARGS], [...LIST_UUID_NAME_ARGS]]),
    ]);
    const [nodeinfo, freeMemory, pools, domains] = await Promise.all([
      asked.executor.run([...NODEINFO_ARGS], { timeoutMs: TIMEOUT_MS }).then((result) => parseNodeinfo(result.stdout)),
      getFreeMemory(asked),
      listActivePools(asked),
      // Names from `list --all`: every defined domain clashes, whatever the inventory could read of it.
      listDomains(asked),
    ]);
    return { executor, capabilities, nodeinfo, freeMemory, cards, pools, domains };
  };
  return ask().then(
    (answers) => ({ ok: true as const, answers }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/**
 * One candidate destination, asked in parallel with the others; `paths`: the disks of the VMs being placed.
 * `asked`: its askHost, when the plan started it earlier.
 */
export async function gatherHost(
  deps: FactsDeps,
  host: HostRow,
  paths: readonly string[],
  asked: AskedHost = askHost(deps, host),
): Promise<PlacementHost> {
  const base = {
    id: host.id,
    alias: host.alias,
    inMaintenance: host.inMaintenance,
    maxIncoming: host.maxIncomingMigrations,
  };
  try {
    const answer = await asked;
    if (!answer.ok) throw answer.error;
    const { executor, capabilities, nodeinfo, freeMemory, cards, pools, domains } = answer.answers;
    const running = cards.filter((card) => card.state === 'running' || card.state === 'paused');
    const unique = [...new Set(paths)];
    const call = await prefetched({ executor, timeoutMs: TIMEOUT_MS }, unique.map(volumeInfoArgs));
    const checked = await mapLimit(unique, HOST_CALLS_AT_ONCE, async (filePath) =>
      (await volumeExists(call, filePath)) ? filePath : null,
    );
    const existing = checked.filter((filePath): filePath is string => filePath !== null);
    const leftovers = await findLeftoversAt(deps.db, { hostId: host.id, paths: existing });
    // freecell is the kernel's word; when a driver has none, what its guests do not use is the best estimate.
    // A host without NUMA cells (the test driver's made-up nodes) answers "Total: 0 KiB": unknown, not full.
    const free = freeMemory
      ? freeMemory
      : nodeinfo.memoryBytes - running.reduce((sum, card) => sum + (card.memoryBytes ?? 0), 0);
    return {
      ...base,
      error: null,
      arch: capabilities.arch,
      // capabilities only, as for the source: nodeinfo's "model" is the architecture on qemu.
      cpuModel: capabilities.cpuModel,
      cpuVendor: capabilities.cpuVendor,
      cpus: nodeinfo.cpus,
      freeMemoryBytes: free,
      committedVcpus: running.reduce((sum, card) => sum + (card.vcpus ?? 0), 0),
      domainNames: domains.map((domain) => domain.name),
      pools: pools.map((pool) => ({
        name: pool.name,
        type: pool.type,
        targetPath: pool.targetPath,
        availableBytes: pool.availableBytes,
      })),
      existingPaths: existing,
      leftovers: [...leftovers.values()].map((view) => ({ path: view.path, story: view.story })),
    };
  } catch (error) {
    return {
      ...base,
      error: describeHostError(error).error,
      arch: null,
      cpuModel: null,
      cpuVendor: null,
      cpus: 0,
      freeMemoryBytes: 0,
      committedVcpus: 0,
      domainNames: [],
      pools: [],
      existingPaths: [],
      leftovers: [],
    };
  }
}

/** `asked`: each host's askHost (same order as `hosts`), when the plan started them earlier. */
export async function gatherHosts(
  deps: FactsDeps,
  hosts: readonly HostRow[],
  vms: readonly PlacementVm[],
  asked?: readonly AskedHost[],
): Promise<PlacementHost[]> {
  const paths = vms.flatMap((vm) => vm.disks.map((disk) => disk.path));
  return Promise.all(hosts.map((host, index) => gatherHost(deps, host, paths, asked?.[index])));
}
