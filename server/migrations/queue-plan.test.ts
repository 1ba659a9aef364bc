import { describe, expect, it } from 'vitest';
import { describeWaitReason, planQueue, type HostLimits, type QueuedJob } from './queue-plan';

const host = (id: string, maxOutgoing = 2, maxIncoming = 2): HostLimits => ({
  id,
  alias: id,
  maxOutgoing,
  maxIncoming,
});
const HOSTS = [host('hv1'), host('hv2'), host('hv3')];
let clock = 0;
const job = (id: string, from: string | null, to: string | null): QueuedJob => ({
  id,
  sourceHostId: from,
  destinationHostId: to,
  createdAt: new Date(1_700_000_000_000 + clock++ * 1000),
});

describe('planQueue', () => {
  it('starts two of three from one host (limit 2 outgoing) and names the third’s position and reason', () => {
    const plan = planQueue({
      queued: [job('a', 'hv1', 'hv2'), job('b', 'hv1', 'hv2'), job('c', 'hv1', 'hv2')],
      holders: [],
      hosts: HOSTS,
      fleetLimit: 10,
    });
    expect(plan.start).toEqual(['a', 'b']);
    expect(plan.waiting).toEqual([
      { id: 'c', position: 1, reason: { kind: 'outgoing', hostAlias: 'hv1', inUse: 2, limit: 2 } },
    ]);
    expect(describeWaitReason(plan.waiting[0]!.reason)).toBe('waiting for a free outgoing slot on hv1 (2 of 2 in use)');
  });

  it('counts jobs already holding slots, outgoing and incoming separately', () => {
    const plan = planQueue({
      queued: [job('x', 'hv2', 'hv3'), job('y', 'hv3', 'hv1')],
      holders: [
        { sourceHostId: 'hv1', destinationHostId: 'hv3' },
        { sourceHostId: 'hv2', destinationHostId: 'hv3' },
      ],
      hosts: HOSTS,
      fleetLimit: 10,
    });
    // hv3 already receives two: x waits; y leaves hv3 (its outgoing slots are free) and goes to hv1.
    expect(plan.start).toEqual(['y']);
    expect(plan.waiting[0]).toMatchObject({ id: 'x', reason: { kind: 'incoming', hostAlias: 'hv3', inUse: 2 } });
  });

  it('is first in, first out per host: a later job does not take the slot an earlier one waits for', () => {
    // p needs hv1 out and hv2 in; hv2 in is full. q (hv1 → hv3) must not overtake p on hv1.
    const plan = planQueue({
      queued: [job('p', 'hv1', 'hv2'), job('q', 'hv1', 'hv3'), job('r', 'hv3', 'hv1')],
      holders: [{ sourceHostId: 'hv3', destinationHostId: 'hv2' }],
      hosts: [host('hv1'), host('hv2', 2, 1), host('hv3')],
      fleetLimit: 10,
    });
    expect(plan.start).toEqual(['r']);
    expect(plan.waiting.map((w) => [w.id, w.position, w.reason.kind])).toEqual([
      ['p', 1, 'incoming'],
      ['q', 2, 'behind'],
    ]);
    expect(describeWaitReason(plan.waiting[1]!.reason)).toBe('waiting behind an earlier queued migration from hv1');
  });

  it('orders by creation time whatever order the rows come in, ties by id', () => {
    const early = job('z-early', 'hv1', 'hv2');
    const same = new Date(early.createdAt.getTime() + 5000);
    const plan = planQueue({
      queued: [{ ...job('m', 'hv1', 'hv2'), createdAt: same }, { ...job('k', 'hv1', 'hv2'), createdAt: same }, early],
      holders: [],
      hosts: [host('hv1', 1, 1), host('hv2')],
      fleetLimit: 10,
    });
    expect(plan.start).toEqual(['z-early']);
    expect(plan.waiting.map((w) => w.id)).toEqual(['k', 'm']);
  });

  it('holds the fleet-wide cap across hosts', () => {
    const plan = planQueue({
      queued: [job('a', 'hv1', 'hv2'), job('b', 'hv2', 'hv3'), job('c', 'hv3', 'hv1')],
      holders: [{ sourceHostId: 'hv3', destinationHostId: 'hv2' }],
      hosts: HOSTS,
      fleetLimit: 2,
    });
    expect(plan.start).toEqual(['a']);
    expect(plan.waiting.map((w) => w.reason)).toEqual([
      { kind: 'fleet', inUse: 2, limit: 2 },
      { kind: 'fleet', inUse: 2, limit: 2 },
    ]);
  });

  it('starts a job whose host was removed at once, so the runner can end it', () => {
    const plan = planQueue({
      queued: [job('gone', null, 'hv2')],
      holders: [],
      hosts: HOSTS,
      fleetLimit: 0,
    });
    expect(plan.start).toEqual(['gone']);
  });
});
