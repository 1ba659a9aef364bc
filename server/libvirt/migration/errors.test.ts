import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  classifyVirshError,
  MIGRATION_ERROR_CODES,
  type ClassifiedVirshError,
  type MigrationErrorCode,
} from './errors';

/** Real captures from the lab (libvirt 9.0, QEMU 7.2): see server/libvirt/fixtures/migration/README.md. */
const FIXTURES = new URL('../fixtures/migration/', import.meta.url);
const FAILURES = new URL('failures/', FIXTURES);

type Failure = { case: string; exitCode: number; stderr: string };
const readFailure = (name: string) => JSON.parse(readFileSync(new URL(`${name}.json`, FAILURES), 'utf8')) as Failure;

/** Every lab failure case, what it must classify as, and words the explanation must contain. */
const EXPECTED: Record<string, { code: MigrationErrorCode; side?: 'source' | 'destination'; mentions: RegExp[] }> = {
  'concurrent-second-migrate': { code: 'job-running', mentions: [/"vm1"/] },
  'dest-bad-uri-path': { code: 'bad-uri', mentions: [/"\/sytem"/] },
  'dest-changed-host-key': {
    code: 'host-key',
    side: 'destination',
    mentions: [/different SSH host key/, /intercepting/],
  },
  'dest-disk-size-mismatch': { code: 'disk-size-mismatch', mentions: [/disk vda/] },
  'dest-key-not-authorized': { code: 'auth', side: 'destination', mentions: [/"root" on 10\.77\.77\.12/] },
  'dest-libvirtd-down': { code: 'libvirtd-down', side: 'destination', mentions: [/\/var\/run\/libvirt\/libvirt-sock/] },
  'dest-name-clash': {
    code: 'name-clash',
    mentions: [/different VM called "vm1"/, /0badc0de-0000-4000-8000-000000000001/],
  },
  'dest-no-route': { code: 'unreachable', side: 'destination', mentions: [/10\.77\.77\.99 port 22/, /no route/] },
  'dest-no-storage-pool': { code: 'pool-not-found', mentions: [/\/var\/lib\/libvirt\/images/] },
  'dest-port-closed': {
    code: 'unreachable',
    side: 'destination',
    mentions: [/10\.77\.77\.12 port 2222/, /nothing accepts connections/],
  },
  'dest-running-same-uuid': { code: 'name-clash', mentions: [/"vm1" \(same UUID\) is already active/] },
  'dest-unknown-host-key-libssh': { code: 'host-key', side: 'destination', mentions: [/not in known_hosts/] },
  'dest-unknown-host-key': { code: 'host-key', side: 'destination', mentions: [/not in known_hosts/] },
  'dest-wrong-user': { code: 'auth', side: 'destination', mentions: [/"nobody" on 10\.77\.77\.12/] },
  'domjobabort-no-job': { code: 'no-active-job', mentions: [/no job to cancel/] },
  'domjobinfo-on-destination': {
    code: 'unsupported',
    mentions: [/migration statistics are available only on the source host/],
  },
  'libvirtd-down-list': { code: 'libvirtd-down', side: 'source', mentions: [/source host answered SSH/] },
  'no-copy-storage': { code: 'unsafe-storage', mentions: [/Migration without shared storage is unsafe/] },
  'no-such-domain': { code: 'no-such-domain', mentions: [/"nosuchvm"/] },
  'not-running': { code: 'not-running', mentions: [/shut off or paused/] },
  'same-host': { code: 'same-host', mentions: [/f3e7a1b0-0a11-4c1b-9e00-000000000011/] },
  'source-port-closed': { code: 'unreachable', side: 'source', mentions: [/10\.77\.77\.11 port 2222/] },
  // The secure lab (lab.sh up --secure; e2e/lab/capture-tls-fixtures.sh).
  'tls-dest-untrusted-nbd': {
    code: 'tls-untrusted',
    side: 'destination',
    mentions: [/destination does not trust the source's TLS certificate/, /QEMU's client certificate/],
  },
  'tls-dest-untrusted-memory': {
    code: 'tls-untrusted',
    side: 'destination',
    mentions: [/destination does not trust/, /ca-cert\.pem/],
  },
  'tls-dest-untrusted-p2p': {
    code: 'tls-untrusted',
    side: 'destination',
    mentions: [/destination does not trust/, /source's libvirtd connected \(peer-to-peer\)/],
  },
  'tls-client-untrusted': {
    code: 'tls-untrusted',
    side: 'source',
    mentions: [/host does not trust Ferry's TLS certificate/, /pkipath/],
  },
  'tls-server-untrusted': {
    code: 'tls-untrusted',
    side: 'source',
    mentions: [/Ferry does not trust the host's TLS certificate/],
  },
  'tls-own-cert-invalid': {
    code: 'tls-misconfigured',
    mentions: [/\/etc\/pki\/libvirt\/clientcert\.pem/, /\/etc\/pki\/CA\/cacert\.pem/, /known issuer\)/],
  },
  'tls-no-credentials': {
    code: 'tls-misconfigured',
    mentions: [/not set up for TLS migration/, /\/etc\/pki\/qemu\/ca-cert\.pem/, /not TLS-capable/],
  },
  'postcopy-switch-too-early': { code: 'postcopy-too-early', mentions: [/disks are still being copied/] },
};

function expectUseful(result: ClassifiedVirshError, stderr: string): void {
  expect(result.raw).toBe(stderr);
  for (const text of [result.title, result.cause, result.nextStep]) {
    expect(text.length).toBeGreaterThan(10);
    expect(text).not.toMatch(/undefined|null|\$\{/);
  }
}

describe('classifyVirshError on the lab failure cases', () => {
  it('has an expectation for every captured failure case', () => {
    const captured = readdirSync(FAILURES)
      .filter((name) => name.endsWith('.json'))
      .map((name) => name.slice(0, -'.json'.length));
    expect(captured.sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED))('%s', (name, expected) => {
    const failure = readFailure(name);
    expect(failure.exitCode).toBe(1);
    const result = classifyVirshError(failure.stderr);
    expect(result.code).toBe(expected.code);
    expect(result.side).toBe(expected.side ?? null);
    for (const mention of expected.mentions) expect(`${result.title}\n${result.cause}`).toMatch(mention);
    expectUseful(result, failure.stderr);
  });
});

describe('classifyVirshError on other real output', () => {
  it('an abort, with the progress text virsh printed before it (fixtures/migration/migrate-abort.json)', () => {
    const { stderr } = JSON.parse(readFileSync(new URL('migrate-abort.json', FIXTURES), 'utf8')) as Failure;
    expect(stderr.startsWith('\rMigration: [  6 %]')).toBe(true);
    const result = classifyVirshError(stderr);
    expect(result).toMatchObject({ code: 'aborted', title: 'Migration cancelled', side: null });
    expectUseful(result, stderr);
  });

  it('no such domain from domjobinfo --completed after --undefinesource', () => {
    const { stderr } = JSON.parse(
      readFileSync(new URL('domjobinfo-completed-source-undefined.json', FIXTURES), 'utf8'),
    ) as Failure;
    expect(classifyVirshError(stderr).code).toBe('no-such-domain');
  });

  it('unsupported by the driver (virsh 9.0 against test:///default on this machine)', () => {
    const stderr = 'error: this function is not supported by the connection driver: virDomainMigrate3\n';
    const result = classifyVirshError(stderr);
    expect(result).toMatchObject({
      code: 'unsupported',
      cause: 'The hypervisor driver cannot do this: virDomainMigrate3.',
    });
  });

  it('an unknown driver in the destination URI (virsh 9.0 against test:///default on this machine)', () => {
    expect(
      classifyVirshError("error: no connection driver available for URI '--help' does not include a driver name\n")
        .code,
    ).toBe('bad-uri');
  });

  it('a state-change-lock timeout (libvirt VIR_ERR_OPERATION_TIMEOUT text; not captured in the lab)', () => {
    const stderr =
      'error: Timed out during operation: cannot acquire state change lock (held by monitor=remoteDispatchDomainMigratePerform3Params)\n';
    const result = classifyVirshError(stderr);
    expect(result.code).toBe('timeout');
    expect(result.cause).toMatch(/cannot acquire state change lock/);
  });

  it('an ssh connect timeout is a reachability problem, not a libvirt timeout (ssh wording; not captured in the lab)', () => {
    const result = classifyVirshError(
      'error: Cannot recv data: ssh: connect to host 10.77.77.50 port 22: Connection timed out: Connection reset by peer\n',
    );
    expect(result).toMatchObject({ code: 'unreachable', side: 'destination' });
    expect(result.cause).toMatch(/10\.77\.77\.50 port 22: the connection attempt timed out/);
  });
});

describe('classifyVirshError fallback', () => {
  it("keeps virsh's words for something it does not know", () => {
    const stderr =
      '\rMigration: [ 37 %]error: internal error: qemu unexpectedly closed the monitor: qemu-system-x86_64: load of migration failed: Invalid argument\n';
    const result = classifyVirshError(stderr);
    expect(result).toMatchObject({
      code: 'unknown',
      side: null,
      cause:
        'internal error: qemu unexpectedly closed the monitor: qemu-system-x86_64: load of migration failed: Invalid argument',
      raw: stderr,
    });
  });

  it('says so when virsh printed nothing', () => {
    expect(classifyVirshError('')).toMatchObject({
      code: 'unknown',
      cause: 'virsh exited with an error but printed no message.',
      raw: '',
    });
    expect(classifyVirshError('\rMigration: [100 %]')).toMatchObject({
      code: 'unknown',
      cause: 'virsh exited with an error but printed no message.',
    });
  });

  it('uses every code it declares except none', () => {
    const used = new Set<MigrationErrorCode>([
      ...Object.values(EXPECTED).map((entry) => entry.code),
      'aborted',
      'timeout',
      'unknown',
    ]);
    expect(MIGRATION_ERROR_CODES.filter((code) => !used.has(code))).toEqual([]);
  });
});
