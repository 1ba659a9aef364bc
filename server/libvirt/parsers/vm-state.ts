/**
 * A domain's run state. virsh spells it two ways: as a virDomainState number (`state.state=5` in
 * domstats) and as words (`State:          shut off` in dominfo and `list`); both map to this union.
 */
export type VmState =
  'no-state' | 'running' | 'blocked' | 'paused' | 'shutdown' | 'shutoff' | 'crashed' | 'pmsuspended';

export const VM_STATES: readonly VmState[] = [
  'no-state',
  'running',
  'blocked',
  'paused',
  'shutdown',
  'shutoff',
  'crashed',
  'pmsuspended',
];

/** Index = virDomainState number (libvirt's include/libvirt/libvirt-domain.h). */
const STATE_BY_NUMBER: readonly VmState[] = VM_STATES;

/** What virsh's virshDomainStateToString prints for each state. */
const STATE_BY_WORDS: Readonly<Record<string, VmState>> = {
  'no state': 'no-state',
  running: 'running',
  idle: 'blocked',
  paused: 'paused',
  'in shutdown': 'shutdown',
  'shut off': 'shutoff',
  crashed: 'crashed',
  pmsuspended: 'pmsuspended',
};

export const VIRSH_STATE_WORDS: readonly string[] = Object.keys(STATE_BY_WORDS);

export function vmStateFromNumber(value: number): VmState | null {
  return STATE_BY_NUMBER[value] ?? null;
}

export function vmStateFromWords(words: string): VmState | null {
  return STATE_BY_WORDS[words] ?? null;
}

/** States in which a qemu process exists, so block statistics come from the running emulator. */
export function isActiveState(state: VmState): boolean {
  return state !== 'shutoff' && state !== 'no-state';
}
