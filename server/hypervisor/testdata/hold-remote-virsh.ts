/**
 * A stand-in for the Ferry server in ssh-executor.test.ts: runs one long-running remote virsh through the ssh
 * executor, prints "started" once it runs, and waits to be killed.
 *   node --import tsx --conditions=react-server hold-remote-virsh.ts '<json SshExecutorOptions>' <token>
 */
import { createSshExecutor, type SshExecutorOptions } from '../ssh-executor';

const options = JSON.parse(process.argv[2] ?? '{}') as SshExecutorOptions;
const token = process.argv[3] ?? '0';
const executor = createSshExecutor(options);
void executor
  .run(['event', '--all', '--loop', '--timeout', token], { timeoutMs: 600_000 })
  .catch(() => undefined);
console.log('started');
setInterval(() => undefined, 1000);
