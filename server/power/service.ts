import type { Db } from '../db';
import { recordAudit, type AuditContext, type AuditResult } from '../audit/record';
import { UserError } from '../errors';
import { isUniqueViolation } from '../signed-api/unique-violation';
import { describeHostError } from '../hosts/host-errors';
import { VirshError, type Executor, type ExecutorSource } from '../hypervisor/executor';
import { matchDomain, type DomainRef } from '../libvirt/domain-ref';
import { hasControlCharacter } from '../libvirt/text-checks';
import { parseDominfo } from '../libvirt/parsers/dominfo';
import { vmStateFromWords, type VmState } from '../libvirt/parsers/vm-state';
import { foreignJobSentence } from '../libvirt/foreign-job';
import { dominfoArgs } from '../inventory/virsh-commands';
import { getDomainHold, getDomainState, listDomains } from '../migrations/host-queries';
import { ACTIVE_STATES } from '../migrations/types';
import { classifyPowerFailure } from './errors';
import { ACTION_WORDS, expectedState, powerArgv, refusalFor, shutdownTimeoutMessage, type PowerAction } from './rules';

export type PowerDeps = { db: Db; executors: ExecutorSource; shutdownTimeoutMs: number };

export type PowerRequest = { hostId: string; vmName: string; vmUuid: string; action: PowerAction };

/** pending: a shutdown waiting for the guest; forced-off: a pending shutdown overtaken by a force off. */
export type PowerActionState = 'pending' | 'succeeded' | 'failed' | 'timed-out' | 'forced-off';

export type PowerResult = {
  id: string;
  action: PowerAction;
  state: PowerActionState;
  message: string;
  /**
   * The VM's state as the host reported it after the action; null while a shutdown is pending, and when a transient
   * VM stopped (libvirt removes it: there is no state left to report).
   */
  vmState: VmState | null;
};

/** How often a pending shutdown's domstate is read; also the card's poll while it shows "shutting down…". */
export const SHUTDOWN_POLL_MS = 1_000;
const VIRSH_TIMEOUT_MS = 20_000;

type RegisteredHost = NonNullable<Awaited<ReturnType<Db['host']['findUnique']>>>;

async function loadHost(db: Db, hostId: string): Promise<RegisteredHost> {
  const host = await db.host.findUnique({ where: { id: hostId } });
  if (!host) throw new UserError({ code: 'NOT_FOUND', message: 'That host is not registered (any more).' });
  return host;
}

function hostUnreachable(host: RegisteredHost, error: unknown): UserError {
  return new UserError({
    code: 'PRECONDITION_FAILED',
    message: `Ferry could not reach ${host.alias}: ${describeHostError(error, host.uri).error}`,
  });
}

/** The VM by UUID, re-checked on the host now: its name must still be the one the card or the CLI showed. */
async function identifyVm(executor: Executor, host: RegisteredHost, request: PowerRequest): Promise<DomainRef> {
  let listed;
  try {
    listed = await listDomains({ executor, timeoutMs: VIRSH_TIMEOUT_MS });
  } catch (error) {
    throw hostUnreachable(host, error);
  }
  const match = matchDomain(listed, { name: request.vmName, uuid: request.vmUuid }, host.alias);
  if (match.ok) return match.domain;
  throw new UserError({ code: match.reason === 'missing' ? 'NOT_FOUND' : 'CONFLICT', message: match.message });
}

async function readState(executor: Executor, host: RegisteredHost, vm: DomainRef): Promise<VmState> {
  let words: string | null;
  try {
    words = await getDomainState({ executor, timeoutMs: VIRSH_TIMEOUT_MS }, vm.uuid);
  } catch (error) {
    throw hostUnreachable(host, error);
  }
  if (words === null) throw vanished(host, vm);
  return vmStateFromWords(words) ?? 'no-state';
}

function vanished(host: RegisteredHost, vm: DomainRef): UserError {
  return new UserError({ code: 'NOT_FOUND', message: `"${vm.name}" is no longer on ${host.alias}: refresh the page.` });
}

