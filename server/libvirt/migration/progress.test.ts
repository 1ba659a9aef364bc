import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createMigrateOutputParser, type FinalOutcome, type ProgressEvent } from './progress';

/** Real captures from the lab (libvirt 9.0, QEMU 7.2): see server/libvirt/fixtures/migration/README.md. */
const FIXTURES = new URL('../fixtures/migration/', import.meta.url);

type Chunk = { t: number; stream: 'stdout' | 'stderr'; data: string };
type Capture = { chunks: Chunk[]; exitCode: number };
type Whole = { exitCode: number; stdout: string; stderr: string };

function readCapture(name: string): Capture {
  const lines = readFileSync(new URL(`${name}.chunks.jsonl`, FIXTURES), 'utf8')
    .trim()
    .split('\n');
  const records = lines.map((line) => JSON.parse(line) as Chunk | { t: number; exitCode: number });
  const exit = records.at(-1);
  if (exit === undefined || !('exitCode' in exit)) throw new Error(`${name}: last line is not the exit record`);
  return { chunks: records.slice(0, -1) as Chunk[], exitCode: exit.exitCode };
}

function readWhole(name: string): Whole {
  return JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8')) as Whole;
}

function readFailure(name: string): Whole {
  return JSON.parse(readFileSync(new URL(`failures/${name}.json`, FIXTURES), 'utf8')) as Whole;
}

/** Feeds chunks in order and returns every event plus the outcome. */
function feed(
  chunks: readonly Pick<Chunk, 'stream' | 'data'>[],
  exitCode: number,
): { events: ProgressEvent[]; outcome: FinalOutcome } {
  const parser = createMigrateOutputParser();
  const events: ProgressEvent[] = [];
  for (const chunk of chunks)
    events.push(...(chunk.stream === 'stderr' ? parser.pushStderr(chunk.data) : parser.pushStdout(chunk.data)));
  return { events, outcome: parser.finish(exitCode) };
}

/** Feeds a whole stream as given pieces (stderr first, then stdout, as virsh ends). */
function feedSplit(stderrPieces: readonly string[], stdout: string, exitCode: number) {
  return feed(
    [...stderrPieces.map((data) => ({ stream: 'stderr' as const, data })), { stream: 'stdout' as const, data: stdout }],
    exitCode,
  );
}

function byteByByte(text: string): string[] {
  return Array.from(text);
}

const percents = (events: readonly ProgressEvent[]) =>
  events.flatMap((event) => (event.type === 'progress' ? [event.percent] : []));
const errorTexts = (events: readonly ProgressEvent[]) =>
  events.flatMap((event) => (event.type === 'error-text' ? [event.message] : []));

const STEPS = [6, 12, 18, 25, 31, 37, 43, 50, 56, 62, 68, 75, 81, 87, 93, 100];

