import { describe, expect, it } from 'vitest';
import { EXIT } from './errors';
import {
  createRowReporter,
  outcome,
  planText,
  rowStatus,
  statusText,
  type EvacuationPlan,
  type EvacuationView,
} from './evacuation-format';

/** Sentences as server/evacuation/placement.ts writes them. */
const MOVE_REASONS = [
  'most free memory after placement among the one host that fits',
  '1664 MiB free after placement (256 MiB for the VM)',
  'room in pool default for the disks',
];
const SHUT_OFF =
  "it is shut off: an evacuation moves running guests live; a stopped guest's disks cannot be copied offline";

type PlanItem = EvacuationPlan['items'][number];
type ViewItem = EvacuationView['items'][number];

function planItem(fields: Partial<PlanItem> & Pick<PlanItem, 'vmName' | 'kind'>): PlanItem {
  return {
    vmUuid: `uuid-${fields.vmName}`,
    vmState: 'running',
    sourceHostId: 'h1',
    sourceAlias: 'hv1',
    destination: null,
    storage: 'copy-all',
    reasons: [],
    rejected: [],
    alternatives: [],
    concurrency: null,
    ...fields,
  };
}

function plan(items: PlanItem[], fields: Partial<EvacuationPlan> = {}): EvacuationPlan {
  return {
    kind: 'evacuate',
    host: { id: 'h1', alias: 'hv1', inMaintenance: false },
    candidates: [{ id: 'h2', alias: 'hv2' }],
    fromEvacuationId: null,
    items,
    ...fields,
  };
}

function row(fields: Partial<ViewItem> & Pick<ViewItem, 'vmName' | 'state'>): ViewItem {
  return {
    id: `item-${fields.vmName}`,
    vmUuid: `uuid-${fields.vmName}`,
    sourceAlias: 'hv1',
    destinationAlias: 'hv2',
    storage: 'copy-all',
    reasons: [],
    error: null,
    attempts: [],
    job: null,
    ...fields,
  };
}

const job = (state: string, percent = 0) => ({ id: `job-${state}`, state, percent, waitingFor: null });

function view(items: ViewItem[], fields: Partial<EvacuationView> = {}): EvacuationView {
  return {
    id: 'evac1',
    kind: 'evacuate',
    hostId: 'h1',
    hostAlias: 'hv1',
    state: 'running',
    actor: 'alice',
    createdAt: new Date('2026-12-02T20:00:00.000Z'),
    endedAt: null,
    percent: 0,
    counts: { total: items.length, moving: 0, succeeded: 0, failed: 0, running: 0, queued: 0, pending: 0 },
    items,
    ...fields,
  };
}

const AT = new Date('2026-12-02T20:41:07.000Z');

describe('planText', () => {
  it('shows each VM’s destination and why, or why it stays', () => {
    const text = planText(
      plan([
        planItem({ vmName: 'vm1', kind: 'move', destination: { id: 'h2', alias: 'hv2' }, reasons: MOVE_REASONS }),
        planItem({ vmName: 'vm-off', kind: 'unmovable', vmState: 'shutoff', reasons: [SHUT_OFF] }),
        planItem({ vmName: 'vm3', kind: 'excluded', reasons: ['left on the host by the admin'] }),
      ]),
    );
    expect(text.split('\n')).toEqual([
      'Plan: evacuate hv1: 1 of 3 VMs move, 2 stay.',
      'VM      FROM  TO                WHY',
      `vm1     hv1   hv2               ${MOVE_REASONS.join('; ')}`,
      `vm-off  hv1   stays             ${SHUT_OFF}`,
      'vm3     hv1   stays (excluded)  left on the host by the admin',
    ]);
  });

  it('says when the host is already in maintenance, and escapes control characters in names', () => {
    const text = planText(
      plan([planItem({ vmName: 'x\u001b[2J', kind: 'move', destination: { id: 'h2', alias: 'hv2' } })], {
        host: { id: 'h1', alias: 'hv1', inMaintenance: true },
      }),
    );
    expect(text).toContain('Plan: evacuate hv1: 1 of 1 VM move. hv1 is already in maintenance.');
    expect(text).toContain('x\\x1b[2J');
    expect(text).not.toContain('\u001b');
  });

  it('says why there is nothing on an empty plan', () => {
    expect(planText(plan([]))).toBe('hv1 has no VMs: nothing to evacuate.');
    expect(planText(plan([], { kind: 'bring-back' }))).toBe('Nothing to bring back to hv1: it was never evacuated.');
    expect(planText(plan([], { kind: 'bring-back', fromEvacuationId: 'e1' }))).toBe(
      'Nothing to bring back to hv1: its last evacuation moved no VM away.',
    );
  });

  it('titles a bring-back with the VMs’ current hosts as FROM', () => {
    const text = planText(
      plan(
        [
          planItem({
            vmName: 'vm1',
            kind: 'move',
            sourceAlias: 'hv2',
            destination: { id: 'h1', alias: 'hv1' },
            reasons: MOVE_REASONS,
          }),
        ],
        { kind: 'bring-back' },
      ),
    );
    expect(text.split('\n').slice(0, 3)).toEqual([
      'Plan: bring back to hv1: 1 of 1 VM move.',
      'VM   FROM  TO   WHY',
      `vm1  hv2   hv1  ${MOVE_REASONS.join('; ')}`,
    ]);
  });
});