/**
 * Whether the VM is transient (no persistent definition): libvirt removes such a VM the moment it stops, so a shutdown
 * or force off that ends with the VM gone has worked. False when dominfo cannot be read or does not say (an unknown
 * is not transient: the VM gone then stays a failure).
 */
async function readIsTransient(executor: Executor, vm: DomainRef): Promise<boolean> {
  try {
    const { stdout } = await executor.run(dominfoArgs(vm.uuid), { timeoutMs: VIRSH_TIMEOUT_MS });
    return parseDominfo(stdout).isPersistent === false;
  } catch {
    return false;
  }
}

/** The VM's state, and a sentence when libvirt holds it in a job Ferry did not start (foreign-job.ts). */
async function readStateAndJob(
  executor: Executor,
  host: RegisteredHost,
  vm: DomainRef,
): Promise<{ state: VmState; held: string | null }> {
  let hold;
  try {
    hold = await getDomainHold({ executor, timeoutMs: VIRSH_TIMEOUT_MS }, vm.uuid);
  } catch (error) {
    throw hostUnreachable(host, error);
  }
  if (hold === null) throw vanished(host, vm);
  return {
    state: vmStateFromWords(hold.state.state) ?? 'no-state',
    held: foreignJobSentence({ hostAlias: host.alias, ...hold }),
  };
}

function auditPower(
  db: Db,
  who: AuditContext,
  entry: { action: PowerAction; host: string; vm: DomainRef; result: AuditResult; outcome: string; id?: string },
) {
  return db.$transaction((tx) =>
    recordAudit(tx, {
      ...who,
      action: `power.${entry.action}`,
      result: entry.result,
      hostAlias: entry.host,
      vmName: entry.vm.name,
      details: { vmUuid: entry.vm.uuid, outcome: entry.outcome, ...(entry.id ? { powerActionId: entry.id } : {}) },
    }),
  );
}

/**
 * Carries out one power action: the VM is looked up on its host by UUID (name re-checked), refused with a
 * sentence when its state or an unfinished migration makes the action meaningless, then virsh runs with an argv
 * (never a shell string). Every outcome, refusals included, is audited. A shutdown returns at once as `pending`:
 * its row in the database is what the card, the CLI and any Ferry process follow until the guest is off or the
 * timeout offers a force off.
 */