describe('createMigrateOutputParser on real chunk sequences', () => {
  it('migrate-bw8: one event per new percentage, 16 increasing values, success only from exit 0', () => {
    const capture = readCapture('migrate-bw8');
    const { events, outcome } = feed(capture.chunks, capture.exitCode);
    expect(percents(events)).toEqual(STEPS);
    expect(errorTexts(events)).toEqual([]);
    expect(outcome).toMatchObject({
      status: 'succeeded',
      exitCode: 0,
      lastPercent: 100,
      errorMessage: null,
      errorLines: [],
    });
    expect(outcome.progressSamples).toBe(capture.chunks.filter((chunk) => chunk.stream === 'stderr').length);
    const whole = readWhole('migrate-bw8');
    expect(outcome.stderr).toBe(whole.stderr);
    expect(outcome.stdout).toBe(whole.stdout);
    expect(outcome.transcript).toEqual(capture.chunks.map(({ stream, data }) => ({ stream, data })));
  });

  it('migrate-abort: progress, then the error that followed the last `]` in a later read', () => {
    const capture = readCapture('migrate-abort');
    const { events, outcome } = feed(capture.chunks, capture.exitCode);
    expect(events).toEqual([
      { type: 'progress', percent: 6 },
      { type: 'progress', percent: 12 },
      { type: 'error-text', message: 'operation aborted: migration out: canceled by client' },
    ]);
    expect(outcome).toMatchObject({
      status: 'failed',
      exitCode: 1,
      lastPercent: 12,
      errorMessage: 'operation aborted: migration out: canceled by client',
    });
    expect(outcome.stderr).toBe(readWhole('migrate-abort').stderr);
  });

  it('migrate-fast: a single [100 %] and exit 0', () => {
    const capture = readCapture('migrate-fast');
    const { events, outcome } = feed(capture.chunks, capture.exitCode);
    expect(events).toEqual([{ type: 'progress', percent: 100 }]);
    expect(outcome.status).toBe('succeeded');
  });

  it('migrate-concurrent-first: the first migration still succeeds while a second one is refused', () => {
    const capture = readCapture('migrate-concurrent-first');
    const { events, outcome } = feed(capture.chunks, capture.exitCode);
    expect(percents(events)).toEqual(STEPS);
    expect(outcome.status).toBe('succeeded');
  });

  it.each(['migrate-bw8', 'migrate-abort', 'migrate-fast', 'migrate-concurrent-first'])(
    '%s fed byte by byte gives the same events',
    (name) => {
      const capture = readCapture(name);
      const whole = feed(capture.chunks, capture.exitCode);
      const bytes = capture.chunks.flatMap((chunk) =>
        byteByByte(chunk.data).map((data) => ({ stream: chunk.stream, data })),
      );
      const split = feed(bytes, capture.exitCode);
      expect(split.events).toEqual(whole.events);
      expect({ ...split.outcome, transcript: [] }).toEqual({ ...whole.outcome, transcript: [] });
    },
  );

  it('the aborted run split at every single position gives the same events', () => {
    const { stderr, stdout, exitCode } = readWhole('migrate-abort');
    const reference = feedSplit([stderr], stdout, exitCode);
    for (let cut = 1; cut < stderr.length; cut += 1) {
      const split = feedSplit([stderr.slice(0, cut), stderr.slice(cut)], stdout, exitCode);
      expect(split.events, `cut at ${cut}: ${JSON.stringify(stderr.slice(0, cut))}`).toEqual(reference.events);
      expect(split.outcome.errorMessage).toBe(reference.outcome.errorMessage);
    }
  });
});

