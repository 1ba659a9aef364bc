import { describe, expect, it } from 'vitest';
import { toDomainUuid } from '../libvirt/domain-ref';
import { VM_STATES } from '../libvirt/parsers/vm-state';
import {
  allowedActions,
  formatTimeout,
  isDestructive,
  POWER_ACTIONS,
  powerArgv,
  refusalFor,
  shutdownTimeoutMessage,
} from './rules';

const UUID = toDomainUuid('6695eb01-f6a4-8304-79aa-97f2502e193f');

describe('power state rules', () => {
  it('offers each state only the actions that change it', () => {
    expect(allowedActions('running')).toEqual(['shutdown', 'reboot', 'suspend', 'poweroff']);
    expect(allowedActions('blocked')).toEqual(allowedActions('running'));
    expect(allowedActions('paused')).toEqual(['resume', 'poweroff']);
    expect(allowedActions('shutoff')).toEqual(['start']);
    expect(allowedActions('crashed')).toEqual(['start', 'poweroff']);
    expect(allowedActions('shutdown')).toEqual(['poweroff']);
    expect(allowedActions('pmsuspended')).toEqual(['poweroff']);
    expect(allowedActions('no-state')).toEqual([]);
  });

  it('never offers start to an active VM nor anything but start to a shut-off one', () => {
    for (const state of VM_STATES) {
      const actions = allowedActions(state);
      if (state === 'shutoff') expect(actions).toEqual(['start']);
      if (['running', 'blocked', 'paused', 'shutdown', 'pmsuspended'].includes(state)) {
        expect(actions).not.toContain('start');
      }
    }
  });

  it('refuses with a sentence naming the state and what would work', () => {
    expect(refusalFor({ action: 'start', state: 'running', vmName: 'web1' })).toBe(
      'Cannot start "web1": it is running (it can shut down or reboot or suspend or force off).',
    );
    expect(refusalFor({ action: 'suspend', state: 'shutoff', vmName: 'db' })).toBe(
      'Cannot suspend "db": it is shut off (it can start).',
    );
    expect(refusalFor({ action: 'resume', state: 'no-state', vmName: 'x' })).toBe(
      'Cannot resume "x": it is in no state (nothing can be done to it now).',
    );
    expect(refusalFor({ action: 'resume', state: 'paused', vmName: 'x' })).toBeNull();
  });

  it('asks confirmation only for the actions that end or interrupt the guest', () => {
    expect(POWER_ACTIONS.filter(isDestructive)).toEqual(['shutdown', 'reboot', 'poweroff']);
  });
});

describe('powerArgv', () => {
  it('names the domain by UUID after --domain, and shuts down and reboots by ACPI only', () => {
    expect(POWER_ACTIONS.map((action) => powerArgv(action, UUID))).toEqual([
      ['start', '--domain', UUID],
      ['shutdown', '--domain', UUID, '--mode', 'acpi'],
      ['reboot', '--domain', UUID, '--mode', 'acpi'],
      ['destroy', '--domain', UUID],
      ['suspend', '--domain', UUID],
      ['resume', '--domain', UUID],
    ]);
  });

  it('cannot be handed a name instead of a UUID', () => {
    expect(() => powerArgv('start', toDomainUuid('--help'))).toThrow(/not a domain UUID/);
  });
});

describe('the shutdown timeout sentence', () => {
  it('says how long Ferry waited, in seconds or whole minutes', () => {
    expect(shutdownTimeoutMessage(60_000)).toBe(
      'The guest did not react to ACPI within 60 s: it is still running. Force it off?',
    );
    expect(formatTimeout(3_000)).toBe('3 s');
    expect(formatTimeout(300_000)).toBe('5 min');
    expect(formatTimeout(90_000)).toBe('90 s');
  });
});