describe('createRowReporter (following by polling)', () => {
  it('prints every row once, then only the rows whose state changed', () => {
    const report = createRowReporter();
    const first = view([
      row({ vmName: 'vm1', state: 'submitted', job: job('running', 12) }),
      row({ vmName: 'vm2', state: 'submitted', job: job('queued') }),
      row({ vmName: 'vm-off', state: 'unmovable', destinationAlias: null, reasons: [SHUT_OFF], error: SHUT_OFF }),
    ]);
    expect(report(first, AT)).toEqual([
      '20:41:07 evacuation of hv1 running 0%',
      '20:41:07 vm1 hv1 → hv2 running',
      '20:41:07 vm2 hv1 → hv2 queued',
      `20:41:07 vm-off hv1 → - unmovable: ${SHUT_OFF}`,
    ]);
    // Only the percent moved: nothing to say.
    const later = view([
      row({ vmName: 'vm1', state: 'submitted', job: job('running', 80) }),
      row({ vmName: 'vm2', state: 'submitted', job: job('queued') }),
      row({ vmName: 'vm-off', state: 'unmovable', destinationAlias: null, reasons: [SHUT_OFF], error: SHUT_OFF }),
    ]);
    expect(report(later, AT)).toEqual([]);
    const moved = view([
      row({ vmName: 'vm1', state: 'succeeded', job: job('succeeded', 100) }),
      row({ vmName: 'vm2', state: 'submitted', job: job('preflight') }),
      row({ vmName: 'vm-off', state: 'unmovable', destinationAlias: null, reasons: [SHUT_OFF], error: SHUT_OFF }),
    ]);
    expect(report(moved, AT)).toEqual(['20:41:07 vm1 hv1 → hv2 succeeded', '20:41:07 vm2 hv1 → hv2 preflight']);
  });

  it('reports a retry on the next-best host with the server’s note, and the end after the last rows', () => {
    const report = createRowReporter();
    report(view([row({ vmName: 'vm1', state: 'submitted', job: job('running') })]), AT);
    const note = 'To hv2 failed (Not enough memory on hv2.); retried on the next-best host.';
    expect(
      report(
        view([row({ vmName: 'vm1', state: 'submitted', destinationAlias: 'hv3', error: note, job: job('queued') })]),
        AT,
      ),
    ).toEqual([`20:41:07 vm1 hv1 → hv3 queued: ${note}`]);
    const failed = view([row({ vmName: 'vm1', state: 'failed', destinationAlias: 'hv3', error: 'To hv3: boom' })], {
      state: 'finished',
      percent: 100,
    });
    expect(report(failed, AT)).toEqual([
      '20:41:07 vm1 hv1 → hv3 failed: To hv3: boom',
      '20:41:07 evacuation of hv1 finished 100%',
    ]);
  });

  it('reads a submitted row without its job (between claim and the next read) as submitted', () => {
    expect(rowStatus(row({ vmName: 'vm1', state: 'submitted' }))).toBe('submitted');
  });
});

describe('outcome', () => {
  it('exits 0 when every VM to move moved, naming those that stayed', () => {
    const result = outcome(
      view(
        [
          row({ vmName: 'vm1', state: 'succeeded' }),
          row({ vmName: 'vm-off', state: 'unmovable', destinationAlias: null, reasons: [SHUT_OFF], error: SHUT_OFF }),
          row({ vmName: 'vm3', state: 'excluded', destinationAlias: null, reasons: ['left on the host by the admin'] }),
        ],
        { state: 'finished' },
      ),
    );
    expect(result).toEqual({
      code: EXIT.ok,
      summary: 'Evacuation of hv1 finished: 1 of 1 moved.',
      failures: [],
      staying: [`vm-off stays on hv1: ${SHUT_OFF}`, 'vm3 stays on hv1: left on the host by the admin'],
    });
  });

  it('exits 1 when a VM failed, with its cause', () => {
    const cause = 'To hv2: The guest was shut down during the migration.';
    const result = outcome(
      view([row({ vmName: 'vm1', state: 'succeeded' }), row({ vmName: 'vm2', state: 'failed', error: cause })], {
        state: 'finished',
      }),
    );
    expect(result.code).toBe(EXIT.failed);
    expect(result.summary).toBe('Evacuation of hv1 finished: 1 of 2 moved, 1 failed.');
    expect(result.failures).toEqual([`vm2 (hv1 → hv2) failed: ${cause}`]);
  });

  it('exits 1 for a cancelled bring-back, with what was dropped', () => {
    const dropped = 'Dropped: the evacuation was cancelled by alice.';
    const result = outcome(
      view(
        [
          row({ vmName: 'vm1', state: 'succeeded', sourceAlias: 'hv2', destinationAlias: 'hv1' }),
          row({ vmName: 'vm2', state: 'dropped', sourceAlias: 'hv2', destinationAlias: 'hv1', error: dropped }),
        ],
        { kind: 'bring-back', state: 'cancelled' },
      ),
    );
    expect(result.code).toBe(EXIT.failed);
    expect(result.summary).toBe('Bring-back to hv1 cancelled: 1 of 2 moved, 1 cancelled.');
    expect(result.failures).toEqual([`vm2 (hv2 → hv1) dropped: ${dropped}`]);
  });
});

describe('statusText', () => {
  it('shows who started it, how far it is, and every row with its job’s percent', () => {
    const text = statusText(
      view(
        [row({ vmName: 'vm1', state: 'submitted', job: job('running', 42) }), row({ vmName: 'vm2', state: 'pending' })],
        {
          percent: 21,
          counts: { total: 2, moving: 2, succeeded: 0, failed: 0, running: 1, queued: 0, pending: 1 },
        },
      ),
    );
    expect(text.split('\n')).toEqual([
      'Evacuation of hv1 (evac1) by alice, started 2026-12-02 20:00:00: running, 21%',
      '0 moved, 1 running, 0 queued, 1 pending, 0 failed of 2 to move',
      'VM   FROM  TO   STATE    DONE  NOTE',
      'vm1  hv1   hv2  running  42%   -',
      'vm2  hv1   hv2  pending  -     -',
    ]);
  });
});
