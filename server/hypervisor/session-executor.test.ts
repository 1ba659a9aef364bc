import { afterEach, describe, expect, it } from 'vitest';
import { canRunInSession, createSessionExecutor, type SessionExecutor } from './session-executor';
import { HOSTILE_NAMES_URI, expectVirshError } from './test-support';

const executors: SessionExecutor[] = [];
function open(uri = 'test:///default'): SessionExecutor {
  const executor = createSessionExecutor({ uri });
  executors.push(executor);
  return executor;
}
afterEach(async () => {
  for (const executor of executors.splice(0)) await executor.close();
});

describe('canRunInSession', () => {
  it('sends plain queries to the session', () => {
    expect(canRunInSession(['list', '--all'])).toBe(true);
    expect(canRunInSession(['dominfo', '--domain', `a b'c"d;$(x)`])).toBe(true);
    expect(canRunInSession(['domstats', '--raw', '--', '--help'])).toBe(true);
  });

  it('keeps session-changing, interactive and long-running commands out', () => {
    for (const args of [
      ['connect', 'qemu:///system'],
      ['quit'],
      ['cd', '/'],
      ['console', 'vm'],
      ['net-edit', 'default'],
      ['migrate', 'vm', 'qemu+ssh://h/system'],
      ['event', '--loop'],
    ]) {
      expect(canRunInSession(args), args.join(' ')).toBe(false);
    }
  });

  it('keeps global options and line-unsafe arguments out', () => {
    expect(canRunInSession(['-r', 'list'])).toBe(false);
    expect(canRunInSession(['--readonly', 'list'])).toBe(false);
    expect(canRunInSession(['dominfo', 'tab\tname'])).toBe(false);
    expect(canRunInSession([])).toBe(false);
  });
});

describe('createSessionExecutor', () => {
  it('runs queries in one long-lived session', async () => {
    const executor = open();
    expect((await executor.run(['domstate', 'test'])).stdout).toBe('running\n\n');
    const pid = executor.session.pid;
    expect(pid).not.toBeNull();
    expect((await executor.run(['list', '--name'])).stdout).toBe('test\n\n');
    expect(executor.session.pid).toBe(pid);
  });

  it('runs streaming commands as one-shot processes, never in the session', async () => {
    const executor = open();
    const chunks: string[] = [];
    const result = await executor.run(['dumpxml', 'test'], { onStdout: (chunk) => chunks.push(chunk) });
    expect(chunks.join('')).toBe(result.stdout);
    expect(result.stdout).toContain('<name>test</name>');
    expect(executor.session.pid).toBeNull();
  });

  it('falls back to a one-shot process for a VM name with a tab', async () => {
    const executor = open(HOSTILE_NAMES_URI);
    const { stdout } = await executor.run(['dominfo', '--domain', 'tab\tname']);
    expect(stdout).toMatch(/^Name:\s+tab\tname$/m);
    expect(executor.session.pid).toBeNull();
  });

  it('keeps batch results in order when some commands need a one-shot process', async () => {
    const executor = open(HOSTILE_NAMES_URI);
    const results = await executor.runBatch([
      ['domstate', 'plain'],
      ['domstate', '--domain', 'tab\tname'],
      ['domstate', 'missing'],
      ['domstate', '--domain', 'new\nline'],
    ]);
    expect(results.map((item) => (item.ok ? item.result.stdout : item.error.kind))).toEqual([
      'running\n\n',
      'running\n\n',
      'exit',
      'running\n\n',
    ]);
  });

  it('runs a batch as one non-interactive virsh while no session process runs, and leaves the session unstarted', async () => {
    const executor = open();
    const results = await executor.runBatch([
      ['domstate', 'test'],
      ['list', '--name'],
    ]);
    expect(results.map((item) => (item.ok ? item.result.stdout : item.error.message))).toEqual([
      'running\n\n',
      'test\n\n',
    ]);
    expect(executor.session.pid).toBeNull();
  });

  it('keeps a remote host’s batch in the session, whose one connection is cheaper than a second one', async () => {
    // Nothing listens there: the failure says which path ran (the session's words, not a one-shot's exit).
    const local = open('test:///nonexistent/ferry-no-such-host.xml');
    const remote = open('test+tcp://127.0.0.1:9/default');
    const batch = [['list'], ['nodeinfo']];
    const [localResult] = await local.runBatch(batch);
    const [remoteResult] = await remote.runBatch(batch);
    expect(localResult?.ok ? 'ok' : localResult?.error.message).toMatch(/ list exited with 1: /);
    expect(remoteResult?.ok ? 'ok' : remoteResult?.error.message).toMatch(/virsh session exited/);
  });

  it('refuses a batch once closed, also while no session process runs', async () => {
    const executor = open();
    await executor.close();
    const results = await executor.runBatch([
      ['domstate', 'test'],
      ['list', '--name'],
    ]);
    expect(results.map((item) => (item.ok ? 'ok' : item.error.message))).toEqual([
      'virsh -c test:///default domstate test: virsh session is closed',
      'virsh -c test:///default list --name: virsh session is closed',
    ]);
  });

  it('runs a batch in the running session, so it sees what the session changed on the test driver', async () => {
    const executor = open();
    // The test driver keeps its state per virsh process: a one-shot virsh would still see the domain running.
    await executor.run(['destroy', 'test']);
    const pid = executor.session.pid;
    expect(pid).not.toBeNull();
    const results = await executor.runBatch([
      ['domstate', 'test'],
      ['list', '--all', '--name'],
    ]);
    expect(results.map((item) => (item.ok ? item.result.stdout : item.error.message))).toEqual([
      'shut off\n\n',
      'test\n\n',
    ]);
    expect(executor.session.pid).toBe(pid);
  });

  it('reports session failures as VirshError', async () => {
    const executor = open();
    const error = await expectVirshError(executor.run(['dominfo', 'nope']));
    expect(error.kind).toBe('exit');
    expect(error.stderr).toContain("failed to get domain 'nope'");
  });
});
