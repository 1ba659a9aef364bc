import type { Db } from '../db';
import type { Executor } from '../hypervisor/executor';
import type { DomainFacts } from '../libvirt/domain-xml';
import type { MigrationOptions } from '../libvirt/migration/options';
import { dirname, poolForPath, type PoolFacts } from '../libvirt/storage';
import { describeHostError } from '../fleet/service';
import {
  getCapabilities,
  getDiskCapacity,
  getDomainFacts,
  getDomainState,
  getFreeMemory,
  listActivePools,
  volumeExists,
} from './host-queries';
import { ACTIVE_STATES, type PreflightCheck } from './types';

export type PreflightHost = { id: string; alias: string; hostUuid: string | null; executor: Executor };

export type PreflightFacts = {
  domain: DomainFacts | null;
  sourceState: string | null;
  /** Disks that will be copied (copy-storage), with where they land on the destination. */
  disks: {
    target: string;
    path: string;
    capacityBytes: number | null;
    format: string | null;
    pool: string | null;
    existsOnDestination: boolean;
  }[];
  destinationPools: PoolFacts[];
};

export type PreflightReport = { checks: PreflightCheck[]; facts: PreflightFacts; ok: boolean };

function check(id: string, label: string, status: PreflightCheck['status'], reason: string): PreflightCheck {
  return { id, label, status, reason };
}

function copiesStorage(options: MigrationOptions) {
  return options.storage === 'copy-all' || options.storage === 'copy-inc';
}

/**
 * Everything Ferry can know before asking libvirt to migrate, each check with a one-line reason. Runs from the
 * dialog (read-only) and again right before the migration starts. Never throws for a host problem: an
 * unreachable host is itself a failed check.
 */
