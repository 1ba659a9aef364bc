import { describe, expect, it } from 'vitest';
import { isDestinationFailure, parseChecklist, retryDecision } from './retry';

describe('isDestinationFailure', () => {
  it('retries a preflight failure only when a destination check failed', () => {
    const failed = (id: string) => [
      { id: 'vm-state', status: 'pass' },
      { id, status: 'fail' },
    ];
    expect(isDestinationFailure({ errorCode: 'preflight', errorMessage: null, checklist: failed('memory') })).toBe(
      true,
    );
    expect(isDestinationFailure({ errorCode: 'preflight', errorMessage: null, checklist: failed('name-free') })).toBe(
      true,
    );
    expect(
      isDestinationFailure({
        errorCode: 'preflight',
        errorMessage: null,
        checklist: failed('destination-maintenance'),
      }),
    ).toBe(true);
    expect(isDestinationFailure({ errorCode: 'preflight', errorMessage: null, checklist: failed('vm-state') })).toBe(
      false,
    );
    expect(
      isDestinationFailure({ errorCode: 'preflight', errorMessage: null, checklist: failed('source-reachable') }),
    ).toBe(false);
  });

  it('retries libvirt failures that only the destination causes', () => {
    for (const code of ['name-clash', 'pool-not-found', 'disk-size-mismatch'])
      expect(isDestinationFailure({ errorCode: code, errorMessage: null, checklist: [] })).toBe(true);
  });

  it('retries a connection failure only when it names the destination', () => {
    expect(
      isDestinationFailure({
        errorCode: 'unreachable',
        errorMessage: 'The destination host did not answer on port 16509.',
        checklist: [],
      }),
    ).toBe(true);
    expect(
      isDestinationFailure({
        errorCode: 'unreachable',
        errorMessage: 'The source host did not answer.',
        checklist: [],
      }),
    ).toBe(false);
  });

  it('does not retry the VM’s own failures, cancels or successes', () => {
    for (const code of ['not-running', 'aborted', 'timeout', 'interrupted', 'unknown', 'cancelled'])
      expect(isDestinationFailure({ errorCode: code, errorMessage: 'destination', checklist: [] })).toBe(false);
    expect(isDestinationFailure({ errorCode: null, errorMessage: null, checklist: [] })).toBe(false);
  });
});

describe('parseChecklist', () => {
  it('reads a stored checklist and survives garbage', () => {
    expect(parseChecklist('[{"id":"memory","status":"fail","label":"x","reason":"y"}]')).toEqual([
      { id: 'memory', status: 'fail', label: 'x', reason: 'y' },
    ]);
    expect(parseChecklist('not json')).toEqual([]);
    expect(parseChecklist('{"id":1}')).toEqual([]);
  });
});

describe('retryDecision', () => {
  const none: { id: string; status: string }[] = [];
  it('starts an interrupted job again on the same host, a destination failure on the next one, nothing else', () => {
    expect(
      retryDecision({ errorCode: 'interrupted', errorMessage: null, checklist: none, hasAlternative: false }),
    ).toBe('same-host');
    expect(retryDecision({ errorCode: 'name-clash', errorMessage: null, checklist: none, hasAlternative: true })).toBe(
      'next-host',
    );
    expect(
      retryDecision({ errorCode: 'name-clash', errorMessage: null, checklist: none, hasAlternative: false }),
    ).toBeNull();
    expect(retryDecision({ errorCode: 'vm-crashed', errorMessage: null, checklist: none, hasAlternative: true })).toBe(
      null,
    );
  });
});
