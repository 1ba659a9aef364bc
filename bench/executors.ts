import { createLocalExecutor } from '../server/hypervisor/local-executor';
import { createSessionExecutor } from '../server/hypervisor/session-executor';
import { createSshExecutor, type SshExecutorOptions } from '../server/hypervisor/ssh-executor';
import { startTestSshd } from '../server/testing/sshd';

const CALLS = 100;
const COMMAND = ['domstate', 'test'];

/**
 * 100 sequential `virsh domstate test` calls against a real sshd on 127.0.0.1 (virsh runs the test driver
 * on the "host"): once through one pooled ssh2 connection, once with a new SSH connection per call.
 * `pooledMs` and `perCommandMs` are the totals for the 100 calls (the pooled total includes its one
 * connect); `ratio` is perCommandMs / pooledMs. `batchMs`: the same 100 as one batch on the open pooled
 * connection (one remote virsh); `batchRatio` is pooledMs / batchMs. Needs root (sshd), like the tests.
 */
export async function benchSshPool(): Promise<{
  pooledMs: number;
  perCommandMs: number;
  ratio: number;
  batchMs: number;
  batchRatio: number;
}> {
  const sshd = await startTestSshd();
  try {
    const options: SshExecutorOptions = { ...sshd.login, remoteUri: 'test:///default' };

    const pooled = createSshExecutor(options);
    let startedAt = performance.now();
    let batchMs: number;
    try {
      for (let call = 0; call < CALLS; call++) await pooled.run(COMMAND);
      // The same calls as one batch on the connection already open: one remote virsh for all of them.
      const batchStartedAt = performance.now();
      const answers = await pooled.runBatch(Array.from({ length: CALLS }, () => COMMAND));
      batchMs = performance.now() - batchStartedAt;
      if (!answers.every((answer) => answer.ok && answer.result.stdout.trim() === 'running'))
        throw new Error('the batch did not answer every domstate with "running"');
    } finally {
      await pooled.close();
    }
    const pooledMs = performance.now() - startedAt - batchMs;

    startedAt = performance.now();
    for (let call = 0; call < CALLS; call++) {
      const fresh = createSshExecutor(options);
      try {
        await fresh.run(COMMAND);
      } finally {
        await fresh.close();
      }
    }
    const perCommandMs = performance.now() - startedAt;

    return { pooledMs, perCommandMs, ratio: perCommandMs / pooledMs, batchMs, batchRatio: pooledMs / batchMs };
  } finally {
    await sshd.stop();
  }
}

/**
 * The same 100 sequential calls on this machine: one `virsh` process per call (local executor) against
 * one long-lived interactive virsh (session executor), plus one pipelined batch of 100 in the session.
 * Times are per call, in ms; the session's start-up is paid before the timer (it is paid once per host).
 */
export async function benchSessionVsOneShot(): Promise<{
  oneShotMsPerCall: number;
  sessionMsPerCall: number;
  sessionBatchMsPerCall: number;
  ratio: number;
}> {
  const uri = 'test:///default';
  const oneShot = createLocalExecutor({ uri });
  let startedAt = performance.now();
  for (let call = 0; call < CALLS; call++) await oneShot.run(COMMAND);
  const oneShotMsPerCall = (performance.now() - startedAt) / CALLS;

  const session = createSessionExecutor({ uri });
  try {
    await session.run(COMMAND);
    startedAt = performance.now();
    for (let call = 0; call < CALLS; call++) await session.run(COMMAND);
    const sessionMsPerCall = (performance.now() - startedAt) / CALLS;

    startedAt = performance.now();
    const results = await session.runBatch(Array.from({ length: CALLS }, () => COMMAND));
    const sessionBatchMsPerCall = (performance.now() - startedAt) / CALLS;
    if (!results.every((item) => item.ok)) throw new Error('a batched call failed');

    return { oneShotMsPerCall, sessionMsPerCall, sessionBatchMsPerCall, ratio: oneShotMsPerCall / sessionMsPerCall };
  } finally {
    await session.close();
  }
}
