import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  generateTestHostXml,
  HOSTILE_VM_NAMES,
  planTestHost,
  testHostUri,
  writeTestHost,
  type TestVmState,
} from './test-host-xml';

const run = promisify(execFile);
const virsh = async (uri: string, ...args: string[]) =>
  (await run('virsh', ['-c', uri, ...args], { env: { ...process.env, LC_ALL: 'C.UTF-8' } })).stdout;

function countStates(states: readonly TestVmState[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const state of states) counts[state] = (counts[state] ?? 0) + 1;
  return counts;
}

describe('planTestHost', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    expect(generateTestHostXml({ hostName: 'hv1', vmCount: 20, seed: 3 })).toBe(
      generateTestHostXml({ hostName: 'hv1', vmCount: 20, seed: 3 }),
    );
    expect(generateTestHostXml({ hostName: 'hv1', vmCount: 20, seed: 3 })).not.toBe(
      generateTestHostXml({ hostName: 'hv1', vmCount: 20, seed: 4 }),
    );
  });

  it('gives 50 VMs all seven states in fixed counts, 1–4 vcpus and 1–3 disks', () => {
    const plan = planTestHost({ hostName: 'hv1', vmCount: 50, seed: 11 });
    expect(countStates(plan.vms.map((vm) => vm.state))).toEqual({
      running: 27,
      shutoff: 11,
      paused: 4,
      blocked: 2,
      shutdown: 2,
      crashed: 2,
      pmsuspended: 2,
    });
    for (const vm of plan.vms) {
      expect(vm.vcpus).toBeGreaterThanOrEqual(1);
      expect(vm.vcpus).toBeLessThanOrEqual(4);
      expect(vm.disks.length).toBeGreaterThanOrEqual(1);
      expect(vm.disks.length).toBeLessThanOrEqual(3);
      expect(vm.memoryBytes).toBeLessThanOrEqual(vm.maxMemoryBytes);
    }
    expect(new Set(plan.vms.map((vm) => vm.uuid)).size).toBe(50);
    expect(new Set(plan.vms.map((vm) => vm.name)).size).toBe(50);
  });

  it('uses the given host UUID and hostile names', () => {
    const plan = planTestHost({
      hostName: 'hv1',
      vmCount: 20,
      hostUuid: '8d1f6c1e-1ab0-4c1b-9e00-000000000001',
      hasHostileNames: true,
    });
    expect(plan.hostUuid).toBe('8d1f6c1e-1ab0-4c1b-9e00-000000000001');
    expect(plan.vms.slice(0, HOSTILE_VM_NAMES.length).map((vm) => vm.name)).toEqual(HOSTILE_VM_NAMES);
  });

  it('refuses a host name libvirt could not use in a path', () => {
    expect(() => planTestHost({ hostName: 'a/b', vmCount: 1 })).toThrow(/without '\/'/);
    expect(() => planTestHost({ hostName: 'a', vmCount: -1 })).toThrow(/vmCount/);
  });
});

describe('writeTestHost with real virsh', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ferry-test-host-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a file the test driver loads, with the planned states and node facts', async () => {
    const options = { hostName: 'hv-gen', vmCount: 50, seed: 11, hasHostileNames: true };
    const file = await writeTestHost({ dir, ...options });
    expect(path.isAbsolute(file)).toBe(true);
    expect(await readFile(file, 'utf8')).toBe(generateTestHostXml(options));

    const plan = planTestHost(options);
    const uri = testHostUri(file);
    const shutOff = (await virsh(uri, 'list', '--state-shutoff', '--uuid')).split('\n').filter(Boolean);
    expect(shutOff.sort()).toEqual(
      plan.vms
        .filter((vm) => vm.state === 'shutoff')
        .map((vm) => vm.uuid)
        .sort(),
    );
    const paused = (await virsh(uri, 'list', '--state-paused', '--uuid')).split('\n').filter(Boolean);
    expect(paused.sort()).toEqual(
      plan.vms
        .filter((vm) => vm.state === 'paused')
        .map((vm) => vm.uuid)
        .sort(),
    );

    const nodeinfo = await virsh(uri, 'nodeinfo');
    expect(nodeinfo).toContain(`CPU model:           ${plan.cpuModel}\n`);
    expect(nodeinfo).toContain(`CPU(s):              ${plan.cpus}\n`);
    expect(nodeinfo).toContain(`Memory size:         ${plan.memoryBytes / 1024} KiB\n`);
    expect(await virsh(uri, 'nodedev-dumpxml', '--device', 'computer')).toContain(`<uuid>${plan.hostUuid}</uuid>`);
  });
});
