import type { Db } from '../db';
import { UserError } from '../errors';
import type { ExecutorSource } from '../hypervisor/executor';
import { describeHostError } from '../hosts/host-errors';
import { askHost, gatherHosts, gatherVms } from './facts';
import {
  placeVms,
  type Placement,
  type PlacementHost,
  type PlacementOverride,
  type PlacementSource,
  type PlacementVm,
  type Rejection,
} from './placement';

/**
 * The dry run: "Evacuate hv1" and "Bring back to hv1" as plans the page shows and the admin edits. Nothing is
 * written; starting places the VMs again with the admin's overrides (run.ts), over the facts the plan was made from
 * when they are young enough (see PLAN_FACTS_REUSE_MS), else over fresh ones.
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

/**
 * How long the facts of an evacuation plan stay usable for placing the same host's VMs again: while the admin edits
 * the plan (each change places them again) and when they press Start. Asking every host again costs ~0.3 s on the
 * lab's two hosts and more with many hosts or over ssh, and the admin has just seen these facts. They cannot lead to
 * a wrong move: each job's preflight checks its destination on the hosts before anything is copied, and a job whose
 * destination fails is retried on the next-best host. What young facts can miss is a VM defined on the source in
 * those seconds (the plan on screen did not show it either). Facts are reused only while every host row Ferry placed
 * over is unchanged (maintenance, limits, transport), and never by a plan opened afresh (no overrides). Kept per
 * process: a start that lands on another replica gathers its facts again.
 */
export const PLAN_FACTS_REUSE_MS = 30_000;

type HostRow = Awaited<ReturnType<typeof loadHost>>;

type PlanFacts = {
  host: HostRow;
  others: HostRow[];
  source: PlacementSource;
  vms: PlacementVm[];
  hosts: PlacementHost[];
};

/** The last facts gathered per source host: when gathering began, over which host rows, and what it found. */
const recentFacts = new Map<string, { at: number; rows: string; facts: PlanFacts }>();

async function gatherPlanFacts(
  deps: PlanDeps,
  hostId: string,
  options: { reuse: boolean; now: () => number },
): Promise<PlanFacts> {
  const host = await loadHost(deps.db, hostId);
  const others = await deps.db.host.findMany({
    where: { id: { not: host.id } },
    select: HOST_SELECT,
    orderBy: { alias: 'asc' },
  });
  const rows = JSON.stringify([host, others]);
  const recent = recentFacts.get(hostId);
  const startedAt = options.now();
  if (options.reuse && recent && recent.rows === rows && startedAt - recent.at <= PLAN_FACTS_REUSE_MS)
    return recent.facts;
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
  const facts = { host, others, source: gathered.source, vms: gathered.vms, hosts };
  for (const [key, entry] of recentFacts) if (startedAt - entry.at > PLAN_FACTS_REUSE_MS) recentFacts.delete(key);
  recentFacts.set(hostId, { at: startedAt, rows, facts });
  return facts;
}

/** The host's facts are spent (its evacuation started): the next plan for it asks the hosts again. */
export function forgetPlanFacts(hostId: string): void {
  recentFacts.delete(hostId);
}

/**
 * Every VM on the host, with where it would go and why, or why it cannot move. A plan opened afresh asks every host;
 * with overrides (the admin editing it) or `reuseRecentFacts` (Start), facts gathered for this host in the last
 * PLAN_FACTS_REUSE_MS are placed over again.
 */
export async function planEvacuation(
  deps: PlanDeps,
  options: {
    hostId: string;
    overrides?: readonly PlacementOverride[];
    reuseRecentFacts?: boolean;
    now?: () => number;
  },
): Promise<Plan> {
  const overrides = options.overrides ?? [];
  const { host, others, source, vms, hosts } = await gatherPlanFacts(deps, options.hostId, {
    reuse: options.reuseRecentFacts === true || overrides.length > 0,
    now: options.now ?? Date.now,
  });
  const placements = placeVms({ source, vms, hosts, overrides });
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
