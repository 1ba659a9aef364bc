import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDomblkinfoAll } from './domblkinfo';
import { parseDomstatsRaw, readDomainStats } from './domstats';
import { ParseError } from './parse-error';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/virsh/${name}`, import.meta.url), 'utf8');

/** domstats lists domains in hash order, which changes from one libvirtd start to the next. */
function qemuFacts() {
  const facts = parseDomstatsRaw(fixture('qemu-domstats-raw.txt')).map(readDomainStats);
  const byName = (name: string) => facts.find((fact) => fact.name === name);
  return { running: byName('ferry-cap-run'), paused: byName('ferry-cap-paused'), off: byName('ferry-cap-off') };
}

describe('parseDomstatsRaw', () => {
  it('reads every key of qemu domains', () => {
    const records = parseDomstatsRaw(fixture('qemu-domstats-raw.txt'));
    expect(records.map((record) => record.name).sort()).toEqual(['ferry-cap-off', 'ferry-cap-paused', 'ferry-cap-run']);
    const running = records.find((record) => record.name === 'ferry-cap-run');
    expect(running?.stats.get('dirtyrate.calc_mode')).toBe('page-sampling');
    expect(running?.stats.get('block.1.path')).toBe('/var/lib/libvirt/images/run-data.img');
  });

  it('keeps names with quotes, and values containing "="', () => {
    const records = parseDomstatsRaw(fixture('test-host-domstats-raw.txt'));
    expect(records.map((record) => record.name)).toContain(`it's "quoted"`);
    const [record] = parseDomstatsRaw("Domain: 'a'\n  block.0.path=/images/x=y.qcow2\n");
    expect(record?.stats.get('block.0.path')).toBe('/images/x=y.qcow2');
  });

  it('accepts a domain with no keys (test driver, --vcpu --balloon --block)', () => {
    expect(parseDomstatsRaw(fixture('test-default-domstats-raw-vcpu-balloon-block.txt'))).toEqual([
      { name: 'test', stats: new Map() },
    ]);
  });

  it('refuses the second line of a name containing a newline', () => {
    expect(() => parseDomstatsRaw("Domain: 'new\nline'\n  state.state=1\n")).toThrow(ParseError);
    expect(() => parseDomstatsRaw("Domain: 'ok'\n  state.state=1\nline'\n")).toThrow(/line 3: "line'"/);
  });

  it('refuses a key line before any header', () => {
    expect(() => parseDomstatsRaw('  state.state=1\n')).toThrow(/line 1/);
  });
});

describe('readDomainStats', () => {
  it('reads qemu facts: vcpus, balloon in bytes, disks', () => {
    const { running, paused, off } = qemuFacts();
    expect(running).toEqual({
      name: 'ferry-cap-run',
      state: 'running',
      vcpus: 2,
      memoryBytes: 131072 * 1024,
      maxMemoryBytes: 131072 * 1024,
      blocks: [
        {
          target: 'vda',
          path: '/var/lib/libvirt/images/run-root.qcow2',
          capacityBytes: 268435456,
          allocationBytes: 200704,
        },
        { target: 'vdb', path: '/var/lib/libvirt/images/run-data.img', capacityBytes: 67108864, allocationBytes: 4096 },
        { target: 'hdc', path: null, capacityBytes: null, allocationBytes: null },
      ],
    });
    expect(paused?.state).toBe('paused');
    expect(off).toMatchObject({ state: 'shutoff', vcpus: 4, memoryBytes: 65536 * 1024, maxMemoryBytes: 131072 * 1024 });
  });

  it('reports the same allocation as domblkinfo, running and shut off', () => {
    const { running, off } = qemuFacts();
    const fromBlkinfo = (name: string) =>
      parseDomblkinfoAll(fixture(name)).map(({ target, capacityBytes, allocationBytes }) => ({
        target,
        capacityBytes,
        allocationBytes,
      }));
    expect(running?.blocks?.map(({ path: _path, ...sizes }) => sizes)).toEqual(fromBlkinfo('qemu-domblkinfo-all.txt'));
    expect(off?.blocks?.map(({ path: _path, ...sizes }) => sizes)).toEqual(
      fromBlkinfo('qemu-domblkinfo-all-shutoff.txt'),
    );
  });

  it('leaves fields undefined where the test driver reports only state', () => {
    const [test] = parseDomstatsRaw(fixture('test-default-domstats-raw.txt')).map(readDomainStats);
    expect(test).toEqual({
      name: 'test',
      state: 'running',
      vcpus: undefined,
      memoryBytes: undefined,
      maxMemoryBytes: undefined,
      blocks: undefined,
    });
  });

  it('refuses a record without state, or with an unknown state', () => {
    const [empty] = parseDomstatsRaw(fixture('test-default-domstats-raw-vcpu-balloon-block.txt'));
    expect(() => readDomainStats(empty!)).toThrow(/no state.state/);
    const [odd] = parseDomstatsRaw("Domain: 'x'\n  state.state=42\n");
    expect(() => readDomainStats(odd!)).toThrow(/unknown state.state=42/);
    const [bad] = parseDomstatsRaw("Domain: 'x'\n  state.state=1\n  vcpu.current=two\n");
    expect(() => readDomainStats(bad!)).toThrow(/"vcpu.current=two"/);
  });
});
