import { describe, expect, it } from 'vitest';
import { peerToPeerRule } from './peer-to-peer';

const hv1 = { alias: 'hv1', uri: 'qemu+ssh://root@10.77.77.11/system' };
const rule = (uri: string, source = hv1) => peerToPeerRule({ source, destination: { alias: 'hv2', uri } });

describe('peerToPeerRule', () => {
  it('allows p2p to a destination the source reaches by hostname', () => {
    expect(rule('qemu+ssh://root@10.77.77.12/system?keyfile=/k/id')).toMatchObject({ possible: true });
    expect(rule('qemu+tls://hv2.example.com/system')).toMatchObject({ possible: true });
    expect(rule('qemu+ssh://root@10.77.77.12/system', { alias: 'local', uri: 'qemu:///system' })).toMatchObject({
      possible: true,
    });
  });

  it('reads display URIs, whose secret values are masked', () => {
    expect(rule('qemu+ssh://root@10.77.77.12/system?keyfile=\u2026')).toMatchObject({ possible: true });
    expect(rule('qemu+ssh://root@hv2/system?socket=\u2026')).toMatchObject({ possible: false });
  });

  it('says why p2p is impossible', () => {
    expect(rule('test:///default')).toEqual({ possible: false, reason: 'the libvirt test driver cannot migrate' });
    expect(rule('qemu:///system').reason).toBe("hv2's URI names no host, so hv1's libvirtd would connect to itself");
    expect(rule('qemu+tcp://127.0.0.1/system')).toMatchObject({
      possible: false,
      reason: expect.stringContaining('127.0.0.1'),
    });
    expect(rule('qemu+ssh://root@localhost/system')).toMatchObject({ possible: false });
    expect(rule('qemu+ssh://root@[::1]/system')).toMatchObject({ possible: false });
    expect(rule('qemu+ssh://root@hv2/system?socket=/run/x.sock')).toMatchObject({
      possible: false,
      reason: expect.stringContaining('socket path'),
    });
  });
});
