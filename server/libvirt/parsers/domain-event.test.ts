import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createDomainEventParser, parseDomainEventLine } from './domain-event';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/virsh/${name}`, import.meta.url), 'utf8');

/** Lines written with virsh 9.0's own format strings (`strings virsh`), for the kinds no capture holds. */
const STAMP = '2026-12-03 03:12:01.250+0000: ';

describe('parseDomainEventLine', () => {
  it('reads a lifecycle event with its timestamp', () => {
    expect(parseDomainEventLine(`${STAMP}event 'lifecycle' for domain 'vm1': Started Booted`)).toEqual({
      at: new Date('2026-12-03T03:12:01.250Z'),
      kind: 'lifecycle',
      domain: 'vm1',
      candidates: ['vm1'],
      detail: 'Started Booted',
    });
  });

  it('reads lines without a timestamp and an old virsh’s unquoted name', () => {
    expect(parseDomainEventLine("event 'reboot' for domain 'vm1'")).toMatchObject({ at: null, domain: 'vm1' });
    expect(parseDomainEventLine("event 'lifecycle' for domain vm 2: Stopped Destroyed")).toMatchObject({
      domain: 'vm 2',
      detail: 'Stopped Destroyed',
    });
    expect(parseDomainEventLine("event 'reboot' for domain vm1")).toMatchObject({ domain: 'vm1', detail: '' });
  });

  it.each([
    ["event 'reboot' for domain '%s'", ''],
    ["event 'rtc-change' for domain '%s': -3", '-3'],
    ["event 'watchdog' for domain '%s': reset", 'reset'],
    ["event 'io-error' for domain '%s': /var/lib/a b.qcow2 (vda) pause", '/var/lib/a b.qcow2 (vda) pause'],
    ["event 'graphics' for domain '%s': connect local[ipv4 127.0.0.1 5900] remote[ipv4 10.0.0.2 4000] vnc", null],
    [
      "event 'disk-change' for domain '%s' disk vdb: /a -> /b: missing-on-start",
      'disk vdb: /a -> /b: missing-on-start',
    ],
    ["event 'tray-change' for domain '%s' disk hdc: opened", 'disk hdc: opened'],
    ["event 'balloon-change' for domain '%s': 1048576KiB", '1048576KiB'],
    ["event 'device-removed' for domain '%s': virtio-disk1", 'virtio-disk1'],
    ["event 'device-added' for domain '%s': net1", 'net1'],
    ["event 'agent-lifecycle' for domain '%s': state: 'connected' reason: 'channel event'", null],
    ["event 'migration-iteration' for domain '%s': iteration: '2'", "iteration: '2'"],
    ["event 'metadata-change' for domain '%s': type element, uri https://ferry.example/x", null],
    ["event 'block-threshold' for domain '%s': dev: vda(/img) 1024 2048", null],
    ["event 'block-job-2' for domain '%s': Block Copy for vda ready", 'Block Copy for vda ready'],
    ["event 'pmsuspend' for domain '%s'", ''],
    ["event 'control-error' for domain '%s'", ''],
  ])('reads %s', (format, detail) => {
    const name = 'web 01';
    const event = parseDomainEventLine(STAMP + format.replace('%s', name));
    expect(event).toMatchObject({ domain: name, candidates: [name] });
    if (detail !== null) expect(event?.detail).toBe(detail);
  });

  it('reads hostile names whole: quotes, colons, spaces, the separator itself', () => {
    const names = [
      'it\'s "quoted"',
      'a b\'c"d;$(x)',
      '--help',
      ' leading and trailing ',
      "x': Started Booted",
      'host:1',
      "trailing'",
      'ünïcödé-名前',
    ];
    for (const name of names) {
      const lifecycle = parseDomainEventLine(`${STAMP}event 'lifecycle' for domain '${name}': Stopped Destroyed`);
      expect(lifecycle).toMatchObject({ domain: name, candidates: [name], detail: 'Stopped Destroyed' });
      const generic = parseDomainEventLine(`${STAMP}event 'reboot' for domain '${name}'`);
      expect(generic?.candidates).toEqual([name]);
    }
  });

  it('lists every reading when the detail cannot settle it', () => {
    const event = parseDomainEventLine(`${STAMP}event 'device-removed' for domain 'a': b': net0`);
    expect(event?.candidates).toEqual(['a', "a': b"]);
    expect(event?.domain).toBe('a');
  });

  it('ignores what is not an event header', () => {
    expect(parseDomainEventLine('events received: 3')).toBeNull();
    expect(parseDomainEventLine('event loop interrupted')).toBeNull();
    expect(parseDomainEventLine('')).toBeNull();
    expect(parseDomainEventLine('\toperation: 5')).toBeNull();
  });
});

describe('createDomainEventParser', () => {
  it('reads a real migration source capture: every kind, the job-completed fields', () => {
    const parser = createDomainEventParser();
    const events = [...parser.push(fixture('qemu-event-loop-migration-source.txt')), ...parser.flush()];
    expect(events.map((event) => event.kind)).toEqual([
      'block-job',
      'block-job-2',
      'migration-iteration',
      'lifecycle',
      'block-job',
      'block-job-2',
      'migration-iteration',
      'lifecycle',
      'job-completed',
    ]);
    expect(new Set(events.map((event) => event.domain))).toEqual(new Set(['vm1']));
    const completed = events.at(-1);
    expect(completed?.at).toEqual(new Date('2026-11-26T10:31:15.039Z'));
    expect(completed?.detail.split('\n')).toHaveLength(23);
    expect(completed?.detail).toMatch(/^operation: 5\ntime_elapsed: 479\n/);
    expect(events[3]?.detail).toBe('Suspended Migrated');
  });

  it('reads a real migration destination capture', () => {
    const parser = createDomainEventParser();
    const events = parser.push(fixture('qemu-event-loop-migration-destination.txt'));
    expect(events.map((event) => event.detail)).toEqual(['Started Migrated', 'Defined Added', 'Resumed Migrated']);
  });

  it('gives the same events however the output is split, and holds a multi-line event until it ends', () => {
    const text = fixture('qemu-event-loop-migration-source.txt');
    const whole = createDomainEventParser();
    const expected = [...whole.push(text), ...whole.flush()];
    for (const size of [1, 7, 64]) {
      const parser = createDomainEventParser();
      const events = [];
      for (let index = 0; index < text.length; index += size)
        events.push(...parser.push(text.slice(index, index + size)));
      expect(parser.hasPending).toBe(true);
      events.push(...parser.flush());
      expect(events).toEqual(expected);
    }
  });

  it('ends a multi-line event at the next header and accepts CRLF', () => {
    const parser = createDomainEventParser();
    const events = parser.push(
      `${STAMP}event 'tunable' for domain 'a b':\r\n\tcputune.vcpu_quota: 1\r\n${STAMP}event 'reboot' for domain 'c'\r\n`,
    );
    expect(events).toEqual([
      expect.objectContaining({ kind: 'tunable', domain: 'a b', detail: 'cputune.vcpu_quota: 1' }),
      expect.objectContaining({ kind: 'reboot', domain: 'c' }),
    ]);
  });
});
