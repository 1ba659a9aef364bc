import { describe, expect, it } from 'vitest';
import { applyEvents, EMPTY_VIEW, type MigrationView } from '../app/_lib/migration-view';
import type { JobSample, MigrationEvent, MigrationEventPayload } from '../server/migrations/types';
import { createPhaseReporter, phaseOf, progressLine, resultLines } from './progress';

const MiB = 1024 * 1024;

let nextId = 1;
function event(payload: MigrationEventPayload): MigrationEvent {
  return { ...payload, id: nextId++, migrationId: 'm1', at: '2026-12-02T20:00:00.000Z' } as MigrationEvent;
}

function sample(overrides: Partial<JobSample>): MigrationEventPayload {
  return {
    type: 'jobinfo',
    phase: 'disk',
    elapsedMs: 1000,
    dataProcessedBytes: null,
    dataRemainingBytes: null,
    dataTotalBytes: null,
    memoryProcessedBytes: null,
    memoryRemainingBytes: null,
    memoryTotalBytes: null,
    diskProcessedBytes: null,
    diskRemainingBytes: null,
    diskTotalBytes: null,
    bandwidthBps: null,
    dirtyRateBps: null,
    iteration: null,
    etaSeconds: null,
    ...overrides,
  };
}

/** A migration as the runner reports one: queued, preflight, running with disk then memory samples. */
function running(): MigrationView {
  return applyEvents(EMPTY_VIEW, [
    event({ type: 'state', state: 'queued' }),
    event({ type: 'state', state: 'preflight' }),
    event({ type: 'state', state: 'running' }),
    event(
      sample({
        phase: 'disk',
        dataProcessedBytes: 128 * MiB,
        dataTotalBytes: 320 * MiB,
        bandwidthBps: 42 * MiB,
        etaSeconds: 4.5,
      }),
    ),
    event({ type: 'progress', percent: 40, readAt: 0 }),
  ]);
}

describe('progressLine (the terminal bar)', () => {
  it('shows title, bar, percent, phase, bytes, bandwidth and ETA on one line', () => {
    const line = progressLine({ view: running(), title: 'vm1 hv1→hv2', width: 120 });
    expect(line).toMatch(/^vm1 hv1→hv2 \[#+\.+\] {2}40% running \(disk\) 128 MiB of 320 MiB 42\.0 MiB\/s ETA 4\.5 s$/);
    const bar = /\[(#*)(\.*)\]/.exec(line);
    const filled = bar?.[1]?.length ?? 0;
    const total = filled + (bar?.[2]?.length ?? 0);
    expect(filled / total).toBeCloseTo(0.4, 1);
    expect(line.length).toBeLessThan(120);
  });

  it('drops ETA, then bandwidth, then bytes on a narrow terminal, never wider than it', () => {
    for (const width of [100, 70, 60, 50, 40]) {
      const line = progressLine({ view: running(), title: 'vm1 hv1→hv2', width });
      expect(line.length).toBeLessThanOrEqual(width - 1);
      expect(line).toContain('40%');
    }
    expect(progressLine({ view: running(), title: 'vm1 hv1→hv2', width: 70 })).not.toContain('ETA');
    expect(progressLine({ view: running(), title: 'vm1 hv1→hv2', width: 50 })).not.toContain('MiB');
  });

  it('says when the stream is reconnecting, and shows no ETA once the migration has ended', () => {
    expect(progressLine({ view: running(), title: 't', width: 120, connection: 'reconnecting' })).toContain(
      'reconnecting…',
    );
    const done = applyEvents(running(), [
      event({ type: 'state', state: 'succeeded' }),
      event({
        type: 'result',
        state: 'succeeded',
        errorCode: null,
        errorTitle: null,
        message: null,
        nextStep: null,
        verification: [],
      }),
    ]);
    const line = progressLine({ view: done, title: 't', width: 120 });
    expect(line).toContain('100% succeeded');
    expect(line).not.toContain('ETA');
    expect(line).toMatch(/\[#+\]/);
  });
});

describe('createPhaseReporter (one line per phase for pipes and logs)', () => {
  it('prints a line only when the phase changes', () => {
    const report = createPhaseReporter();
    const at = new Date('2026-12-02T20:00:01Z');
    let view = EMPTY_VIEW;
    const lines: string[] = [];
    const feed = (...payloads: MigrationEventPayload[]) => {
      for (const payload of payloads) {
        view = applyEvents(view, [event(payload)]);
        const line = report(view, at);
        if (line) lines.push(line);
      }
    };
    feed(
      { type: 'state', state: 'queued' },
      { type: 'state', state: 'preflight' },
      { type: 'state', state: 'running' },
    );
    feed(sample({ phase: 'disk' }), { type: 'progress', percent: 10, readAt: 0 }, sample({ phase: 'disk' }));
    feed({ type: 'progress', percent: 60, readAt: 0 }, sample({ phase: 'memory' }), sample({ phase: 'memory' }));
    feed({ type: 'state', state: 'succeeded' });
    expect(lines).toEqual([
      '20:00:01 queued 0%',
      '20:00:01 preflight 0%',
      '20:00:01 running 0%',
      '20:00:01 running (disk) 0%',
      '20:00:01 running (memory) 60%',
      '20:00:01 succeeded 60%',
    ]);
  });

  it('names the phase as libvirt reports it while running, the state otherwise', () => {
    expect(phaseOf(running())).toBe('running (disk)');
    expect(phaseOf(applyEvents(running(), [event(sample({ phase: 'unknown' }))]))).toBe('running');
    expect(phaseOf(applyEvents(running(), [event({ type: 'state', state: 'cancelling' })]))).toBe('cancelling');
  });
});

describe('resultLines', () => {
  const base = { vmName: 'vm1', source: 'hv1', destination: 'hv2' };

  it('reports a failure with its cause and next step', () => {
    const view = applyEvents(running(), [
      event({
        type: 'result',
        state: 'failed',
        errorCode: 'connection-refused',
        errorTitle: 'The destination refused the connection',
        message: 'libvirtd on hv2 is not running.',
        nextStep: 'Start libvirtd on hv2.',
        verification: [],
      }),
    ]);
    expect(resultLines({ view, ...base })).toEqual([
      'Migration of vm1 (hv1 → hv2) failed: The destination refused the connection.',
      '  libvirtd on hv2 is not running.',
      '  Next step: Start libvirtd on hv2.',
    ]);
  });

  it('reports success with the duration and what was verified', () => {
    const view = applyEvents(running(), [
      event({
        type: 'result',
        state: 'succeeded',
        errorCode: null,
        errorTitle: null,
        message: null,
        nextStep: null,
        verification: ['vm1 runs on hv2'],
      }),
    ]);
    expect(resultLines({ view, ...base, durationMs: 2500 })).toEqual([
      'vm1 migrated hv1 → hv2 in 2.5 s.',
      '  ✓ vm1 runs on hv2',
    ]);
  });

  it('reports an unknown ending with what the hosts said, never as success', () => {
    const view = applyEvents(running(), [
      event({
        type: 'result',
        state: 'unknown',
        errorCode: 'unknown',
        errorTitle: null,
        message: 'hv1: vm1 is paused (migrating); hv2: did not answer.',
        nextStep: 'Look at both hosts before retrying.',
        verification: [],
      }),
    ]);
    expect(resultLines({ view, ...base })).toEqual([
      'Migration of vm1 (hv1 → hv2) ended unknown: the hosts did not say how it ended.',
      '  hv1: vm1 is paused (migrating); hv2: did not answer.',
      '  Next step: Look at both hosts before retrying.',
    ]);
  });
});
