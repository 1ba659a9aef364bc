/**
 * Captures what the two hosts say about a migration whose virsh client is gone, into
 * server/libvirt/fixtures/migration/reattach/: the inputs of the re-attach decision (server/libvirt/migration/
 * reattach.ts). Also the experiment behind "p2p by default": kill -9 of the `virsh migrate --p2p` client while
 * it runs, then `domjobinfo` on the source.
 *
 *   npm run lab:up && npx tsx e2e/lab/capture-reattach.ts     (root; ~2 minutes; resets the lab's guests)
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

type LabHost = { alias: string; uri: string };

const SCRIPT_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO_DIR = path.resolve(SCRIPT_DIR, '../..');
const LAB_DIR = path.resolve(process.env.FERRY_LAB_DIR ?? path.join(REPO_DIR, '.lab'));
const OUT_DIR = path.join(REPO_DIR, 'server/libvirt/fixtures/migration/reattach');
const hosts = JSON.parse(fs.readFileSync(path.join(LAB_DIR, 'hosts.json'), 'utf8')) as LabHost[];
const hv1 = hosts.find((host) => host.alias === 'hv1') as LabHost;
const hv2 = hosts.find((host) => host.alias === 'hv2') as LabHost;
const FLAGS = ['--live', '--persistent', '--undefinesource', '--copy-storage-all', '--verbose'];
const log: string[] = [];
const t0 = Date.now();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const redact = (text: string) => text.split(LAB_DIR).join('<lab>');
const stamp = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;

function virsh(host: LabHost, ...args: string[]) {
  const argv = ['virsh', '-c', host.uri, ...args];
  const result = spawnSync(argv[0] as string, argv.slice(1), {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LC_ALL: 'C' },
    timeout: 30_000,
  });
  const record = { argv, exitCode: result.status, stdout: result.stdout, stderr: result.stderr };
  log.push(`[${stamp()}] $ ${argv.join(' ')}  → exit ${result.status}\n${result.stdout}${result.stderr}`);
  return record;
}

function save(name: string, record: ReturnType<typeof virsh>, note: string) {
  fs.mkdirSync(OUT_DIR, { recursive: true });
  fs.writeFileSync(path.join(OUT_DIR, `${name}.json`), redact(JSON.stringify({ ...record, note }, null, 2)) + '\n');
  console.log(`  wrote reattach/${name}.json`);
}

function lab(...args: string[]) {
  const result = spawnSync('bash', [path.join(SCRIPT_DIR, 'lab.sh'), ...args], { stdio: 'pipe', encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`lab.sh ${args.join(' ')} failed: ${result.stderr}`);
}

/** `virsh migrate` in its own process group, so kill -9 can hit the client (and its ssh) and nothing else. */
function startMigrate(extra: string[]) {
  const argv = ['-c', hv1.uri, 'migrate', ...FLAGS, ...extra, 'vm1', hv2.uri];
  const child = spawn('virsh', argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr.on('data', (data: Buffer) => (output += data.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  log.push(`[${stamp()}] started virsh ${argv.join(' ')} (pid ${child.pid})`);
  return { child, exited, output: () => output };
}

async function waitSourceIdle(limitMs: number) {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    const info = virsh(hv1, 'domjobinfo', 'vm1');
    if (info.exitCode !== 0 || /Job type:\s+None/.test(info.stdout)) return;
    await sleep(1000);
  }
  throw new Error('the source job did not end in time');
}

async function p2pClientKilled() {
  console.log('p2p: kill -9 of the virsh client mid-migration');
  lab('reset');
  const run = startMigrate(['--p2p', '--bandwidth', '8']);
  await sleep(3000);
  save('p2p-running.domjobinfo-source', virsh(hv1, 'domjobinfo', 'vm1'), 'source, p2p migration running');
  save('p2p-running.domstate-source', virsh(hv1, 'domstate', 'vm1', '--reason'), 'source, p2p migration running');
  save('p2p-running.domstate-destination', virsh(hv2, 'domstate', 'vm1', '--reason'), 'destination, incoming');
  process.kill(-(run.child.pid as number), 'SIGKILL');
  log.push(`[${stamp()}] kill -9 -${run.child.pid} (virsh client and its ssh)`);
  await run.exited;
  await sleep(2000);
  save(
    'p2p-client-killed.domjobinfo-source',
    virsh(hv1, 'domjobinfo', 'vm1'),
    'source, 2 s after kill -9 of the p2p virsh client: the job goes on',
  );
  await waitSourceIdle(90_000);
  save('p2p-done.domjobinfo-source', virsh(hv1, 'domjobinfo', 'vm1'), 'source after the p2p job ended');
  save('p2p-done.completed-source', virsh(hv1, 'domjobinfo', 'vm1', '--completed'), 'source, --undefinesource');
  save('p2p-done.domstate-source', virsh(hv1, 'domstate', 'vm1', '--reason'), 'source after success');
  save('p2p-done.completed-destination', virsh(hv2, 'domjobinfo', 'vm1', '--completed'), 'destination');
  save('p2p-done.domstate-destination', virsh(hv2, 'domstate', 'vm1', '--reason'), 'destination after success');
}

async function nativeClientKilled() {
  console.log('client-driven (no --p2p): kill -9 of the virsh client mid-migration');
  lab('reset');
  const run = startMigrate(['--bandwidth', '8']);
  await sleep(3000);
  process.kill(-(run.child.pid as number), 'SIGKILL');
  log.push(`[${stamp()}] kill -9 -${run.child.pid} (virsh client and its ssh)`);
  await run.exited;
  await sleep(3000);
  save('native-client-killed.domjobinfo-source', virsh(hv1, 'domjobinfo', 'vm1'), 'source, 3 s after kill -9');
  save('native-client-killed.completed-source', virsh(hv1, 'domjobinfo', 'vm1', '--completed'), 'source');
  save('native-client-killed.domstate-source', virsh(hv1, 'domstate', 'vm1', '--reason'), 'source');
  save('native-client-killed.domstate-destination', virsh(hv2, 'domstate', 'vm1', '--reason'), 'destination');
}

async function p2pAborted() {
  console.log('p2p: domjobabort');
  lab('reset');
  const run = startMigrate(['--p2p', '--bandwidth', '8']);
  await sleep(3000);
  virsh(hv1, 'domjobabort', 'vm1');
  const code = await run.exited;
  log.push(`[${stamp()}] virsh migrate exited ${code}: ${JSON.stringify(run.output())}`);
  save('p2p-aborted.domjobinfo-source', virsh(hv1, 'domjobinfo', 'vm1'), 'source after domjobabort');
  save('p2p-aborted.completed-source', virsh(hv1, 'domjobinfo', 'vm1', '--completed'), 'source after abort');
  save('p2p-aborted.domstate-source', virsh(hv1, 'domstate', 'vm1', '--reason'), 'source after abort');
  save('p2p-aborted.domstate-destination', virsh(hv2, 'domstate', 'vm1', '--reason'), 'destination after abort');
}

async function p2pDestinationDown() {
  console.log('p2p: destination libvirtd stopped mid-migration');
  lab('reset');
  const run = startMigrate(['--p2p', '--bandwidth', '8']);
  await sleep(3000);
  lab('stop', 'hv2', 'libvirtd');
  log.push(`[${stamp()}] lab.sh stop hv2 libvirtd`);
  await sleep(3000);
  save('p2p-dest-down.domjobinfo-source', virsh(hv1, 'domjobinfo', 'vm1'), 'source, 3 s after hv2 libvirtd stopped');
  save('p2p-dest-down.domstate-destination', virsh(hv2, 'domstate', 'vm1', '--reason'), 'destination libvirtd down');
  const ended = await Promise.race([run.exited, sleep(40_000).then(() => 'still running after 40 s')]);
  log.push(`[${stamp()}] virsh migrate: ${String(ended)}: ${JSON.stringify(run.output())}`);
  if (typeof ended === 'string') {
    virsh(hv1, 'domjobabort', 'vm1');
    process.kill(-(run.child.pid as number), 'SIGKILL');
  }
  save('p2p-dest-down.completed-source', virsh(hv1, 'domjobinfo', 'vm1', '--completed'), 'source afterwards');
  save('p2p-dest-down.domstate-source', virsh(hv1, 'domstate', 'vm1', '--reason'), 'source afterwards');
  lab('heal');
}

try {
  await p2pClientKilled();
  await nativeClientKilled();
  await p2pAborted();
  await p2pDestinationDown();
} finally {
  fs.mkdirSync(OUT_DIR, { recursive: true });
  fs.writeFileSync(path.join(OUT_DIR, 'session.log'), redact(log.join('\n')) + '\n');
  lab('reset');
}
