import type { DomainUuid } from '../libvirt/domain-ref';
import type { VmState } from '../libvirt/parsers/vm-state';

/**
 * Power actions on one VM: which make sense in which state, and the virsh argv of each. PURE (no I/O), shared by
 * the server (it refuses), the VM card (it shows only what applies) and the CLI (its command names).
 */
export const POWER_ACTIONS = ['start', 'shutdown', 'reboot', 'poweroff', 'suspend', 'resume'] as const;
export type PowerAction = (typeof POWER_ACTIONS)[number];

/** What the VM may do next; pmsuspended (S3 inside the guest) is only left by force off here. */
const ALLOWED: Readonly<Record<VmState, readonly PowerAction[]>> = {
  'no-state': [],
  running: ['shutdown', 'reboot', 'suspend', 'poweroff'],
  // "idle" in virsh: a running guest whose vCPUs are all waiting; it takes the same actions.
  blocked: ['shutdown', 'reboot', 'suspend', 'poweroff'],
  paused: ['resume', 'poweroff'],
  // Already shutting down: only forcing it off is left to ask for.
  shutdown: ['poweroff'],
  shutoff: ['start'],
  crashed: ['start', 'poweroff'],
  pmsuspended: ['poweroff'],
};

/** The actions a person must confirm: each ends or interrupts what the guest is doing. */
export const DESTRUCTIVE_ACTIONS: readonly PowerAction[] = ['shutdown', 'reboot', 'poweroff'];

export const ACTION_LABELS: Readonly<Record<PowerAction, string>> = {
  start: 'Start',
  shutdown: 'Shut down',
  reboot: 'Reboot',
  poweroff: 'Force off',
  suspend: 'Suspend',
  resume: 'Resume',
};

/** "shut down", "force off": the action inside a sentence. */
export const ACTION_WORDS: Readonly<Record<PowerAction, string>> = {
  start: 'start',
  shutdown: 'shut down',
  reboot: 'reboot',
  poweroff: 'force off',
  suspend: 'suspend',
  resume: 'resume',
};

/** How virsh prints each VmState in `domstate`, for the sentences people read. */
const STATE_WORDS: Readonly<Record<VmState, string>> = {
  'no-state': 'in no state',
  running: 'running',
  blocked: 'running (idle)',
  paused: 'paused',
  shutdown: 'shutting down',
  shutoff: 'shut off',
  crashed: 'crashed',
  pmsuspended: 'suspended by its guest (pmsuspended)',
};

export function isPowerAction(text: string): text is PowerAction {
  return (POWER_ACTIONS as readonly string[]).includes(text);
}

export function allowedActions(state: VmState): readonly PowerAction[] {
  return ALLOWED[state];
}

export function isDestructive(action: PowerAction): boolean {
  return DESTRUCTIVE_ACTIONS.includes(action);
}

/** null when `action` applies to a VM in `state`; else one sentence saying why not and what would. */
export function refusalFor(options: { action: PowerAction; state: VmState; vmName: string }): string | null {
  const { action, state, vmName } = options;
  const allowed = ALLOWED[state];
  if (allowed.includes(action)) return null;
  const instead =
    allowed.length === 0
      ? 'nothing can be done to it now'
      : `it can ${allowed.map((a) => ACTION_WORDS[a]).join(' or ')}`;
  return `Cannot ${ACTION_WORDS[action]} "${vmName}": it is ${STATE_WORDS[state]} (${instead}).`;
}

/**
 * virsh's argv for an action. The domain is always the UUID (domain-ref.ts: a bare argument is tried as an ID
 * first), after `--domain` so nothing in it could be read as an option. Shutdown and reboot ask for ACPI only:
 * a guest agent's answer would hide whether the guest itself reacted.
 */
export function powerArgv(action: PowerAction, uuid: DomainUuid): string[] {
  switch (action) {
    case 'start':
      return ['start', '--domain', uuid];
    case 'shutdown':
      return ['shutdown', '--domain', uuid, '--mode', 'acpi'];
    case 'reboot':
      return ['reboot', '--domain', uuid, '--mode', 'acpi'];
    case 'poweroff':
      return ['destroy', '--domain', uuid];
    case 'suspend':
      return ['suspend', '--domain', uuid];
    case 'resume':
      return ['resume', '--domain', uuid];
  }
}

/** The state the VM should be in once the action has done its work (a shutdown only when the guest obeys). */
export function expectedState(action: PowerAction): VmState {
  switch (action) {
    case 'start':
    case 'reboot':
    case 'resume':
      return 'running';
    case 'shutdown':
    case 'poweroff':
      return 'shutoff';
    case 'suspend':
      return 'paused';
  }
}

/** "60 s", "2 min": the shutdown timeout in the sentence the card and the CLI show. */
export function formatTimeout(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds >= 120 && seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;
}

export function shutdownTimeoutMessage(timeoutMs: number): string {
  return `The guest did not react to ACPI within ${formatTimeout(timeoutMs)}: it is still running. Force it off?`;
}
