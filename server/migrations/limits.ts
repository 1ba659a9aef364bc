import { z } from 'zod';
import type { Db } from '../db';
import { recordAudit, type AuditContext } from '../audit/record';
import { UserError } from '../errors';
import { MAX_BANDWIDTH_MIBPS } from '../libvirt/migration/options';

/**
 * How many migrations may run at once across the whole fleet. The per-host limits (2 out, 2 in) already
 * protect each hypervisor; this cap protects what they share: Ferry itself, which keeps one `virsh migrate`
 * and a `domjobinfo` poll every 500 ms per running job (about two virsh round trips a second each), and the
 * network core every copy crosses. 10 is five hosts' worth of outgoing slots at the default limits: a fleet
 * evacuation proceeds in parallel, while a mistaken "migrate everything" cannot start hundreds of copies.
 */
export const DEFAULT_FLEET_LIMIT = 10;
export const FLEET_LIMIT_SETTING = 'migration.fleet-limit';
/** Far beyond what a hypervisor's link sustains in parallel; keeps typos (200 for 20) out. */
export const MAX_HOST_MIGRATIONS = 32;
export const MAX_FLEET_LIMIT = 1000;

const count = (what: string, max: number) =>
  z
    .number({ error: `${what} must be a whole number.` })
    .int(`${what} must be a whole number.`)
    .min(1, `${what} must be at least 1 (0 would queue every migration forever).`)
    .max(max, `${what} is at most ${max}.`);

export const hostLimitsSchema = z.object({
  maxOutgoingMigrations: count('Outgoing migrations', MAX_HOST_MIGRATIONS),
  maxIncomingMigrations: count('Incoming migrations', MAX_HOST_MIGRATIONS),
  /** null: no cap. */
  bandwidthCapMiBps: z
    .number({ error: 'The bandwidth cap must be a whole number of MiB/s, or empty for none.' })
    .int('The bandwidth cap must be a whole number of MiB/s, or empty for none.')
    .min(1, 'The bandwidth cap must be at least 1 MiB/s; leave it empty for no cap.')
    .max(MAX_BANDWIDTH_MIBPS, `The bandwidth cap is at most ${MAX_BANDWIDTH_MIBPS} MiB/s.`)
    .nullable(),
});

export type HostLimitsInput = z.output<typeof hostLimitsSchema>;

export const fleetLimitSchema = z.object({ fleetLimit: count('The fleet-wide limit', MAX_FLEET_LIMIT) });

export async function readFleetLimit(db: Db): Promise<number> {
  const row = await db.setting.findUnique({ where: { key: FLEET_LIMIT_SETTING } });
  const parsed = row ? fleetLimitSchema.shape.fleetLimit.safeParse(Number(row.value)) : null;
  return parsed?.success ? parsed.data : DEFAULT_FLEET_LIMIT;
}

/** A host and its limits, as the scheduler reads them and saveHostLimits returns them. */
export const HOST_LIMITS_SELECT = {
  id: true,
  alias: true,
  maxOutgoingMigrations: true,
  maxIncomingMigrations: true,
  bandwidthCapMiBps: true,
} as const;

/** Saves one host's limits with an audit row naming what changed. */
export async function saveHostLimits(options: { db: Db; hostId: string; limits: HostLimitsInput; who: AuditContext }) {
  const { db, hostId, limits, who } = options;
  return db.$transaction(async (tx) => {
    const before = await tx.host.findUnique({
      where: { id: hostId },
      select: { alias: true, maxOutgoingMigrations: true, maxIncomingMigrations: true, bandwidthCapMiBps: true },
    });
    if (!before) throw new UserError({ code: 'NOT_FOUND', message: 'That host no longer exists.' });
    const after = await tx.host.update({
      where: { id: hostId },
      data: limits,
      select: HOST_LIMITS_SELECT,
    });
    const { alias: _alias, ...from } = before;
    await recordAudit(tx, {
      ...who,
      action: 'host.limits',
      hostAlias: before.alias,
      details: { from, to: limits },
    });
    return after;
  });
}

export async function saveFleetLimit(options: { db: Db; fleetLimit: number; who: AuditContext }) {
  const { db, fleetLimit, who } = options;
  await db.$transaction(async (tx) => {
    const before = await tx.setting.findUnique({ where: { key: FLEET_LIMIT_SETTING } });
    await tx.setting.upsert({
      where: { key: FLEET_LIMIT_SETTING },
      create: { key: FLEET_LIMIT_SETTING, value: String(fleetLimit) },
      update: { value: String(fleetLimit) },
    });
    await recordAudit(tx, {
      ...who,
      action: 'settings.fleet-limit',
      details: { from: before ? Number(before.value) : DEFAULT_FLEET_LIMIT, to: fleetLimit },
    });
  });
  return { fleetLimit };
}
