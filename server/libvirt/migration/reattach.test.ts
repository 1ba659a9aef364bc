import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decideReattach, parseDomStateReason, type HostAnswer, type ReattachInput } from './reattach';

/** Real answers captured on the lab by e2e/lab/capture-reattach.ts (see fixtures/migration/reattach/). */
const FIXTURES = new URL('../fixtures/migration/reattach/', import.meta.url);

function answer(name: string): HostAnswer {
  const record = JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8')) as {
    exitCode: number;
    stdout: string;
    stderr: string;
  };
  if (record.exitCode === 0) return { kind: 'ok', stdout: record.stdout };
  if (/failed to get domain/.test(record.stderr)) return { kind: 'no-domain' };
  return { kind: 'error', text: record.stderr.trim() };
}

const LIVE = { mode: 'live', undefineSource: true } as const;

function input(
  overrides: Partial<ReattachInput> & Pick<ReattachInput, 'sourceJob' | 'sourceState' | 'destinationState'>,
) {
  return { options: LIVE, cancelRequested: false, ...overrides };
}

describe('parseDomStateReason', () => {
  it('splits the state and the reason', () => {
    expect(parseDomStateReason('running (migrated)\n\n')).toEqual({ state: 'running', reason: 'migrated' });
    expect(parseDomStateReason('shut off (migrated)\n')).toEqual({ state: 'shut off', reason: 'migrated' });
    expect(parseDomStateReason('paused (migrating)\n\n')).toEqual({ state: 'paused', reason: 'migrating' });
    expect(parseDomStateReason('running\n')).toEqual({ state: 'running', reason: null });
    expect(parseDomStateReason('\n')).toBeNull();
  });
});

describe('decideReattach on captured lab answers', () => {
  it('resumes a p2p migration whose virsh client was killed: the source still migrates', () => {
    const decision = decideReattach(
      input({
        sourceJob: answer('p2p-client-killed.domjobinfo-source'),
        sourceState: answer('p2p-running.domstate-source'),
        destinationState: answer('p2p-running.domstate-destination'),
      }),
    );
    expect(decision.action).toBe('resume');
    if (decision.action === 'resume') expect(decision.job.data?.processedBytes).toBe(64 * 1024 * 1024);
  });

  it('resumes while running even if the destination does not answer', () => {
    const decision = decideReattach(
      input({
        sourceJob: answer('p2p-running.domjobinfo-source'),
        sourceState: answer('p2p-running.domstate-source'),
        destinationState: answer('p2p-dest-down.domstate-destination'),
      }),
    );
    expect(decision.action).toBe('resume');
  });

  it('records success when the job ended with the VM on the destination and gone from the source', () => {
    const decision = decideReattach(
      input({
        sourceJob: answer('p2p-done.domjobinfo-source'),
        sourceState: answer('p2p-done.domstate-source'),
        destinationState: answer('p2p-done.domstate-destination'),
      }),
    );
    expect(decision).toMatchObject({
      action: 'end',
      state: 'succeeded',
      said: { source: 'no such domain', destination: 'running (migrated)' },
    });
  });

  it('records failure when a client-driven migration died with its client: the VM stayed on the source', () => {
    const decision = decideReattach(
      input({
        sourceJob: answer('native-client-killed.domjobinfo-source'),
        sourceState: answer('native-client-killed.domstate-source'),
        destinationState: answer('native-client-killed.domstate-destination'),
      }),
    );
    expect(decision).toMatchObject({
      action: 'end',
      state: 'failed',
      said: { source: 'running (booted)', destination: 'no such domain' },
    });
  });

  it('records cancelled for an aborted job when a cancel had been asked for', () => {
    const decision = decideReattach(
      input({
        sourceJob: answer('p2p-aborted.domjobinfo-source'),
        sourceState: answer('p2p-aborted.domstate-source'),
        destinationState: answer('p2p-aborted.domstate-destination'),
        cancelRequested: true,
      }),
    );
    expect(decision).toMatchObject({ action: 'end', state: 'cancelled' });
  });

  it('ends unknown when the destination does not answer and the source has no job', () => {
    const decision = decideReattach(
      input({
        sourceJob: answer('p2p-dest-down.domjobinfo-source'),
        sourceState: answer('p2p-dest-down.domstate-source'),
        destinationState: answer('p2p-dest-down.domstate-destination'),
      }),
    );
    expect(decision.action).toBe('end');
    if (decision.action !== 'end') return;
    expect(decision.state).toBe('unknown');
    expect(decision.said.source).toBe('running (booted)');
    expect(decision.said.destination).toMatch(/^no answer \(error: failed to connect to the hypervisor/);
  });

  it('ends unknown when the source has no job but the destination is still paused mid-migration', () => {
    const decision = decideReattach(
      input({
        sourceJob: answer('p2p-aborted.domjobinfo-source'),
        sourceState: answer('p2p-aborted.domstate-source'),
        destinationState: answer('p2p-running.domstate-destination'),
      }),
    );
    expect(decision).toMatchObject({
      action: 'end',
      state: 'unknown',
      said: { source: 'running (booted)', destination: 'paused (migrating)' },
    });
  });

  it('ends unknown when the VM is on neither host', () => {
    const decision = decideReattach(
      input({
        sourceJob: answer('p2p-done.domjobinfo-source'),
        sourceState: answer('p2p-done.domstate-source'),
        destinationState: answer('p2p-aborted.domstate-destination'),
      }),
    );
    expect(decision).toMatchObject({ action: 'end', state: 'unknown' });
  });

  it('ends unknown when the VM runs on both hosts', () => {
    const decision = decideReattach(
      input({
        sourceJob: answer('p2p-aborted.domjobinfo-source'),
        sourceState: answer('p2p-aborted.domstate-source'),
        destinationState: answer('p2p-done.domstate-destination'),
      }),
    );
    expect(decision).toMatchObject({ action: 'end', state: 'unknown' });
  });

  it('ends unknown when the source cannot say whether its job still runs', () => {
    const decision = decideReattach(
      input({
        sourceJob: answer('p2p-dest-down.domstate-destination'),
        sourceState: answer('p2p-dest-down.domstate-destination'),
        destinationState: answer('p2p-done.domstate-destination'),
      }),
    );
    expect(decision).toMatchObject({ action: 'end', state: 'unknown' });
  });

  it('without --undefinesource, a source left shut off counts as released', () => {
    const decision = decideReattach({
      sourceJob: answer('p2p-aborted.domjobinfo-source'),
      sourceState: { kind: 'ok', stdout: 'shut off (migrated)\n\n' },
      destinationState: answer('p2p-done.domstate-destination'),
      options: { mode: 'live', undefineSource: false },
      cancelRequested: false,
    });
    expect(decision).toMatchObject({ action: 'end', state: 'succeeded' });
  });
});
