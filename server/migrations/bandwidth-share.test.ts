import { describe, expect, it } from 'vitest';
import { splitBandwidth, type BandwidthJob } from './bandwidth-share';

const job = (id: string, from: string, to: string, requestedMiBps: number | null = null): BandwidthJob => ({
  id,
  sourceHostId: from,
  destinationHostId: to,
  requestedMiBps,
});

describe('splitBandwidth', () => {
  it('divides a host’s cap evenly among its running migrations', () => {
    const shares = splitBandwidth({
      jobs: [job('a', 'hv1', 'hv2'), job('b', 'hv1', 'hv2'), job('c', 'hv1', 'hv3')],
      capsMiBps: new Map([['hv1', 90]]),
    });
    expect(Object.fromEntries(shares)).toEqual({ a: 30, b: 30, c: 30 });
  });

  it('takes the smaller of the source’s and the destination’s share', () => {
    // hv1: 100 over a, b → 50 each; hv2: 40 over a only → 40; hv3 has no cap.
    const shares = splitBandwidth({
      jobs: [job('a', 'hv1', 'hv2'), job('b', 'hv1', 'hv3')],
      capsMiBps: new Map<string, number | null>([
        ['hv1', 100],
        ['hv2', 40],
        ['hv3', null],
      ]),
    });
    expect(Object.fromEntries(shares)).toEqual({ a: 40, b: 50 });
  });

  it('counts incoming and outgoing on the same host together, and never exceeds what a job asked for', () => {
    const shares = splitBandwidth({
      jobs: [job('out', 'hv1', 'hv2', 10), job('in', 'hv3', 'hv1')],
      capsMiBps: new Map([['hv1', 64]]),
    });
    expect(Object.fromEntries(shares)).toEqual({ out: 10, in: 32 });
  });

  it('is null without any cap or request, whole MiB/s and at least 1 otherwise', () => {
    const jobs = [job('a', 'hv1', 'hv2'), job('b', 'hv1', 'hv2'), job('c', 'hv1', 'hv2')];
    expect(Object.fromEntries(splitBandwidth({ jobs, capsMiBps: new Map() }))).toEqual({ a: null, b: null, c: null });
    expect(Object.fromEntries(splitBandwidth({ jobs, capsMiBps: new Map([['hv2', 10]]) }))).toEqual({
      a: 3,
      b: 3,
      c: 3,
    });
    expect(Object.fromEntries(splitBandwidth({ jobs, capsMiBps: new Map([['hv2', 2]]) }))).toEqual({
      a: 1,
      b: 1,
      c: 1,
    });
  });
});
