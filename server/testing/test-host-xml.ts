import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Made-up hypervisors for libvirt's test driver: a `<node>` document that `virsh -c test:///<abs path>`
 * loads as a host with many VMs in mixed states. The format is the one src/test/test_driver.c reads:
 * `/node/cpu/{nodes,sockets,cores,threads,active,mhz,model}`, `/node/memory` (KiB), `/node/domain`, and
 * `/node/device`; a domain's run state comes from `<test:runstate>` (a virDomainState number) in the
 * `http://libvirt.org/schemas/domain/test/1.0` namespace.
 */

/** virDomainState numbers, as `<test:runstate>` and domstats' `state.state` spell them. */
export const TEST_RUNSTATE = {
  running: 1,
  blocked: 2,
  paused: 3,
  shutdown: 4,
  shutoff: 5,
  crashed: 6,
  pmsuspended: 7,
} as const;

export type TestVmState = keyof typeof TEST_RUNSTATE;

/**
 * VM i gets STATE_PATTERN[i % 20] (then the order is shuffled): out of every 20, 9 running, 5 shut off,
 * 2 paused and one each of the rarer states. A 50-VM host has all seven states, 27/11/4/2/2/2/2.
 */
const STATE_PATTERN: readonly TestVmState[] = [
  ...Array<TestVmState>(9).fill('running'),
  ...Array<TestVmState>(5).fill('shutoff'),
  ...Array<TestVmState>(2).fill('paused'),
  'blocked',
  'shutdown',
  'crashed',
  'pmsuspended',
];

/**
 * Names that try every way a name can be mistaken for something else: shell metacharacters, quotes, XML
 * specials, option-looking names, a number (virsh looks numbers up as domain IDs first), spaces at the
 * edges. libvirt refuses '/' in names, and every real driver refuses '\n', so neither is here.
 */
export const HOSTILE_VM_NAMES: readonly string[] = [
  'vm with spaces',
  `it's "quoted"`,
  'semi;colon && echo pwned',
  '$(touch ferry-pwned)',
  '`id`',
  '--help',
  '--all',
  '-c',
  '<i>&amp; x="1"',
  '7',
  ' leading and trailing ',
  'ünïcödé-名前',
];

const MEMORY_CHOICES_MIB: readonly number[] = [256, 512, 1024, 2048, 4096, 8192];

export type TestDisk = {
  /** `file` or `block`, as `<disk type=…>`. */
  type: 'file' | 'block';
  device: 'disk' | 'cdrom';
  target: string;
  path: string;
};

export type TestVm = {
  name: string;
  uuid: string;
  state: TestVmState;
  vcpus: number;
  memoryBytes: number;
  maxMemoryBytes: number;
  disks: TestDisk[];
};

export type TestHostPlan = {
  hostName: string;
  hostUuid: string;
  cpuModel: string;
  cpus: number;
  mhz: number;
  memoryBytes: number;
  vms: TestVm[];
};

export type TestHostOptions = {
  hostName: string;
  vmCount: number;
  /** Same seed, same host. Defaults to one derived from hostName. */
  seed?: number;
  /** Put in the `computer` node device (SMBIOS UUID). Defaults to one derived from the seed. */
  hostUuid?: string;
  /** Replace the names of the first VMs with HOSTILE_VM_NAMES (as many as fit in vmCount). */
  hasHostileNames?: boolean;
};

/** mulberry32: tiny, fast, and the same sequence on every platform for a given seed. */
function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hashString(text: string): number {
  let hash = 2166136261;
  for (const char of text) {
    hash ^= char.codePointAt(0) ?? 0;
    hash = Math.imul(hash, 16777619);
  }
  return hash >>> 0;
}

function pick<T>(random: () => number, choices: readonly T[]): T {
  const choice = choices[Math.floor(random() * choices.length)];
  if (choice === undefined) throw new Error('pick from an empty list');
  return choice;
}

function randomUuid(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16));
  // Version 4, RFC 4122 variant, so the UUIDs look like the ones libvirt generates.
  hex[12] = '4';
  hex[16] = (8 + Math.floor(random() * 4)).toString(16);
  const text = hex.join('');
  return `${text.slice(0, 8)}-${text.slice(8, 12)}-${text.slice(12, 16)}-${text.slice(16, 20)}-${text.slice(20)}`;
}

function shuffle<T>(random: () => number, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const a = items[i] as T;
    items[i] = items[j] as T;
    items[j] = a;
  }
  return items;
}

function planDisks(random: () => number, hostName: string, vmIndex: number): TestDisk[] {
  const count = 1 + Math.floor(random() * 3);
  const disks: TestDisk[] = [];
  for (let i = 0; i < count; i++) {
    const base = `/var/lib/libvirt/images/${hostName}/vm${vmIndex}`;
    if (i === 2 && random() < 0.5) {
      disks.push({
        type: 'file',
        device: 'cdrom',
        target: 'sda',
        path: `/var/lib/libvirt/isos/install disk ${vmIndex}.iso`,
      });
    } else if (i === 1 && random() < 0.25) {
      disks.push({ type: 'block', device: 'disk', target: 'vdb', path: `/dev/vg-${hostName}/vm${vmIndex}-data` });
    } else {
      disks.push({
        type: 'file',
        device: 'disk',
        target: `vd${String.fromCharCode(97 + i)}`,
        path: `${base}-${i}.qcow2`,
      });
    }
  }
  return disks;
}

