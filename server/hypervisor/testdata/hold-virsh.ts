/**
 * A stand-in for the Ferry server in local-executor.test.ts: starts one long-running virsh through the local
 * executor and a virsh session, prints their PIDs, and waits to be killed (kill -9 or SIGTERM).
 *   node --import tsx --conditions=react-server server/hypervisor/testdata/hold-virsh.ts <token>
 */
import { createLocalExecutor } from '../local-executor';
import { startLocalSessionProcess } from '../virsh-session';

const token = process.argv[2] ?? '0';
const executor = createLocalExecutor({ uri: 'test:///default', defaultTimeoutMs: 600_000 });
void executor.run(['event', '--all', '--loop', '--timeout', token]).catch(() => undefined);
startLocalSessionProcess({
  uri: 'test:///default',
  virshPath: 'virsh',
  handlers: { onStdout: () => undefined, onStderr: () => undefined, onExit: () => undefined },
});
console.log('started');
if (process.argv[3] === 'exit-on-term') process.on('SIGTERM', () => process.exit(0));
setInterval(() => undefined, 1000);
