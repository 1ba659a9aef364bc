/**
 * Captures real `virsh migrate` output from the lab into server/libvirt/fixtures/migration/, for the
 * progress, jobinfo and error parsers: every read() of a migration's stdout/stderr with its time offset,
 * `domjobinfo` polled through a migration, and the exact stderr + exit code of the ways a migration fails.
 *
 *   npm run lab:up && npx tsx --conditions=react-server e2e/lab/capture-fixtures.ts
 *     (root; ~2 minutes; resets the lab's guests)
 *
 * Paths under the lab dir are written as `<lab>` and temporary paths as `<tmp>`.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

type LabHost = {
  alias: string;
  ip: string;
  uri: string;
  socketUri: string;
  libsshUri: string;
  keyfile: string;
  knownHosts: string;
};

type Chunk = { t: number; stream: 'stdout' | 'stderr'; data: string };

type RunResult = {
  argv: string[];
  exitCode: number | null;
  stdout: string;
  stderr: string;
  chunks: Chunk[];
  wallSeconds: number;
};

const SCRIPT_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO_DIR = path.resolve(SCRIPT_DIR, '../..');
const LAB_DIR = path.resolve(process.env.FERRY_LAB_DIR ?? path.join(REPO_DIR, '.lab'));
const OUT_DIR = path.join(REPO_DIR, 'server/libvirt/fixtures/migration');
const FAILURES_DIR = path.join(OUT_DIR, 'failures');
const TMP_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-capture-'));
const CLIENT_KNOWN_HOSTS = path.join(os.homedir(), '.ssh', 'known_hosts');

function loadLabHosts(): { hv1: LabHost; hv2: LabHost } {
  const hosts = JSON.parse(fs.readFileSync(path.join(LAB_DIR, 'hosts.json'), 'utf8')) as LabHost[];
  const hv1 = hosts.find((host) => host.alias === 'hv1');
  const hv2 = hosts.find((host) => host.alias === 'hv2');
  if (!hv1 || !hv2) throw new Error(`${LAB_DIR}/hosts.json has no hv1/hv2: is the lab up?`);
  return { hv1, hv2 };
}
const { hv1, hv2 } = loadLabHosts();

const MIGRATE_FLAGS = ['--live', '--persistent', '--undefinesource', '--copy-storage-all', '--verbose'];

function redact(text: string): string {
  return text.split(LAB_DIR).join('<lab>').split(TMP_DIR).join('<tmp>');
}

const round = (seconds: number) => Math.round(seconds * 1000) / 1000;

/** Runs argv with stdin closed (an ssh/libssh prompt must fail, not wait), recording every read(). */
function run(argv: string[], options: { onStart?: (startedAt: number) => void } = {}): Promise<RunResult> {
  const [command, ...args] = argv;
  if (!command) throw new Error('empty argv');
  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    const chunks: Chunk[] = [];
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    const record = (stream: Chunk['stream']) => (buffer: Buffer) => {
      chunks.push({ t: round((performance.now() - startedAt) / 1000), stream, data: buffer.toString('utf8') });
    };
    child.stdout.on('data', record('stdout'));
    child.stderr.on('data', record('stderr'));
    child.on('error', reject);
    child.on('close', (exitCode) => {
      const joined = (stream: Chunk['stream']) =>
        chunks
          .filter((chunk) => chunk.stream === stream)
          .map((chunk) => chunk.data)
          .join('');
      resolve({
        argv,
        exitCode,
        stdout: joined('stdout'),
        stderr: joined('stderr'),
        chunks,
        wallSeconds: round((performance.now() - startedAt) / 1000),
      });
    });
    options.onStart?.(startedAt);
  });
}

/**
 * Runs a setup/cleanup command and fails loudly if it fails: a fixture captured from a wrong setup is worse than
 * none.
 */
async function must(argv: string[]): Promise<string> {
  const result = await run(argv);
  if (result.exitCode !== 0) {
    throw new Error(`setup step failed (${result.exitCode}): ${argv.join(' ')}\n${result.stderr}`);
  }
  return result.stdout;
}

