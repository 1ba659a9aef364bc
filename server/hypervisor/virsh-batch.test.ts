import { describe, expect, it } from 'vitest';
import { createLocalExecutor } from './local-executor';
import {
  HOSTILE_NAMES_URI,
  HOSTILE_VM_NAMES,
  isProcessAlive,
  makeHangingVirsh,
  recordingExecutor,
  waitFor,
} from './test-support';
import type { Executor } from './executor';
import { MAX_LINE_BYTES, runOneShotBatch, splitAnswers, splitStdout } from './virsh-batch';

const oneShot = (uri = 'test:///default', virshPath?: string) => createLocalExecutor({ uri, virshPath });

function outcomes(results: Awaited<ReturnType<typeof runOneShotBatch>>) {
  return results.map((item) => (item.ok ? item.result.stdout : `${item.error.kind}: ${item.error.stderr.trim()}`));
}

describe('splitAnswers', () => {
  it('cuts each command out of the two streams at its own markers', () => {
    // What virsh prints for `domstate test ; echo --err A ; echo A ; dominfo nope ; echo --err B ; echo B`.
    const stdout = 'running\n\n\nA\n\n\nB\n';
    const stderr = "error: A\nerror: failed to get domain 'nope'\nerror: B\n";
    expect(splitAnswers(stdout, stderr, ['A', 'B'])).toEqual([
      { stdout: 'running\n\n', stderr: '' },
      { stdout: '\n', stderr: "error: failed to get domain 'nope'\n" },
    ]);
  });

  it('gives null from the first command whose markers are missing (virsh stopped there)', () => {
    expect(splitAnswers('x\n\nA\npartial', 'error: A\n', ['A', 'B', 'C'])).toEqual([
      { stdout: 'x\n', stderr: '' },
      null,
      null,
    ]);
  });

  it('does not take a marker that only ends a line of error text as the command boundary', () => {
    // "error: B" inside a longer line is not the marker line; the real one follows.
    const stderr = 'error: something error: B\nerror: B\n';
    expect(splitAnswers('\nB\n', stderr, ['B'])).toEqual([{ stdout: '', stderr: 'error: something error: B\n' }]);
  });
});

describe('splitStdout', () => {
  it('cuts each command at its one marker, also one whose output has no final newline', () => {
    expect(splitStdout('running\n\nA\npartialB\n', ['A', 'B'])).toEqual(['running\n\n', 'partial']);
  });

  it('gives null when a marker is missing', () => {
    expect(splitStdout('running\n\nA\n', ['A', 'B'])).toBeNull();
  });
});

/** A real one-shot virsh that keeps the line it was given each time (how many runs, how many markers). */
function recording(uri = 'test:///default'): { executor: Executor; lines: string[] } {
  const { executor, ran } = recordingExecutor(oneShot(uri));
  return { executor, lines: ran };
}

const count = (text: string, word: string) => text.split(word).length - 1;

describe('runOneShotBatch marker framing', () => {
  it('runs a line of reads once with one marker per command when nothing fails', async () => {
    const { executor, lines } = recording();
    const commands = [['domblklist', '--details', 'test'], ['nodeinfo'], ['list', '--all', '--uuid', '--name']];
    const results = await runOneShotBatch({ oneShot: executor, uri: 'test:///default', commands });
    const single = await Promise.all(commands.map((args) => oneShot().run(args)));
    expect(outcomes(results)).toEqual(single.map((result) => result.stdout));
    expect(lines).toHaveLength(1);
    expect(count(lines[0]!, ' echo ')).toBe(3);
    expect(count(lines[0]!, 'echo --err')).toBe(0);
  });

  it('runs a line of reads again with both markers when one of them failed, and places the error', async () => {
    const { executor, lines } = recording();
    const commands = [
      ['domstate', 'test'],
      ['dominfo', 'nope'],
      ['list', '--name'],
    ];
    const results = await runOneShotBatch({ oneShot: executor, uri: 'test:///default', commands });
    expect(outcomes(results)).toEqual(['running\n\n', "exit: error: failed to get domain 'nope'", 'test\n\n']);
    expect(lines).toHaveLength(2);
    expect(count(lines[1]!, 'echo --err')).toBe(3);
  });

  it('runs a line that changes anything once, with both markers', async () => {
    const { executor, lines } = recording();
    const commands = [
      ['domstate', 'test'],
      ['suspend', 'test'],
      ['domstate', 'test'],
    ];
    const results = await runOneShotBatch({ oneShot: executor, uri: 'test:///default', commands });
    expect(outcomes(results)).toEqual(['running\n\n', "Domain 'test' suspended\n\n", 'paused\n\n']);
    expect(lines).toHaveLength(1);
    expect(count(lines[0]!, 'echo --err')).toBe(3);
  });

  it('does not run a line of reads twice when virsh cannot connect at all', async () => {
    const uri = 'test:///nonexistent/ferry-no-such-file.xml';
    const { executor, lines } = recording(uri);
    const results = await runOneShotBatch({ oneShot: executor, uri, commands: [['list'], ['nodeinfo']] });
    expect(results.map((item) => item.ok)).toEqual([false, false]);
    expect(lines).toHaveLength(1);
  });
});

