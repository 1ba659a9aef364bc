import { afterEach, describe, expect, it } from 'vitest';
import { createLocalExecutor } from './local-executor';
import { HOSTILE_NAMES_URI, HOSTILE_VM_NAMES, expectVirshError, isProcessAlive, waitFor } from './test-support';
import { createVirshSession, freshNonces, type VirshSession } from './virsh-session';

const sessions: VirshSession[] = [];
function openSession(uri = 'test:///default', defaultTimeoutMs?: number): VirshSession {
  const session = createVirshSession({ uri, defaultTimeoutMs });
  sessions.push(session);
  return session;
}
afterEach(async () => {
  for (const session of sessions.splice(0)) await session.close();
});

/** A command that never ends on the test driver: it waits for domain events that never come. */
const HANGING_COMMAND = ['event', '--all', '--loop'];

describe('virsh session on the test driver', () => {
  it('answers a single command without further input, so virsh flushes each answer on a pipe', async () => {
    const session = openSession();
    const result = await session.run(['domstate', 'test']);
    expect(result).toEqual({ stdout: 'running\n\n', stderr: '', exitCode: 0 });
  });

  it('returns byte-identical output to one-shot virsh', async () => {
    const session = openSession();
    const oneShot = createLocalExecutor({ uri: 'test:///default' });
    // Not dominfo: the test driver derives its CPU time from the clock.
    const commands = [
      ['list', '--all'],
      ['dumpxml', 'test'],
      ['nodeinfo'],
      ['domstate', '--reason', 'test'],
      ['net-list', '--all'],
      ['domblklist', 'test'],
      ['dominfo', '--help'],
    ];
    for (const args of commands) {
      const [fromSession, fromProcess] = await Promise.all([session.run(args), oneShot.run(args)]);
      expect(fromSession, args.join(' ')).toEqual(fromProcess);
    }
  });

  it('runs many commands in one process', async () => {
    const session = openSession();
    await session.run(['domstate', 'test']);
    const pid = session.pid;
    expect(pid).not.toBeNull();
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, index) => session.run(['echo', '--', `call ${index}`])),
    );
    results.forEach((result, index) => expect(result.stdout).toBe(`call ${index}\n`));
    expect(session.pid).toBe(pid);
  });

  it('runs an urgent command ahead of the ordinary ones waiting, behind the urgent ones before it', async () => {
    const session = openSession();
    await session.run(['domstate', 'test']);
    const finished: string[] = [];
    const call = (label: string, urgent?: boolean) =>
      session.run(['echo', '--', label], { urgent }).then((result) => finished.push(result.stdout.trim()));
    // The first one runs at once; the rest queue behind it in the order given.
    await Promise.all([
      call('first'),
      call('ordinary-1'),
      call('urgent-1', true),
      call('ordinary-2'),
      call('urgent-2', true),
    ]);
    expect(finished).toEqual(['first', 'urgent-1', 'urgent-2', 'ordinary-1', 'ordinary-2']);
  });

  it('pipelines a batch and gives each command its own result, failures included', async () => {
    const session = openSession();
    const commands = Array.from({ length: 150 }, (_, index) =>
      index % 3 === 2 ? ['dominfo', `missing-${index}`] : ['echo', '--', `item-${index}`],
    );
    const results = await session.runBatch(commands);
    expect(results).toHaveLength(150);
    results.forEach((item, index) => {
      if (index % 3 === 2) {
        expect(item.ok).toBe(false);
        if (item.ok) return;
        expect(item.error.kind).toBe('exit');
        expect(item.error.stderr).toBe(`error: failed to get domain 'missing-${index}'\n`);
        expect(item.error.argv).toEqual(['virsh', '-c', 'test:///default', 'dominfo', `missing-${index}`]);
      } else {
        expect(item).toEqual({ ok: true, result: { stdout: `item-${index}\n`, stderr: '', exitCode: 0 } });
      }
    });
  });

  it('detects failures from stderr: unknown domain, unknown command, bad option', async () => {
    const session = openSession();
    const missing = await expectVirshError(session.run(['dominfo', 'no-such-vm']));
    expect(missing).toMatchObject({ kind: 'exit', exitCode: 1 });
    expect(missing.message).toContain("failed to get domain 'no-such-vm'");
    const unknown = await expectVirshError(session.run(['no-such-command']));
    expect(unknown.stderr).toContain("unknown command: 'no-such-command'");
    const badOption = await expectVirshError(session.run(['dominfo', '--bogus', 'test']));
    expect(badOption.stderr).toContain('--bogus');
    // The session is still in step after the failures.
    expect((await session.run(['domstate', 'test'])).stdout).toBe('running\n\n');
  });

  it('reports a URI it cannot connect to with virsh stderr', async () => {
    const session = openSession('test:///nonexistent/ferry-host.xml');
    const error = await expectVirshError(session.run(['list']));
    expect(error.kind).toBe('connection');
    expect(error.stderr).toContain('failed to connect to the hypervisor');
  });
});

