import { describe, expect, it } from 'vitest';
import { matchDomain } from '../domain-ref';
import {
  driverRule,
  encryptionRule,
  firstRefusal,
  maintenanceRule,
  nameFreeRule,
  reachableRule,
  sameHostRule,
} from './destinations';

const hv1 = {
  id: 'a',
  alias: 'hv1',
  uri: 'qemu+ssh://root@hv1/system',
  hostUuid: '11111111-0000-4000-8000-000000000001',
};
const hv2 = {
  id: 'b',
  alias: 'hv2',
  uri: 'qemu+ssh://root@hv2/system',
  hostUuid: '11111111-0000-4000-8000-000000000002',
};
const VM = { name: 'vm-off', uuid: '0f1e0000-7a5b-4c1b-9e00-0000000000a1' };

describe('destination rules (the dialog and preflight share them)', () => {
  it('refuse a host in maintenance, with the way out in the sentence', () => {
    expect(maintenanceRule({ ...hv2, inMaintenance: true })).toMatchObject({
      id: 'destination-maintenance',
      status: 'fail',
      short: 'in maintenance',
      reason: 'hv2 is in maintenance: it takes no migrations until an operator ends maintenance on its host page.',
    });
    expect(maintenanceRule({ ...hv2, inMaintenance: false })).toMatchObject({ status: 'pass', short: null });
    expect(maintenanceRule(hv2).status).toBe('pass');
  });

  it('refuse the source itself, and a second registration of the same libvirt host', () => {
    expect(sameHostRule(hv1, hv1)).toMatchObject({ status: 'fail', short: 'this is the source host' });
    const again = { ...hv1, id: 'c', alias: 'hv1-again' };
    expect(sameHostRule(hv1, again)).toMatchObject({
      status: 'fail',
      short: 'same libvirt host as the source (same host UUID)',
      reason: `hv1 and hv1-again are the same libvirt host (UUID ${hv1.hostUuid}).`,
    });
    expect(sameHostRule(hv1, { ...hv2, hostUuid: null }).status).toBe('warn');
    expect(sameHostRule(hv1, hv2).status).toBe('pass');
  });

  it('refuse an unreachable host and the test driver at either end', () => {
    expect(reachableRule(hv2, 'Connection refused')).toMatchObject({
      status: 'fail',
      short: 'unreachable: Connection refused',
    });
    expect(reachableRule(hv2, null).status).toBe('pass');
    expect(driverRule(hv1, { ...hv2, uri: 'test:///default' })).toMatchObject({
      status: 'fail',
      short: 'the libvirt test driver cannot migrate',
    });
    expect(driverRule({ ...hv1, uri: 'test:///default' }, hv2).status).toBe('fail');
    expect(driverRule(hv1, hv2).status).toBe('pass');
  });

  it('refuse a destination with a domain of the same name, or of the same UUID under another name', () => {
    expect(nameFreeRule({ destination: hv2, vm: VM, domains: [{ name: 'vm-off', uuid: 'x' }] })).toMatchObject({
      status: 'fail',
      short: 'already has a VM named "vm-off"',
      reason: 'hv2 already has a domain "vm-off" (UUID x).',
    });
    expect(nameFreeRule({ destination: hv2, vm: VM, domains: [{ name: 'old-copy', uuid: VM.uuid }] })).toMatchObject({
      status: 'fail',
      short: 'already has a VM with this UUID ("old-copy")',
    });
    expect(nameFreeRule({ destination: hv2, vm: VM, domains: [{ name: 'other', uuid: 'y' }] }).status).toBe('pass');
  });

  it('firstRefusal picks the first failing rule in the given order', () => {
    const verdicts = [
      sameHostRule(hv1, hv2),
      reachableRule(hv2, 'down'),
      driverRule(hv1, { ...hv2, uri: 'test:///x' }),
    ];
    expect(firstRefusal(verdicts)?.id).toBe('destination-reachable');
    expect(firstRefusal([sameHostRule(hv1, hv2)])).toBeNull();
  });
});