describe('runOneShotBatch on the test driver', () => {
  it('answers every command in order, a failed one with its own error and the rest unharmed', async () => {
    const results = await runOneShotBatch({
      oneShot: oneShot(),
      uri: 'test:///default',
      commands: [
        ['domstate', 'test'],
        ['dominfo', 'nope'],
        ['list', '--name'],
      ],
    });
    expect(outcomes(results)).toEqual(['running\n\n', "exit: error: failed to get domain 'nope'", 'test\n\n']);
  });

  it('gives byte-identical output to one virsh per command', async () => {
    const executor = oneShot();
    const commands = [['domblklist', '--details', 'test'], ['nodeinfo'], ['list', '--all', '--uuid', '--name']];
    const batch = await runOneShotBatch({ oneShot: executor, uri: 'test:///default', commands });
    const single = await Promise.all(commands.map((args) => executor.run(args)));
    expect(outcomes(batch)).toEqual(single.map((result) => result.stdout));
  });

  it('passes hostile VM names through the one virsh line verbatim', async () => {
    const results = await runOneShotBatch({
      oneShot: oneShot(HOSTILE_NAMES_URI),
      uri: HOSTILE_NAMES_URI,
      commands: HOSTILE_VM_NAMES.map((name) => ['domstate', '--domain', name]),
    });
    expect(outcomes(results)).toEqual(HOSTILE_VM_NAMES.map(() => 'running\n\n'));
  });

  it('splits a batch of multi-byte names by bytes, not characters', async () => {
    // 450 lookups of a 120-character CJK name: under the limit counted in characters, far over it in UTF-8 bytes,
    // where one argument that long would not even start (E2BIG).
    const name = '日本'.repeat(60);
    const commands = Array.from({ length: 450 }, () => ['domstate', '--domain', name]);
    const framed = `'domstate' '--domain' '${name}' ; echo --err 0123456789abcdef ; echo 0123456789abcdef`;
    expect(commands.length * framed.length).toBeLessThan(MAX_LINE_BYTES);
    expect(commands.length * Buffer.byteLength(framed)).toBeGreaterThan(128 * 1024);
    const results = await runOneShotBatch({ oneShot: oneShot(), uri: 'test:///default', commands });
    expect(new Set(outcomes(results))).toEqual(new Set([`exit: error: failed to get domain '${name}'`]));
  });

  it('splits a batch longer than one argument may be into several virsh runs', async () => {
    const commands = Array.from({ length: 3000 }, () => ['domstate', 'test']);
    const framed = commands.length * "'domstate' 'test' ; echo --err 0123456789abcdef ; echo 0123456789abcdef".length;
    expect(framed).toBeGreaterThan(MAX_LINE_BYTES);
    const results = await runOneShotBatch({ oneShot: oneShot(), uri: 'test:///default', commands });
    expect(results).toHaveLength(3000);
    expect(new Set(outcomes(results))).toEqual(new Set(['running\n\n']));
  });

  it('fails every command with virsh’s own words when it cannot connect', async () => {
    const uri = 'test:///nonexistent/ferry-no-such-file.xml';
    const results = await runOneShotBatch({ oneShot: oneShot(uri), uri, commands: [['list'], ['nodeinfo']] });
    expect(results.map((item) => item.ok)).toEqual([false, false]);
    for (const item of results) {
      if (item.ok) continue;
      expect(item.error.kind).toBe('exit');
      expect(item.error.argv).not.toContain('list ; nodeinfo');
      expect(item.error.stderr).toMatch(/ferry-no-such-file/);
    }
  });

  it('fails every command as timed out when virsh does not answer in time, and leaves no process behind', async () => {
    const hanging = await makeHangingVirsh();
    try {
      const results = await runOneShotBatch({
        oneShot: oneShot('test:///default', hanging.path),
        uri: 'test:///default',
        commands: [['list'], ['nodeinfo']],
        runOptions: { timeoutMs: 300 },
      });
      expect(results.map((item) => (item.ok ? 'ok' : item.error.kind))).toEqual(['timeout', 'timeout']);
      const pids = await hanging.readPids();
      await waitFor(() => pids.every((pid) => !isProcessAlive(pid)), { what: 'the hanging virsh and its child gone' });
    } finally {
      await hanging.cleanup();
    }
  });
});