export async function requestPowerAction(
  deps: PowerDeps,
  who: AuditContext,
  request: PowerRequest,
): Promise<PowerResult> {
  if (!request.vmName || request.vmName.length > 255 || hasControlCharacter(request.vmName)) {
    throw new UserError({ message: 'The VM name is empty, too long, or contains control characters.' });
  }
  const { db } = deps;
  const host = await loadHost(db, request.hostId);
  const executor = deps.executors.get(host);
  const vm = await identifyVm(executor, host, request);
  const { action } = request;

  const refuse = async (message: string, code: UserError['code'] = 'PRECONDITION_FAILED'): Promise<never> => {
    await auditPower(db, who, { action, host: host.alias, vm, result: 'refused', outcome: message });
    throw new UserError({ code, message });
  };

  const migration = await db.migration.findFirst({
    where: { vmUuid: vm.uuid, state: { in: [...ACTIVE_STATES] } },
    select: { state: true, destinationAlias: true },
  });
  if (migration) {
    await refuse(
      `"${vm.name}" has an unfinished migration to ${migration.destinationAlias} (${migration.state}): ` +
        `wait for it to end or cancel it before you ${ACTION_WORDS[action]} the VM.`,
      'CONFLICT',
    );
  }
  const pending = await db.powerAction.findFirst({
    where: { vmUuid: vm.uuid, state: 'pending' },
    select: { id: true },
  });
  if (pending && action !== 'poweroff') {
    await refuse(`"${vm.name}" is shutting down: wait for it, or force it off.`, 'CONFLICT');
  }
  // Only a stop can make a VM vanish; asked beside the state, not after it.
  const stops = action === 'shutdown' || action === 'poweroff';
  const [{ state, held }, isTransient] = await Promise.all([
    readStateAndJob(executor, host, vm),
    stops ? readIsTransient(executor, vm) : false,
  ]);
  // Force off is the way out of such a job, and libvirt lets it through one: destroy kills QEMU before it asks for
  // the job (a job running ends with its QEMU), so it does not wait for the lock. On a migration's destination it
  // ends the migration, and the guest runs on where it came from.
  if (held && action !== 'poweroff') {
    await refuse(`Cannot ${ACTION_WORDS[action]} "${vm.name}": ${held}`, 'CONFLICT');
  }
  const refusal = refusalFor({ action, state, vmName: vm.name });
  if (refusal) await refuse(refusal);

  try {
    await executor.run(powerArgv(action, vm.uuid), { timeoutMs: VIRSH_TIMEOUT_MS });
  } catch (error) {
    if (!(error instanceof VirshError) || error.kind !== 'exit') {
      const message = `Ferry could not ${ACTION_WORDS[action]} "${vm.name}": ${describeHostError(error, host.uri).error}`;
      await auditPower(db, who, { action, host: host.alias, vm, result: 'failed', outcome: message });
      throw new UserError({ code: 'PRECONDITION_FAILED', message });
    }
    const failure = classifyPowerFailure({ action, vmName: vm.name, stderr: error.stderr });
    console.error(`power ${action} of ${vm.uuid} on ${host.alias} refused by libvirt: ${error.message}`);
    await auditPower(db, who, { action, host: host.alias, vm, result: 'failed', outcome: failure.cause });
    throw new UserError({ code: 'PRECONDITION_FAILED', message: failure.cause });
  }

  const row = { hostId: host.id, hostAlias: host.alias, vmName: vm.name, vmUuid: vm.uuid, action, actor: who.actor };
  // A new action on the VM makes earlier outcomes old news on its card.
  await db.powerAction.updateMany({ where: { vmUuid: vm.uuid, dismissed: false }, data: { dismissed: true } });

  if (action === 'shutdown') {
    let created;
    try {
      created = await db.powerAction.create({
        data: {
          ...row,
          state: 'pending',
          deadlineAt: new Date(Date.now() + deps.shutdownTimeoutMs),
          transient: isTransient,
        },
      });
    } catch (error) {
      // PowerAction_one_pending_per_vm: another request (or Ferry process) began this VM's shutdown just now.
      if (!isUniqueViolation(error)) throw error;
      throw new UserError({ code: 'CONFLICT', message: `"${vm.name}" is already shutting down.` });
    }
    await auditPower(db, who, {
      action,
      host: host.alias,
      vm,
      result: 'ok',
      outcome: 'ACPI request sent',
      id: created.id,
    });
    watchShutdown(deps, created.id);
    return { id: created.id, action, state: 'pending', message: `Shutting down "${vm.name}"…`, vmState: null };
  }

  if (pending && action === 'poweroff') {
    await db.powerAction.updateMany({
      where: { id: pending.id, state: 'pending' },
      data: { state: 'forced-off', finishedAt: new Date(), message: 'Forced off before the guest shut down.' },
    });
  }
  // The state right after: a start that libvirt accepted may still have crashed at once. A transient VM that was
  // forced off is gone: that is the force off's result, not a VM that went missing.
  const after: VmState | 'removed' = await readState(executor, host, vm).catch((error: unknown) =>
    isTransient && action === 'poweroff' && error instanceof UserError && error.code === 'NOT_FOUND'
      ? 'removed'
      : expectedState(action),
  );
  // An ACPI reboot is a request like a shutdown, but libvirt cannot tell when (or whether) the guest restarted.
  const message =
    action === 'reboot'
      ? `Reboot requested (ACPI): "${vm.name}" restarts when its guest reacts.`
      : after === 'removed'
        ? `${capitalise(ACTION_WORDS[action])}: "${vm.name}" was transient, so libvirt removed it when it stopped.`
        : `${capitalise(ACTION_WORDS[action])}: "${vm.name}" is now ${after === 'shutoff' ? 'shut off' : after}.`;
  const created = await db.powerAction.create({
    data: { ...row, state: 'succeeded', message, finishedAt: new Date(), dismissed: true },
  });
  await auditPower(db, who, { action, host: host.alias, vm, result: 'ok', outcome: after, id: created.id });
  return { id: created.id, action, state: 'succeeded', message, vmState: after === 'removed' ? null : after };
}