/** The host as data: what the XML will say, for tests to compare virsh's answers against. */
export function planTestHost(options: TestHostOptions): TestHostPlan {
  const { hostName, vmCount } = options;
  if (!Number.isInteger(vmCount) || vmCount < 0) throw new Error(`vmCount must be a whole number ≥ 0, got ${vmCount}`);
  if (hostName.includes('/') || hostName.trim() === '')
    throw new Error(`hostName must be non-empty and without '/', got ${JSON.stringify(hostName)}`);
  const seed = options.seed ?? hashString(hostName);
  const random = createRandom(seed);
  const hostUuid = options.hostUuid ?? randomUuid(random);

  const states = shuffle(
    random,
    Array.from({ length: vmCount }, (_, i) => STATE_PATTERN[i % STATE_PATTERN.length] as TestVmState),
  );
  const vms = states.map((state, index): TestVm => {
    const maxMemoryMib = pick(random, MEMORY_CHOICES_MIB);
    // Some guests run ballooned down to half their maximum.
    const memoryMib = random() < 0.3 ? maxMemoryMib / 2 : maxMemoryMib;
    const hostileName = options.hasHostileNames === true ? HOSTILE_VM_NAMES[index] : undefined;
    return {
      name: hostileName ?? `${hostName}-vm${String(index).padStart(3, '0')}`,
      uuid: randomUuid(random),
      state,
      vcpus: 1 + Math.floor(random() * 4),
      memoryBytes: memoryMib * 1024 * 1024,
      maxMemoryBytes: maxMemoryMib * 1024 * 1024,
      disks: planDisks(random, hostName, index),
    };
  });

  return {
    hostName,
    hostUuid,
    cpuModel: pick(random, ['Skylake-Server-IBRS', 'EPYC-Rome', 'Cascadelake-Server', 'Icelake-Server']),
    cpus: pick(random, [16, 32, 48, 64]),
    mhz: pick(random, [2100, 2400, 2900]),
    memoryBytes: pick(random, [64, 128, 256, 512]) * 1024 * 1024 * 1024,
    vms,
  };
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function renderDisk(disk: TestDisk): string {
  const source =
    disk.type === 'block' ? `<source dev='${escapeXml(disk.path)}'/>` : `<source file='${escapeXml(disk.path)}'/>`;
  const bus = disk.device === 'cdrom' ? 'sata' : 'virtio';
  const readonly = disk.device === 'cdrom' ? '<readonly/>' : '';
  return `      <disk type='${disk.type}' device='${disk.device}'>${source}<target dev='${disk.target}' bus='${bus}'/>${readonly}</disk>`;
}

function renderVm(vm: TestVm): string {
  return [
    `  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>`,
    `    <name>${escapeXml(vm.name)}</name>`,
    `    <uuid>${vm.uuid}</uuid>`,
    `    <memory unit='KiB'>${vm.maxMemoryBytes / 1024}</memory>`,
    `    <currentMemory unit='KiB'>${vm.memoryBytes / 1024}</currentMemory>`,
    `    <vcpu>${vm.vcpus}</vcpu>`,
    `    <test:runstate>${TEST_RUNSTATE[vm.state]}</test:runstate>`,
    `    <os><type>hvm</type></os>`,
    `    <devices>`,
    ...vm.disks.map(renderDisk),
    `    </devices>`,
    `  </domain>`,
  ].join('\n');
}

export function renderTestHostXml(plan: TestHostPlan): string {
  // The test driver's node memory is in KiB; cpus = nodes*sockets*cores*threads, capped by <active>.
  return [
    `<node>`,
    `  <cpu>`,
    `    <nodes>1</nodes>`,
    `    <sockets>2</sockets>`,
    `    <cores>${plan.cpus / 2}</cores>`,
    `    <threads>1</threads>`,
    `    <active>${plan.cpus}</active>`,
    `    <mhz>${plan.mhz}</mhz>`,
    `    <model>${escapeXml(plan.cpuModel)}</model>`,
    `  </cpu>`,
    `  <memory>${plan.memoryBytes / 1024}</memory>`,
    ...plan.vms.map(renderVm),
    `  <device>`,
    `    <name>computer</name>`,
    `    <capability type='system'>`,
    `      <hardware><vendor>Ferry test host</vendor><version>${escapeXml(plan.hostName)}</version><uuid>${plan.hostUuid}</uuid></hardware>`,
    `      <firmware><vendor>Ferry</vendor><version>1</version><release_date>11/26/2026</release_date></firmware>`,
    `    </capability>`,
    `  </device>`,
    `</node>`,
    '',
  ].join('\n');
}

export function generateTestHostXml(options: TestHostOptions): string {
  return renderTestHostXml(planTestHost(options));
}

/** Writes `<dir>/<hostName>.xml` and returns its absolute path; connect with `test:///` + that path. */
export async function writeTestHost(options: TestHostOptions & { dir: string }): Promise<string> {
  const { dir, ...hostOptions } = options;
  const file = path.resolve(dir, `${hostOptions.hostName}.xml`);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, generateTestHostXml(hostOptions));
  return file;
}

export function testHostUri(file: string): string {
  return `test://${file}`;
}