export async function runPreflight(options: {
  db: Db;
  vmName: string;
  source: PreflightHost;
  destination: PreflightHost;
  migration: MigrationOptions;
  /** The migration being started, excluded from the "already migrating" check. */
  migrationId?: string;
  signal?: AbortSignal;
}): Promise<PreflightReport> {
  const { vmName, source, destination, migration, signal } = options;
  const checks: PreflightCheck[] = [];
  const facts: PreflightFacts = { domain: null, sourceState: null, disks: [], destinationPools: [] };
  const src = { executor: source.executor, signal };
  const dst = { executor: destination.executor, signal };

  if (source.id === destination.id) {
    checks.push(
      check('same-host', 'Different hosts', 'fail', `Source and destination are the same host (${source.alias}).`),
    );
    return { checks, facts, ok: false };
  }

  // Reachability and identity of both ends.
  const [sourceCaps, destinationCaps] = await Promise.all([
    getCapabilities(src).then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error: describeHostError(error).error }),
    ),
    getCapabilities(dst).then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error: describeHostError(error).error }),
    ),
  ]);
  if (!sourceCaps.ok)
    checks.push(check('source-reachable', 'Source reachable', 'fail', `${source.alias}: ${sourceCaps.error}`));
  checks.push(
    destinationCaps.ok
      ? check('destination-reachable', 'Destination reachable', 'pass', `${destination.alias} answered.`)
      : check(
          'destination-reachable',
          'Destination reachable',
          'fail',
          `${destination.alias}: ${destinationCaps.error}`,
        ),
  );
  if (!sourceCaps.ok || !destinationCaps.ok) return { checks, facts, ok: false };

  const sourceUuid = sourceCaps.value.hostUuid ?? source.hostUuid;
  const destinationUuid = destinationCaps.value.hostUuid ?? destination.hostUuid;
  if (sourceUuid && destinationUuid && sourceUuid === destinationUuid) {
    checks.push(
      check(
        'same-host',
        'Different hosts',
        'fail',
        `${source.alias} and ${destination.alias} are the same libvirt host (UUID ${sourceUuid}).`,
      ),
    );
  } else if (!sourceUuid || !destinationUuid) {
    checks.push(
      check(
        'same-host',
        'Different hosts',
        'warn',
        'A host does not report a libvirt host UUID, so Ferry cannot prove they differ.',
      ),
    );
  } else {
    checks.push(
      check('same-host', 'Different hosts', 'pass', `Host UUIDs differ (${sourceUuid} vs ${destinationUuid}).`),
    );
  }

  // Everything independent runs at once: the source's and the destination's questions go to different hosts.
  const copying = copiesStorage(migration);
  const [domain, clash, activeJob, destinationPools, freeMemory] = await Promise.all([
    getDomainFacts(src, vmName),
    getDomainState(dst, vmName),
    options.db.migration.findFirst({
      where: {
        vmName,
        sourceAlias: source.alias,
        state: { in: [...ACTIVE_STATES] },
        ...(options.migrationId ? { id: { not: options.migrationId } } : {}),
      },
      select: { id: true, state: true },
    }),
    copying ? listActivePools(dst) : Promise.resolve([]),
    getFreeMemory(dst),
  ]);
  facts.domain = domain;
  facts.destinationPools = destinationPools;
  facts.sourceState = facts.domain ? await getDomainState(src, vmName) : null;
  if (!facts.domain) {
    checks.push(check('vm-exists', 'VM on source', 'fail', `No domain named "${vmName}" on ${source.alias}.`));
    return { checks, facts, ok: false };
  }
  const running = facts.sourceState === 'running' || facts.sourceState === 'paused';
  if (migration.mode === 'live' && !running) {
    checks.push(
      check(
        'vm-state',
        'VM state fits',
        'fail',
        `Live migration needs a running VM; "${vmName}" is ${facts.sourceState ?? 'unknown'}. Choose offline.`,
      ),
    );
  } else if (migration.mode === 'offline' && running) {
    checks.push(
      check(
        'vm-state',
        'VM state fits',
        'warn',
        `"${vmName}" is running; offline migration moves only its definition.`,
      ),
    );
  } else {
    checks.push(check('vm-state', 'VM state fits', 'pass', `"${vmName}" is ${facts.sourceState}.`));
  }

  checks.push(
    clash === null
      ? check('name-free', 'Name free on destination', 'pass', `No domain "${vmName}" on ${destination.alias}.`)
      : check(
          'name-free',
          'Name free on destination',
          'fail',
          `${destination.alias} already has a domain "${vmName}" (${clash}).`,
        ),
  );

  checks.push(
    activeJob
      ? check(
          'no-active-job',
          'No migration running',
          'fail',
          `Migration ${activeJob.id} of "${vmName}" is ${activeJob.state}.`,
        )
      : check('no-active-job', 'No migration running', 'pass', 'No other Ferry migration of this VM is active.'),
  );

  // Storage.
  const disks = facts.domain.disks.filter(
    (disk) => disk.device === 'disk' && disk.sourcePath && !disk.readonly && !disk.shareable,
  );
  if (copying) {
    const problems: string[] = [];
    const needPerPool = new Map<string, number>();
    const sizes = await Promise.all(
      disks.map((disk) =>
        Promise.all([getDiskCapacity(src, vmName, disk.target), volumeExists(dst, disk.sourcePath as string)]),
      ),
    );
    for (const [index, disk] of disks.entries()) {
      const diskPath = disk.sourcePath as string;
      const pool = poolForPath(facts.destinationPools, diskPath);
      const [capacityBytes, existsOnDestination] = sizes[index] as [number | null, boolean];
      facts.disks.push({
        target: disk.target,
        path: diskPath,
        capacityBytes,
        format: disk.format,
        pool: pool?.name ?? null,
        existsOnDestination,
      });
      if (!pool)
        problems.push(`no active pool on ${destination.alias} has target ${dirname(diskPath)} (for ${disk.target})`);
      else
        needPerPool.set(
          pool.name,
          (needPerPool.get(pool.name) ?? 0) + (existsOnDestination ? 0 : (capacityBytes ?? 0)),
        );
      if (existsOnDestination && !migration.precreateVolumes)
        problems.push(`${diskPath} already exists on ${destination.alias}`);
    }
    for (const [poolName, needed] of needPerPool) {
      const pool = facts.destinationPools.find((candidate) => candidate.name === poolName);
      if (pool && pool.availableBytes < needed)
        problems.push(`pool ${poolName} has ${pool.availableBytes} bytes free, needs ${needed}`);
    }
    checks.push(
      problems.length > 0
        ? check('storage', 'Storage on destination', 'fail', `${problems.join('; ')}.`)
        : check(
            'storage',
            'Storage on destination',
            'pass',
            disks.length === 0 ? 'No disks to copy.' : `${disks.length} disk(s) fit in destination pools.`,
          ),
    );
  } else if (migration.storage === 'shared') {
    checks.push(
      check(
        'storage',
        'Storage',
        'warn',
        'Shared storage assumed: the disks must be reachable at the same paths on the destination.',
      ),
    );
  }

  // Memory.
  if (freeMemory === null) {
    checks.push(check('memory', 'Destination memory', 'warn', `${destination.alias} did not report free memory.`));
  } else {
    checks.push(
      freeMemory >= facts.domain.memoryBytes
        ? check(
            'memory',
            'Destination memory',
            'pass',
            `${Math.round(freeMemory / 2 ** 20)} MiB free ≥ ${Math.round(facts.domain.memoryBytes / 2 ** 20)} MiB.`,
          )
        : check(
            'memory',
            'Destination memory',
            'fail',
            `${destination.alias} has ${Math.round(freeMemory / 2 ** 20)} MiB free; "${vmName}" needs ${Math.round(facts.domain.memoryBytes / 2 ** 20)} MiB.`,
          ),
    );
  }

  // CPU.
  checks.push(cpuCheck(facts.domain, sourceCaps.value, destinationCaps.value));

  return { checks, facts, ok: checks.every((c) => c.status !== 'fail') };
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
