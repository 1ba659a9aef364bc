import type { Db } from '../db';
import { UserError } from '../errors';
import type { ExecutorSource } from '../hypervisor/executor';
import { describeHostError } from '../hosts/host-errors';
import { askHost, gatherHosts, gatherVms } from './facts';
import { placeVms, type Placement, type PlacementOverride, type Rejection } from './placement';

/**
 * The dry run: "Evacuate hv1" and "Bring back to hv1" as plans the page shows and the admin edits. Nothing is
 * written; starting recomputes the plan from fresh facts with the admin's overrides (run.ts).
 */

export type PlanDeps = { db: Db; executors: ExecutorSource };

export type EvacuationKind = 'evacuate' | 'bring-back';

export type PlanItem = {
  vmName: string;
  vmUuid: string;
  vmState: string;
  sourceHostId: string;
  sourceAlias: string;
  kind: Placement['kind'];
  destination: { id: string; alias: string } | null;
  storage: 'copy-all' | 'shared';
  reasons: string[];
  rejected: Rejection[];
  alternatives: { id: string; alias: string }[];
  concurrency: string | null;
};

export type Plan = {
  kind: EvacuationKind;
  host: { id: string; alias: string; inMaintenance: boolean };
  /** Hosts the admin may pick as a destination (bring-back: only the host itself). */
  candidates: { id: string; alias: string }[];
  /** The evacuation whose VMs a bring-back returns. */
  fromEvacuationId: string | null;
  items: PlanItem[];
};

const HOST_SELECT = {
  id: true,
  alias: true,
  uri: true,
  executorKind: true,
  pinnedFingerprint: true,
  inMaintenance: true,
  maxIncomingMigrations: true,
  maxOutgoingMigrations: true,
} as const;

function toItem(placement: Placement, source: { id: string; alias: string }): PlanItem {
  const base = {
    vmName: placement.vm.name,
    vmUuid: placement.vm.uuid,
    vmState: placement.vm.state,
    sourceHostId: source.id,
    sourceAlias: source.alias,
    kind: placement.kind,
    reasons: placement.reasons,
  };
  if (placement.kind === 'move')
    return {
      ...base,
      destination: placement.destination,
      storage: placement.storage,
      rejected: placement.rejected,
      alternatives: placement.alternatives,
      concurrency: placement.concurrency,
    };
  return {
    ...base,
    destination: null,
    storage: 'copy-all',
    rejected: placement.kind === 'unmovable' ? placement.rejected : [],
    alternatives: [],
    concurrency: null,
  };
}

async function loadHost(db: Db, hostId: string) {
  const host = await db.host.findUnique({ where: { id: hostId }, select: HOST_SELECT });
  if (!host) throw new UserError({ code: 'NOT_FOUND', message: 'That host is not registered (any more).' });
  return host;
}

/** Every VM on the host, with where it would go and why, or why it cannot move. */
export async function planEvacuation(
  deps: PlanDeps,
  options: { hostId: string; overrides?: readonly PlacementOverride[] },
): Promise<Plan> {
  const host = await loadHost(deps.db, options.hostId);
  const others = await deps.db.host.findMany({
    where: { id: { not: host.id } },
    select: HOST_SELECT,
    orderBy: { alias: 'asc' },
  });
  // The candidates are asked what does not depend on the VMs while the source lists them.
  const asked = others.map((other) => askHost(deps, other));
  let gathered;
  try {
    gathered = await gatherVms(deps, host);
  } catch (error) {
    throw new UserError({
      code: 'PRECONDITION_FAILED',
      message: `Ferry could not list the VMs on ${host.alias}: ${describeHostError(error).error}`,
    });
  }
  const hosts = await gatherHosts(deps, others, gathered.vms, asked);
  const placements = placeVms({ source: gathered.source, vms: gathered.vms, hosts, overrides: options.overrides });
  return {
    kind: 'evacuate',
    host: { id: host.id, alias: host.alias, inMaintenance: host.inMaintenance },
    candidates: others.filter((other) => !other.inMaintenance).map(({ id, alias }) => ({ id, alias })),
    fromEvacuationId: null,
    items: placements.map((placement) => toItem(placement, host)),
  };
}

/**
 * The VMs the host's last evacuation moved away, each from where it is now back to the host. Only the VMs that
 * reached their destination count; one that left that host since (moved on, deleted) is reported, not chased.
 */
export async function planBringBack(
  deps: PlanDeps,
  options: { hostId: string; excluded?: readonly string[] },
): Promise<Plan> {
  const home = await loadHost(deps.db, options.hostId);
  if (home.inMaintenance)
    throw new UserError({
      code: 'PRECONDITION_FAILED',
      message: `${home.alias} is still in maintenance: end maintenance first, then bring its VMs back.`,
    });
  const last = await deps.db.evacuation.findFirst({
    where: { hostId: home.id, kind: 'evacuate' },
    orderBy: { createdAt: 'desc' },
    include: { items: { where: { state: 'succeeded' }, orderBy: { position: 'asc' } } },
  });
  const plan: Plan = {
    kind: 'bring-back',
    host: { id: home.id, alias: home.alias, inMaintenance: home.inMaintenance },
    candidates: [{ id: home.id, alias: home.alias }],
    fromEvacuationId: last?.id ?? null,
    items: [],
  };
  if (!last) return plan;
  const excluded = new Set(options.excluded ?? []);
  const bySource = new Map<string, typeof last.items>();
  for (const item of last.items) {
    if (!item.destinationHostId) continue;
    bySource.set(item.destinationHostId, [...(bySource.get(item.destinationHostId) ?? []), item]);
  }
  // Home's own facts do not depend on which VMs come back: asked once, while the sources list their VMs.
  const homeAsked = askHost(deps, home);
  for (const [sourceId, items] of bySource) {
    const source = await deps.db.host.findUnique({ where: { id: sourceId }, select: HOST_SELECT });
    const missing = (reason: string, which = items) =>
      which.map<PlanItem>((item) => ({
        vmName: item.vmName,
        vmUuid: item.vmUuid,
        vmState: 'unknown',
        sourceHostId: sourceId,
        sourceAlias: item.destinationAlias ?? '?',
        kind: 'unmovable',
        destination: null,
        storage: 'copy-all',
        reasons: [reason],
        rejected: [],
        alternatives: [],
        concurrency: null,
      }));
    if (!source) {
      plan.items.push(...missing(`${items[0]?.destinationAlias ?? 'its host'} is no longer registered`));
      continue;
    }
    let gathered;
    try {
      gathered = await gatherVms(deps, source, new Set(items.map((item) => item.vmUuid)));
    } catch (error) {
      plan.items.push(...missing(`${source.alias} did not answer: ${describeHostError(error).error}`));
      continue;
    }
    const hosts = await gatherHosts(deps, [home], gathered.vms, [homeAsked]);
    const overrides = [...excluded].map((vmUuid) => ({ vmUuid, destinationHostId: null }));
    const placements = placeVms({ source: gathered.source, vms: gathered.vms, hosts, overrides });
    plan.items.push(...placements.map((placement) => toItem(placement, source)));
    const found = new Set(gathered.vms.map((vm) => vm.uuid));
    const gone = items.filter((entry) => !found.has(entry.vmUuid));
    plan.items.push(...missing(`no longer on ${source.alias} (moved or removed since the evacuation)`, gone));
  }
  return plan;
}