const virsh = (uri: string, ...args: string[]) => ['virsh', '-c', uri, ...args];
const migrate = (options: { from: string; to: string; vm?: string; extra?: string[]; flags?: string[] }) =>
  virsh(
    options.from,
    'migrate',
    ...(options.flags ?? MIGRATE_FLAGS),
    ...(options.extra ?? []),
    options.vm ?? 'vm1',
    options.to,
  );

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function writeJson(file: string, value: unknown) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, redact(JSON.stringify(value, null, 2)) + '\n');
  console.log(`  wrote ${path.relative(REPO_DIR, file)}`);
}

function writeJsonLines(file: string, lines: unknown[]) {
  fs.writeFileSync(file, lines.map((line) => redact(JSON.stringify(line))).join('\n') + '\n');
  console.log(`  wrote ${path.relative(REPO_DIR, file)}`);
}

function commandRecord(result: RunResult, extra: Record<string, unknown> = {}) {
  return {
    argv: result.argv,
    exitCode: result.exitCode,
    stdout: result.stdout,
    stderr: result.stderr,
    wallSeconds: result.wallSeconds,
    ...extra,
  };
}

function writeChunks(name: string, result: RunResult) {
  writeJsonLines(path.join(OUT_DIR, `${name}.chunks.jsonl`), [
    ...result.chunks,
    { t: result.wallSeconds, exitCode: result.exitCode },
  ]);
  writeJson(path.join(OUT_DIR, `${name}.json`), commandRecord(result));
}

async function resetLab() {
  await must(['bash', path.join(SCRIPT_DIR, 'lab.sh'), 'reset']);
}

/** Records one failure case; refuses a success, so a broken setup cannot produce a fixture. */
async function failureCase(name: string, description: string, argv: string[]) {
  const result = await run(argv);
  if (result.exitCode === 0) {
    throw new Error(`case ${name} was expected to fail but exited 0:\n${result.stdout}${result.stderr}`);
  }
  writeJson(path.join(FAILURES_DIR, `${name}.json`), commandRecord(result, { case: name, description }));
  return result;
}

/** Polls `virsh domjobinfo` on the source every ~0.5 s while `running()` holds. */
async function pollJobInfo(uri: string, vm: string, migrationStart: () => number, running: () => boolean) {
  const samples: Record<string, unknown>[] = [];
  while (running()) {
    const tickStart = performance.now();
    const result = await run(virsh(uri, 'domjobinfo', vm));
    samples.push({
      t: round((tickStart - migrationStart()) / 1000),
      exitCode: result.exitCode,
      stdout: result.stdout,
      stderr: result.stderr,
    });
    await sleep(Math.max(0, 500 - (performance.now() - tickStart)));
  }
  return samples;
}