describe('createMigrateOutputParser on awkward splits', () => {
  it('splits inside "Migration", inside "[ 4" and inside "error:"', () => {
    const { events, outcome } = feedSplit(
      [
        '\rMigr',
        'ation: [  6 %]\rMigration: [ 4',
        '3 %]\rMigration: [ 43 %]err',
        'or: operation aborted: migration out: cancel',
        'ed by client\n',
      ],
      '\n',
      1,
    );
    expect(events).toEqual([
      { type: 'progress', percent: 6 },
      { type: 'progress', percent: 43 },
      { type: 'error-text', message: 'operation aborted: migration out: canceled by client' },
    ]);
    expect(outcome.errorMessage).toBe('operation aborted: migration out: canceled by client');
  });

  it('holds back an error until its newline arrives', () => {
    const parser = createMigrateOutputParser();
    expect(parser.pushStderr('\rMigration: [ 18 %]error: operation aborted')).toEqual([
      { type: 'progress', percent: 18 },
    ]);
    expect(parser.pushStderr(': migration out: canceled by client')).toEqual([]);
    expect(parser.pushStderr('\n')).toEqual([
      { type: 'error-text', message: 'operation aborted: migration out: canceled by client' },
    ]);
    expect(parser.pushStdout('\n')).toEqual([]);
    expect(parser.finish(1).status).toBe('failed');
  });

  it('an error glued to [100 %] is a failure: [100 %] is not success', () => {
    const { events, outcome } = feedSplit(
      ['\rMigration: [ 93 %]\rMigration: [100 %]error: internal error: qemu unexpectedly closed the monitor\n'],
      '\n',
      1,
    );
    expect(percents(events)).toEqual([93, 100]);
    expect(outcome).toMatchObject({
      status: 'failed',
      lastPercent: 100,
      errorMessage: 'internal error: qemu unexpectedly closed the monitor',
    });
  });

  it('[100 %] with exit 1 and no text is still a failure', () => {
    expect(feedSplit(['\rMigration: [100 %]'], '\n', 1).outcome).toMatchObject({
      status: 'failed',
      errorMessage: null,
      lastPercent: 100,
    });
  });

  it('keeps every line of a multi-line error (real source-port-closed stderr), each without its prefix', () => {
    const { stderr, stdout, exitCode } = readFailure('source-port-closed');
    const { events, outcome } = feedSplit(byteByByte(stderr), stdout, exitCode);
    const expected = [
      'failed to connect to the hypervisor',
      'Cannot recv data: ssh: connect to host 10.77.77.11 port 2222: Connection refused: Connection reset by peer',
    ];
    expect(errorTexts(events)).toEqual(expected);
    expect(outcome.errorLines).toEqual(expected);
    expect(outcome.errorMessage).toBe(expected.join('\n'));
    expect(outcome.lastPercent).toBeNull();
  });

  it("ssh's \\r\\n line ends (real dest-changed-host-key stderr) end lines and leave no \\r behind", () => {
    const { stderr, stdout, exitCode } = readFailure('dest-changed-host-key');
    const { outcome } = feedSplit([stderr], stdout, exitCode);
    expect(outcome.errorLines[0]).toBe('Cannot recv data: @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@');
    expect(outcome.errorLines.at(-1)).toBe('Host key verification failed.: Connection reset by peer');
    expect(outcome.errorLines).toContain('@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @');
    expect(outcome.errorLines.some((line) => line.includes('\r'))).toBe(false);
    expect(feedSplit(byteByByte(stderr), stdout, exitCode).outcome.errorLines).toEqual(outcome.errorLines);
  });

  it('emits a percentage that goes down (a new memory iteration) and skips repeats', () => {
    const { events } = feedSplit(
      ['\rMigration: [ 90 %]\rMigration: [ 90 %]\rMigration: [ 85 %]\rMigration: [ 85 %]\rMigration: [ 95 %]'],
      '\n',
      0,
    );
    expect(percents(events)).toEqual([90, 85, 95]);
  });

  it('keeps text that lost its newline when virsh was killed, and drops a half progress token', () => {
    expect(feedSplit(['\rMigration: [ 31 %]error: Cannot recv data: Connection reset'], '', 137).outcome).toMatchObject(
      {
        status: 'failed',
        errorMessage: 'Cannot recv data: Connection reset',
      },
    );
    const half = feedSplit(['\rMigration: [ 31 %]\rMigration: [ 3'], '', 143);
    expect(half.outcome).toMatchObject({ errorMessage: null, lastPercent: 31 });
    expect(half.outcome.stderr).toBe('\rMigration: [ 31 %]\rMigration: [ 3');
  });

  it('treats a carriage return that starts no progress token as text', () => {
    const { events } = feedSplit(['warning: \rsomething odd\n'], '', 1);
    expect(errorTexts(events)).toEqual(['warning: \rsomething odd']);
  });

  it('understands progress and errors on stdout too (another virsh version)', () => {
    const parser = createMigrateOutputParser();
    expect(parser.pushStdout('\rMigration: [ 50 %]')).toEqual([{ type: 'progress', percent: 50 }]);
    expect(parser.pushStdout('error: boom\n')).toEqual([{ type: 'error-text', message: 'boom' }]);
  });

  it('refuses data after finish() and a second finish()', () => {
    const parser = createMigrateOutputParser();
    parser.finish(0);
    expect(() => parser.pushStderr('x')).toThrow(/after finish/);
    expect(() => parser.finish(0)).toThrow(/twice/);
  });
});