describe('virsh session quoting', () => {
  it('finds VMs with hostile names and keeps `--help` a value after `--domain` and `--`', async () => {
    const session = openSession(HOSTILE_NAMES_URI);
    for (const name of HOSTILE_VM_NAMES) {
      const { stdout } = await session.run(['dominfo', '--domain', name]);
      expect(
        stdout
          .split('\n')
          .find((line) => line.startsWith('Name:'))
          ?.replace(/^Name:\s+/, ''),
      ).toBe(name);
    }
    expect((await session.run(['domstate', '--', '--help'])).stdout).toBe('running\n\n');
  });

  it('never lets an argument start a second command', async () => {
    const session = openSession(HOSTILE_NAMES_URI);
    for (const hostile of [
      'plain; destroy plain',
      "plain'; destroy plain; echo '",
      'plain"; destroy plain; echo "',
      'plain\\; destroy plain',
    ]) {
      const error = await expectVirshError(session.run(['domstate', hostile]));
      expect(error.stderr).toBe(`error: failed to get domain '${hostile}'\n`);
    }
    // The test driver keeps state per connection, so a `destroy` that slipped through would show here.
    expect((await session.run(['domstate', 'plain'])).stdout).toBe('running\n\n');
  });

  it('refuses arguments readline would act on (tab, newline) without touching the session', async () => {
    const session = openSession(HOSTILE_NAMES_URI);
    for (const name of ['tab\tname', 'new\nline', 'kill\u0015line']) {
      const error = await expectVirshError(session.run(['dominfo', name]));
      expect(error.kind).toBe('spawn');
      expect(error.message).toContain('control character');
    }
    expect(session.pid).toBeNull();
  });
});

describe('virsh session recovery', () => {
  it('kills a hanging session at the timeout and starts a new one on the next call', async () => {
    const session = openSession();
    await session.run(['domstate', 'test']);
    const firstPid = session.pid!;
    const error = await expectVirshError(session.run(HANGING_COMMAND, { timeoutMs: 300 }));
    expect(error.kind).toBe('timeout');
    await waitFor(() => !isProcessAlive(firstPid), { what: 'the hung virsh to die' });
    expect((await session.run(['domstate', 'test'])).stdout).toBe('running\n\n');
    expect(session.pid).not.toBe(firstPid);
  });

  it('fails the running command when the session process is killed, then recovers', async () => {
    const session = openSession();
    await session.run(['domstate', 'test']);
    const firstPid = session.pid!;
    const hanging = session.run(HANGING_COMMAND);
    const queued = session.run(['domstate', 'test']);
    process.kill(firstPid, 'SIGKILL');
    const error = await expectVirshError(hanging);
    expect(error.kind).toBe('connection');
    expect(error.message).toContain('virsh session exited (signal SIGKILL)');
    // The command queued behind the dead one runs in a fresh session.
    expect((await queued).stdout).toBe('running\n\n');
    expect(session.pid).not.toBe(firstPid);
  });

  it('recovers after the idle session process is killed', async () => {
    const session = openSession();
    await session.run(['domstate', 'test']);
    const firstPid = session.pid!;
    process.kill(firstPid, 'SIGKILL');
    await waitFor(() => session.pid === null, { what: 'the session to notice the death' });
    expect((await session.run(['domstate', 'test'])).stdout).toBe('running\n\n');
  });

  it('aborts the running command by killing the session, and drops an aborted queued command at once', async () => {
    const session = openSession();
    const running = new AbortController();
    const queued = new AbortController();
    const hanging = session.run(HANGING_COMMAND, { signal: running.signal });
    const waiting = session.run(['domstate', 'test'], { signal: queued.signal });
    queued.abort();
    expect((await expectVirshError(waiting)).message).toContain('aborted while queued');
    await waitFor(() => session.pid !== null, { what: 'the session to start' });
    const pid = session.pid!;
    running.abort();
    expect((await expectVirshError(hanging)).kind).toBe('aborted');
    await waitFor(() => !isProcessAlive(pid), { what: 'the aborted session to die' });
    expect((await session.run(['domstate', 'test'])).stdout).toBe('running\n\n');
  });

  it('closes: ends the process and refuses later commands', async () => {
    const session = openSession();
    await session.run(['domstate', 'test']);
    const pid = session.pid!;
    await session.close();
    expect(isProcessAlive(pid)).toBe(false);
    expect(session.pid).toBeNull();
    expect((await expectVirshError(session.run(['domstate', 'test']))).message).toContain('closed');
    await session.close();
  });
});

describe('freshNonces', () => {
  it('hands out 16 hex characters per marker, never the same twice, across refills of its random pool', () => {
    const seen = new Set<string>();
    // 700 batches of 7 markers use 39 200 random bytes: the 4096-byte pool is refilled several times, and a
    // batch of 600 markers is larger than the pool.
    const batches = [...Array.from({ length: 700 }, () => freshNonces(7)), freshNonces(600), freshNonces(0)];
    for (const nonces of batches)
      for (const nonce of nonces) {
        expect(nonce).toMatch(/^[0-9a-f]{16}$/);
        seen.add(nonce);
      }
    expect(seen.size).toBe(700 * 7 + 600);
  });
});