/** `virsh event --all --loop --timestamp` on a host until stop() is called. */
function watchEvents(uri: string) {
  const child = spawn('virsh', ['-c', uri, 'event', '--all', '--loop', '--timestamp'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout.on('data', (buffer: Buffer) => (text += buffer.toString('utf8')));
  return {
    async stop() {
      await sleep(300);
      const closed = new Promise((resolve) => child.on('close', resolve));
      child.kill('SIGTERM');
      await closed;
      return text;
    },
  };
}

async function captureFast() {
  console.log('fast migration hv1 -> hv2 (default bandwidth), completed job stats on both ends');
  await resetLab();
  const result = await run(migrate({ from: hv1.uri, to: hv2.uri }));
  if (result.exitCode !== 0) throw new Error(`fast migration failed: ${result.stderr}`);
  writeChunks('migrate-fast', result);
  writeJson(
    path.join(OUT_DIR, 'domjobinfo-completed-destination.json'),
    commandRecord(await run(virsh(hv2.uri, 'domjobinfo', 'vm1', '--completed'))),
  );
  writeJson(
    path.join(OUT_DIR, 'domjobinfo-completed-source-undefined.json'),
    commandRecord(await run(virsh(hv1.uri, 'domjobinfo', 'vm1', '--completed')), {
      note: 'source after --undefinesource: the domain no longer exists there',
    }),
  );

  console.log('migration that keeps the source definition, then domjobinfo --completed on the source');
  await resetLab();
  const kept = await run(
    migrate({ from: hv1.uri, to: hv2.uri, flags: ['--live', '--persistent', '--copy-storage-all', '--verbose'] }),
  );
  if (kept.exitCode !== 0) throw new Error(`migration without --undefinesource failed: ${kept.stderr}`);
  writeJson(
    path.join(OUT_DIR, 'domjobinfo-completed-source.json'),
    commandRecord(await run(virsh(hv1.uri, 'domjobinfo', 'vm1', '--completed')), {
      note: 'source after a migration without --undefinesource (vm1 stays defined, shut off)',
    }),
  );
}

async function captureBandwidth8() {
  console.log('migration hv1 -> hv2 with --bandwidth 8: chunks, domjobinfo polled on the source, events (~35 s)');
  await resetLab();
  const events1 = watchEvents(hv1.socketUri);
  const events2 = watchEvents(hv2.socketUri);
  await sleep(300);
  let startedAt = 0;
  let running = true;
  const migration = run(migrate({ from: hv1.uri, to: hv2.uri, extra: ['--bandwidth', '8'] }), {
    onStart: (at) => (startedAt = at),
  }).finally(() => (running = false));
  const destinationProbe = sleep(3000).then(() => run(virsh(hv2.uri, 'domjobinfo', 'vm1')));
  const samples = await pollJobInfo(
    hv1.uri,
    'vm1',
    () => startedAt,
    () => running,
  );
  const result = await migration;
  if (result.exitCode !== 0) throw new Error(`bandwidth-8 migration failed: ${result.stderr}`);
  writeChunks('migrate-bw8', result);
  writeJsonLines(path.join(OUT_DIR, 'migrate-bw8.jobinfo-source.jsonl'), samples);
  writeJson(
    path.join(OUT_DIR, 'migrate-bw8.domjobinfo-completed-destination.json'),
    commandRecord(await run(virsh(hv2.uri, 'domjobinfo', 'vm1', '--completed'))),
  );
  const probe = await destinationProbe;
  if (probe.exitCode === 0) throw new Error('domjobinfo on the destination unexpectedly succeeded');
  writeJson(
    path.join(FAILURES_DIR, 'domjobinfo-on-destination.json'),
    commandRecord(probe, {
      case: 'domjobinfo-on-destination',
      description: 'domjobinfo on the destination during a migration',
    }),
  );
  fs.writeFileSync(path.join(OUT_DIR, 'migrate-bw8.events-hv1.txt'), redact(await events1.stop()));
  fs.writeFileSync(path.join(OUT_DIR, 'migrate-bw8.events-hv2.txt'), redact(await events2.stop()));
  console.log('  wrote migrate-bw8.events-hv1.txt, migrate-bw8.events-hv2.txt');
}

async function captureAbort() {
  console.log('migration with --bandwidth 8 aborted by domjobabort after ~5 s');
  await resetLab();
  const migration = run(migrate({ from: hv1.uri, to: hv2.uri, extra: ['--bandwidth', '8'] }));
  await sleep(5000);
  const abort = await run(virsh(hv1.uri, 'domjobabort', 'vm1'));
  const result = await migration;
  if (abort.exitCode !== 0) throw new Error(`domjobabort failed: ${abort.stderr}`);
  if (result.exitCode === 0) throw new Error('aborted migration exited 0');
  writeChunks('migrate-abort', result);
  writeJson(path.join(OUT_DIR, 'domjobabort.json'), commandRecord(abort));
  writeJson(path.join(OUT_DIR, 'migrate-abort.after.json'), {
    note: 'state right after the aborted migration: the guest still runs on the source; the destination keeps the copied volume',
    sourceList: await must(virsh(hv1.socketUri, 'list', '--all')),
    destinationList: await must(virsh(hv2.socketUri, 'list', '--all')),
    destinationVolumes: await must(virsh(hv2.socketUri, 'vol-list', 'default')),
  });
  await resetLab();
  await failureCase('domjobabort-no-job', 'domjobabort when no job runs', virsh(hv1.uri, 'domjobabort', 'vm1'));
}

async function captureConcurrent() {
  console.log('a second migrate of the same guest while a first (--bandwidth 16) runs');
  await resetLab();
  const first = run(migrate({ from: hv1.uri, to: hv2.uri, extra: ['--bandwidth', '16'] }));
  await sleep(2500);
  await failureCase(
    'concurrent-second-migrate',
    'a second migrate of vm1 while one runs',
    migrate({ from: hv1.uri, to: hv2.uri }),
  );
  const result = await first;
  if (result.exitCode !== 0) throw new Error(`first of the concurrent migrations failed: ${result.stderr}`);
  writeChunks('migrate-concurrent-first', result);
}

/** Temporarily edits the Ferry box's known_hosts line for hv2 (a lab line), restoring it afterwards. */
async function withClientKnownHosts(transform: (line: string) => string | null, body: () => Promise<void>) {
  const original = fs.readFileSync(CLIENT_KNOWN_HOSTS, 'utf8');
  const lines = original.split('\n');
  const index = lines.findIndex((line) => line.startsWith(`${hv2.ip} `) && line.endsWith(' ferry-lab-hv2'));
  if (index < 0) throw new Error(`${CLIENT_KNOWN_HOSTS} has no lab line for ${hv2.ip}: is the lab up?`);
  const replaced = transform(lines[index]!);
  const edited = [...lines.slice(0, index), ...(replaced === null ? [] : [replaced]), ...lines.slice(index + 1)];
  fs.writeFileSync(CLIENT_KNOWN_HOSTS, edited.join('\n'));
  try {
    await body();
  } finally {
    fs.writeFileSync(CLIENT_KNOWN_HOSTS, original);
  }
}

async function withDestinationVm(options: { uuid: string; start: boolean }, body: () => Promise<void>) {
  const xml = (await must(virsh(hv1.socketUri, 'dumpxml', '--inactive', 'vm1'))).replace(
    /<uuid>[^<]+<\/uuid>/,
    `<uuid>${options.uuid}</uuid>`,
  );
  const file = path.join(TMP_DIR, 'vm1-clash.xml');
  fs.writeFileSync(file, xml);
  await must(virsh(hv2.socketUri, 'vol-create-as', 'default', 'vm1.qcow2', '256M', '--format', 'qcow2'));
  await must(virsh(hv2.socketUri, 'define', file));
  if (options.start) await must(virsh(hv2.socketUri, 'start', 'vm1'));
  try {
    await body();
  } finally {
    await resetLab();
  }
}

async function captureFailures() {
  console.log('failure cases');
  await resetLab();
  const keyParam = `keyfile=${hv1.keyfile}`;
  const hv2At = (authority: string, pathAndQuery = `/system?${keyParam}`) => `qemu+ssh://${authority}${pathAndQuery}`;

  await failureCase(
    'no-such-domain',
    'migrate a domain the source does not have',
    migrate({ from: hv1.uri, to: hv2.uri, vm: 'nosuchvm' }),
  );
  await failureCase('same-host', 'destination URI is the source host', migrate({ from: hv1.uri, to: hv1.uri }));
  await failureCase(
    'dest-port-closed',
    'destination ssh port with nothing listening (hv2:2222)',
    migrate({ from: hv1.uri, to: hv2At(`root@${hv2.ip}:2222`) }),
  );
  await failureCase(
    'dest-no-route',
    'destination address on the lab bridge with no host behind it (ARP fails after ~3 s)',
    migrate({ from: hv1.uri, to: hv2At(`root@${hv2.ip.replace(/\.\d+$/, '.99')}`) }),
  );
  await failureCase(
    'source-port-closed',
    'source ssh port with nothing listening (hv1:2222)',
    migrate({ from: `qemu+ssh://root@${hv1.ip}:2222/system?${keyParam}`, to: hv2.uri }),
  );
  await failureCase(
    'dest-bad-uri-path',
    'destination URI path /sytem instead of /system',
    migrate({ from: hv1.uri, to: hv2At(`root@${hv2.ip}`, `/sytem?${keyParam}`) }),
  );
  await failureCase(
    'dest-wrong-user',
    'ssh as a user whose authorized_keys lacks the key',
    migrate({ from: hv1.uri, to: hv2At(`nobody@${hv2.ip}`) }),
  );

  const wrongKey = path.join(TMP_DIR, 'wrong_key');
  await must(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'not-authorized', '-f', wrongKey]);
  await failureCase(
    'dest-key-not-authorized',
    'a key the destination does not authorize',
    migrate({ from: hv1.uri, to: hv2At(`root@${hv2.ip}`, `/system?keyfile=${wrongKey}`) }),
  );

  await withClientKnownHosts(
    () => null,
    async () => {
      await failureCase(
        'dest-unknown-host-key',
        "the Ferry box's known_hosts has no key for the destination (qemu+ssh, stdin closed)",
        migrate({ from: hv1.uri, to: hv2.uri }),
      );
    },
  );
  const otherHostKey = (await must(['ssh-keygen', '-y', '-f', wrongKey])).trim().split(' ').slice(0, 2).join(' ');
  await withClientKnownHosts(
    () => `${hv2.ip} ${otherHostKey} ferry-lab-hv2`,
    async () => {
      await failureCase(
        'dest-changed-host-key',
        "the Ferry box's known_hosts has a different key for the destination (qemu+ssh)",
        migrate({ from: hv1.uri, to: hv2.uri }),
      );
    },
  );
  const emptyKnownHosts = path.join(TMP_DIR, 'known_hosts.empty');
  fs.writeFileSync(emptyKnownHosts, '');
  await failureCase(
    'dest-unknown-host-key-libssh',
    'qemu+libssh with a known_hosts file that lacks the destination (stdin closed, so the y/n prompt gets EOF)',
    migrate({ from: hv1.uri, to: hv2.libsshUri.replace(hv2.knownHosts, emptyKnownHosts) }),
  );

  await failureCase(
    'not-running',
    'migrate --live a shut-off domain',
    migrate({ from: hv1.uri, to: hv2.uri, vm: 'vm-off' }),
  );
  await failureCase(
    'no-copy-storage',
    'live migration without --copy-storage-all and without shared storage',
    migrate({ from: hv1.uri, to: hv2.uri, flags: ['--live', '--persistent', '--undefinesource', '--verbose'] }),
  );

  await withDestinationVm({ uuid: '0badc0de-0000-4000-8000-000000000001', start: false }, () =>
    failureCase(
      'dest-name-clash',
      'the destination has an inactive domain vm1 with another UUID',
      migrate({ from: hv1.uri, to: hv2.uri }),
    ).then(() => undefined),
  );
  const vm1Uuid = (await must(virsh(hv1.socketUri, 'domuuid', 'vm1'))).trim();
  await withDestinationVm({ uuid: vm1Uuid, start: true }, () =>
    failureCase(
      'dest-running-same-uuid',
      'the destination already runs vm1 (same UUID)',
      migrate({ from: hv1.uri, to: hv2.uri }),
    ).then(() => undefined),
  );

  await must(virsh(hv2.socketUri, 'vol-create-as', 'default', 'vm1.qcow2', '128M', '--format', 'qcow2'));
  await failureCase(
    'dest-disk-size-mismatch',
    'the destination already has vm1.qcow2 with another size (128M vs 256M)',
    migrate({ from: hv1.uri, to: hv2.uri }),
  );
  await resetLab();

  await must(virsh(hv2.socketUri, 'pool-destroy', 'default'));
  await must(virsh(hv2.socketUri, 'pool-undefine', 'default'));
  await failureCase(
    'dest-no-storage-pool',
    'no storage pool on the destination has the disk directory as target',
    migrate({ from: hv1.uri, to: hv2.uri }),
  );
  await resetLab();

  await must(['bash', path.join(SCRIPT_DIR, 'lab.sh'), 'stop', 'hv2', 'libvirtd']);
  try {
    await failureCase(
      'dest-libvirtd-down',
      'libvirtd on the destination is stopped (sshd still up)',
      migrate({ from: hv1.uri, to: hv2.uri }),
    );
    await failureCase(
      'libvirtd-down-list',
      'virsh list on a host whose libvirtd is stopped',
      virsh(hv2.uri, 'list', '--all'),
    );
  } finally {
    await must(['bash', path.join(SCRIPT_DIR, 'lab.sh'), 'heal']);
  }
  await resetLab();
}

const only = process.argv.slice(2);
const steps: [string, () => Promise<void>][] = [
  ['fast', captureFast],
  ['bw8', captureBandwidth8],
  ['abort', captureAbort],
  ['concurrent', captureConcurrent],
  ['failures', captureFailures],
];

try {
  fs.mkdirSync(FAILURES_DIR, { recursive: true });
  const versions = await must(['virsh', '-c', hv1.uri, 'version']);
  writeJson(path.join(OUT_DIR, 'lab-versions.json'), { captured: new Date().toISOString(), virshVersion: versions });
  for (const [name, step] of steps) {
    if (only.length === 0 || only.includes(name)) await step();
  }
  await resetLab();
  console.log('capture done');
} finally {
  fs.rmSync(TMP_DIR, { recursive: true, force: true });
}
