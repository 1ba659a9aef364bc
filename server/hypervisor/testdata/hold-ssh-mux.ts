/**
 * A stand-in for the Ferry server in ssh-mux.test.ts: starts the shared ssh connection for a URI, prints the
 * master's PID once it has logged in, and waits to be killed.
 *   node --import tsx --conditions=react-server server/hypervisor/testdata/hold-ssh-mux.ts <uri> <known_hosts>
 */
import { createSshMux } from '../ssh-mux';

const [uri = '', knownHosts = ''] = process.argv.slice(2);
const mux = createSshMux(uri, { sshOptions: ['-o', `UserKnownHostsFile=${knownHosts}`] });
void mux?.ready().then((up) => console.log(up ? `master ${mux.masterPid}` : 'no master'));
setInterval(() => undefined, 1000);