describe('matchDomain', () => {
  const listed = [
    { uuid: '1d000000-0000-4000-8000-00000000000a', name: 'alpha' },
    { uuid: '1d000000-0000-4000-8000-000000000001', name: '1' },
  ];
  it('finds by UUID and insists the name agrees; finds by exact name without one', () => {
    expect(matchDomain(listed, { name: '1', uuid: '1D000000-0000-4000-8000-000000000001' }, 'hv1')).toEqual({
      ok: true,
      domain: { name: '1', uuid: '1d000000-0000-4000-8000-000000000001' },
    });
    expect(matchDomain(listed, { name: '1', uuid: listed[0]?.uuid }, 'hv1')).toMatchObject({
      ok: false,
      reason: 'mismatch',
    });
    expect(matchDomain(listed, { name: '1' }, 'hv1')).toMatchObject({ ok: true, domain: { uuid: listed[1]?.uuid } });
    expect(matchDomain(listed, { name: 'ALPHA' }, 'hv1')).toMatchObject({ ok: false, reason: 'missing' });
  });
});

describe('encryption (CloudStack: both TLS-capable → native TLS, otherwise plain TCP with a warning)', () => {
  const tls1 = { ...hv1, tlsCapable: true };
  const tls2 = { ...hv2, tlsCapable: true };
  const plain = { tls: false, tunnelled: false };

  it('passes native TLS between two TLS-capable hosts', () => {
    const result = encryptionRule({ source: tls1, destination: tls2, migration: { tls: true, tunnelled: false } });
    expect(result).toMatchObject({ id: 'encryption', status: 'pass', short: null });
    expect(result.reason).toContain('Native TLS');
  });

  it('names the host that is not TLS-capable when the migration goes over plain TCP', () => {
    const result = encryptionRule({ source: tls1, destination: hv2, migration: plain });
    expect(result).toMatchObject({ status: 'warn', short: 'hv2 is not TLS-capable: plain TCP' });
    expect(result.reason).toMatch(/^hv2 is not TLS-capable, so memory and disk data will travel unencrypted/);
    expect(encryptionRule({ source: hv1, destination: hv2, migration: plain }).reason).toMatch(
      /^hv1 and hv2 are not TLS-capable/,
    );
  });

  it('warns that --tls would fail where a host is not TLS-capable', () => {
    const result = encryptionRule({ source: tls1, destination: hv2, migration: { tls: true, tunnelled: false } });
    expect(result.status).toBe('warn');
    expect(result.reason).toContain('migrate_tls_x509_cert_dir');
  });

  it('warns about plain TCP when both hosts could do TLS', () => {
    expect(encryptionRule({ source: tls1, destination: tls2, migration: plain })).toMatchObject({
      status: 'warn',
      short: 'plain TCP although both hosts are TLS-capable',
    });
  });

  it('judges a tunnel by the transport of the destination URI the source libvirtd opens', () => {
    const tunnel = { tls: false, tunnelled: true };
    // Rules see display URIs: masked values (…) do not parse again, the scheme still tells the transport.
    const overTls = { ...hv2, uri: 'qemu+tls://10.77.77.12/system?pkipath=…' };
    const overTcp = { ...hv2, uri: 'qemu+tcp://10.77.77.12/system' };
    expect(encryptionRule({ source: hv1, destination: overTls, migration: tunnel }).reason).toContain('TLS connection');
    expect(encryptionRule({ source: hv1, destination: hv2, migration: tunnel }).reason).toContain('SSH connection');
    const implied = { ...hv2, uri: 'qemu://10.77.77.12/system' };
    expect(encryptionRule({ source: hv1, destination: implied, migration: tunnel }).status).toBe('pass');
    expect(encryptionRule({ source: hv1, destination: overTcp, migration: tunnel })).toMatchObject({
      status: 'warn',
      short: 'tunnel not encrypted',
    });
  });
});