function capitalise(text: string): string {
  return `${text[0]?.toUpperCase() ?? ''}${text.slice(1)}`;
}

const PUBLIC_SELECT = {
  id: true,
  hostId: true,
  hostAlias: true,
  vmName: true,
  vmUuid: true,
  action: true,
  state: true,
  actor: true,
  message: true,
  startedAt: true,
  deadlineAt: true,
  finishedAt: true,
  // A transient VM's finished shutdown leaves no VM to call "shut off" (the CLI reports its state from this).
  transient: true,
} as const;

/**
 * Looks at a pending shutdown once and records its end when there is one: the guest is off (succeeded), the
 * deadline passed with the guest still up (timed-out, with the force-off offer), or the VM is gone. The update
 * is guarded by `state = 'pending'`, so when two processes settle the same row only one writes the outcome
 * and its audit row.
 */
export async function settlePowerAction(deps: PowerDeps, id: string): Promise<void> {
  const { db } = deps;
  const action = await db.powerAction.findUnique({ where: { id } });
  if (!action || action.state !== 'pending') return;
  const host = action.hostId ? await db.host.findUnique({ where: { id: action.hostId } }) : null;
  const isLate = (action.deadlineAt?.getTime() ?? 0) <= Date.now();
  let outcome: { state: PowerActionState; message: string; result: AuditResult } | null = null;
  if (!host) {
    outcome = { state: 'failed', message: `${action.hostAlias} was removed from Ferry.`, result: 'failed' };
  } else {
    try {
      const words = await getDomainState(
        { executor: deps.executors.get(host), timeoutMs: VIRSH_TIMEOUT_MS },
        action.vmUuid as DomainRef['uuid'],
      );
      const state = words === null ? null : vmStateFromWords(words);
      if (state === null && action.transient) {
        // Recorded when the shutdown was asked: libvirt removes a transient VM as its guest powers off.
        const message = `"${action.vmName}" shut down; it was transient, so libvirt removed it.`;
        outcome = { state: 'succeeded', message, result: 'ok' };
      } else if (state === null) {
        outcome = { state: 'failed', message: `"${action.vmName}" is no longer on ${host.alias}.`, result: 'failed' };
      } else if (state === 'shutoff') {
        outcome = { state: 'succeeded', message: `"${action.vmName}" shut down.`, result: 'ok' };
      } else if (isLate) {
        const timeoutMs = (action.deadlineAt?.getTime() ?? 0) - action.startedAt.getTime();
        outcome = { state: 'timed-out', message: shutdownTimeoutMessage(timeoutMs), result: 'failed' };
      }
    } catch (error) {
      // A host that does not answer is asked again next time; past the deadline that is the answer.
      if (isLate) {
        const message = `Ferry lost ${host.alias} while "${action.vmName}" was shutting down: ${describeHostError(error, host.uri).error}`;
        outcome = { state: 'failed', message, result: 'failed' };
      }
    }
  }
  if (!outcome) return;
  const settled = outcome;
  await db.$transaction(async (tx) => {
    const { count } = await tx.powerAction.updateMany({
      where: { id, state: 'pending' },
      data: { state: settled.state, message: settled.message, finishedAt: new Date() },
    });
    if (count === 0) return;
    await recordAudit(tx, {
      actor: action.actor,
      clientAddress: null,
      action: 'power.shutdown',
      result: settled.result,
      hostAlias: action.hostAlias,
      vmName: action.vmName,
      details: { vmUuid: action.vmUuid, outcome: settled.message, powerActionId: id },
    });
  });
}

const watching = new Set<string>();

/** This process follows a pending shutdown until it ends (a second process that does too is harmless). */
export function watchShutdown(deps: PowerDeps, id: string) {
  if (watching.has(id)) return;
  watching.add(id);
  const tick = async () => {
    try {
      await settlePowerAction(deps, id);
      const row = await deps.db.powerAction.findUnique({ where: { id }, select: { state: true } });
      if (row?.state === 'pending') {
        setTimeout(() => void tick(), SHUTDOWN_POLL_MS).unref();
        return;
      }
    } catch (error) {
      console.error(`power: following shutdown ${id} failed`, error);
    }
    watching.delete(id);
  };
  setTimeout(() => void tick(), SHUTDOWN_POLL_MS).unref();
}

/**
 * Follows every pending shutdown this process does not follow yet (after a restart, or begun by another replica)
 * and settles those past their deadline now rather than a poll later. The background sweep calls it, so a
 * shutdown ends on time even when no page or CLI reads it; reading the cards calls it too.
 */
export async function adoptPendingShutdowns(deps: PowerDeps): Promise<void> {
  const pending = await deps.db.powerAction.findMany({ where: { state: 'pending' }, select: { id: true } });
  for (const row of pending) watchShutdown(deps, row.id);
  await Promise.all(pending.map((row) => settlePowerAction(deps, row.id).catch(() => undefined)));
}

/**
 * What the VM cards show: shutdowns in progress and outcomes nobody has dismissed yet (a timed-out shutdown's
 * force-off offer, a failure). Pending rows this process does not follow yet (after a restart, or started by
 * another replica) are adopted here too.
 */
export async function listOpenPowerActions(deps: PowerDeps) {
  await adoptPendingShutdowns(deps);
  return deps.db.powerAction.findMany({
    where: { dismissed: false, state: { in: ['pending', 'timed-out', 'failed'] } },
    orderBy: { startedAt: 'asc' },
    take: 500,
    select: PUBLIC_SELECT,
  });
}

/** One action, settled first if it is a pending shutdown (the CLI waits on this). */
export async function getPowerAction(deps: PowerDeps, id: string) {
  await settlePowerAction(deps, id);
  const row = await deps.db.powerAction.findUnique({ where: { id }, select: PUBLIC_SELECT });
  if (!row) throw new UserError({ code: 'NOT_FOUND', message: 'No such power action.' });
  return row;
}

/** The card's "dismiss" on an outcome; a pending shutdown cannot be dismissed (force it off instead). */
export async function dismissPowerAction(deps: PowerDeps, who: AuditContext, id: string) {
  const { count } = await deps.db.powerAction.updateMany({
    where: { id, state: { not: 'pending' } },
    data: { dismissed: true },
  });
  if (count === 0)
    throw new UserError({ code: 'NOT_FOUND', message: 'Nothing to dismiss (it is still pending, or gone).' });
  return { id, dismissedBy: who.actor };
}

/**
 * Which hosts have a VM of this name, and its UUID there: one `list --all --uuid --name` per host (all at once),
 * not the fleet's full read. The CLI names a VM the way people do; the action then goes by host and UUID.
 */
export async function locateVm(deps: PowerDeps, input: { vmName: string; hostAlias?: string; timeoutMs: number }) {
  const hosts = await deps.db.host.findMany({
    where: input.hostAlias === undefined ? {} : { alias: input.hostAlias },
    orderBy: { alias: 'asc' },
  });
  const answers = await Promise.all(
    hosts.map(async (host) => {
      try {
        const listed = await listDomains({ executor: deps.executors.get(host), timeoutMs: input.timeoutMs });
        return { host, listed, error: null };
      } catch (error) {
        return { host, listed: [], error: describeHostError(error, host.uri).error };
      }
    }),
  );
  // One libvirt host registered twice (same host UUID) lists the same VM twice: it is one VM, named by the first alias.
  const seen = new Set<string>();
  return {
    hostCount: hosts.length,
    matches: answers.flatMap(({ host, listed }) =>
      listed
        .filter((domain) => domain.name === input.vmName)
        .filter((domain) => {
          const key = `${host.hostUuid ?? host.id}/${domain.uuid}`;
          if (seen.has(key)) return false;
          seen.add(key);
          return true;
        })
        .map((domain) => ({ hostId: host.id, hostAlias: host.alias, vmName: domain.name, vmUuid: domain.uuid })),
    ),
    unreachable: answers.filter((answer) => answer.error !== null).map((answer) => answer.host.alias),
  };
}
