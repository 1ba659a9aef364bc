import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkUriPolicy,
  displayLibvirtUri,
  formatLibvirtUri,
  isAliasName,
  isTestDriverUri,
  maskUriSecrets,
  isPathInside,
  LIBVIRT_DRIVERS,
  LIBVIRT_TRANSPORTS,
  parseLibvirtUri,
  type LibvirtUri,
} from './uri';

function parsed(input: string): LibvirtUri {
  const result = parseLibvirtUri(input);
  if (!result.ok) throw new Error(`expected "${input}" to parse, got: ${result.error}`);
  return result.uri;
}

function errorOf(input: string): string {
  const result = parseLibvirtUri(input);
  if (result.ok) throw new Error(`expected "${input}" to be rejected, got ${JSON.stringify(result.uri)}`);
  return result.error;
}

/**
 * Every example URI on libvirt's "Connection URIs" page (docs/uri.rst, libvirt.org/uri.html) and on the
 * "Remote support" page (docs/remote.rst, libvirt.org/remote.html). The parameter examples on uri.rst are
 * shown bare (`no_tty=1`); they are attached here to a URI whose transport documents them.
 */
const DOC_EXAMPLES: readonly string[] = [
  // uri.rst, "Specifying URIs to libvirt" and the virsh/virt-manager/virt-install examples
  'test:///default',
  // uri.rst, "Configuring URI aliases"
  'qemu+ssh://root@hail.cloud.example.com/system',
  'qemu+ssh://root@sleet.cloud.example.com/system',
  // uri.rst, "Local hypervisor URIs"
  'xen:///system',
  'qemu:///system',
  'qemu:///session',
  'test:///path/to/host/definitions',
  // uri.rst, "Remote URIs" examples
  'xen+ssh://rjones@towada/system',
  'xen://towada/system',
  'xen://towada/system?no_verify=1',
  'qemu+unix:///system?socket=/opt/libvirt/run/libvirt/libvirt-sock',
  'test+tcp://localhost:5000/default',
  'qemu+libssh2://user@host/system?known_hosts=/home/user/.ssh/known_hosts',
  'qemu+libssh://user@host/system?known_hosts=/home/user/.ssh/known_hosts',
  // uri.rst, "Transport configuration": each parameter's **Example:** on a transport that documents it
  'qemu+ssh://host/system?name=qemu:///system',
  'qemu+ssh://host/system?command=/opt/openssh/bin/ssh',
  'qemu+ssh://host/system?no_verify=1',
  'qemu+ssh://host/system?no_tty=1',
  'qemu+libssh://host/system?known_hosts=/root/.ssh/known_hosts',
  'qemu+libssh://host/system?known_hosts_verify=ignore',
  'qemu+libssh2://host/system?sshauth=privkey,agent',
  'qemu://host/system?tls_priority=NORMAL:-VERS-SSL3.0',
  'qemu://host/system?no_verify=1',
  'qemu://host/system?pkipath=/tmp/pki/client',
  'qemu+ssh://host/system?mode=direct',
  'qemu+ssh://host/system?proxy=native',
  'qemu+ssh://host/system?socket=/opt/libvirt/run/libvirt/libvirt-sock',
  'qemu+ssh://host/system?netcat=/opt/netcat/bin/nc',
  'qemu+ssh://host/system?keyfile=/root/.ssh/example_key',
  // remote.rst, "Basic usage"
  'qemu://compute1.libvirt.org/system',
];

describe('parseLibvirtUri / formatLibvirtUri on the libvirt documentation examples', () => {
  it.each(DOC_EXAMPLES)('%s parses and formats back to the same text', (text) => {
    const uri = parsed(text);
    expect(formatLibvirtUri(uri)).toBe(text);
    expect(parsed(formatLibvirtUri(uri))).toStrictEqual(uri);
  });

  it('reads the parts of a remote ssh URI', () => {
    expect(parsed('xen+ssh://rjones@towada/system')).toStrictEqual({
      driver: 'xen',
      transport: 'ssh',
      isTransportExplicit: true,
      username: 'rjones',
      hostname: 'towada',
      path: '/system',
      params: {},
      isRemote: true,
    });
  });

  it('implies tls for a hostname without a transport, and unix for a local URI', () => {
    expect(parsed('xen://towada/system?no_verify=1')).toStrictEqual({
      driver: 'xen',
      transport: 'tls',
      isTransportExplicit: false,
      hostname: 'towada',
      path: '/system',
      params: { no_verify: '1' },
      isRemote: true,
    });
    expect(parsed('qemu:///system')).toStrictEqual({
      driver: 'qemu',
      transport: 'unix',
      isTransportExplicit: false,
      path: '/system',
      params: {},
      isRemote: false,
    });
  });

  it('keeps an explicit transport explicit, so qemu+tls:// and qemu:// stay distinct texts', () => {
    const explicit = parsed('qemu+tls://hv1/system');
    const implied = parsed('qemu://hv1/system');
    expect(explicit.transport).toBe('tls');
    expect(implied.transport).toBe('tls');
    expect(explicit.isTransportExplicit).toBe(true);
    expect(implied.isTransportExplicit).toBe(false);
    expect(formatLibvirtUri(explicit)).toBe('qemu+tls://hv1/system');
    expect(formatLibvirtUri(implied)).toBe('qemu://hv1/system');
  });

  it('reads a port and a local test file path', () => {
    expect(parsed('test+tcp://localhost:5000/default')).toMatchObject({
      hostname: 'localhost',
      port: 5000,
      isRemote: true,
    });
    expect(parsed('test:///path/to/host/definitions')).toMatchObject({
      path: '/path/to/host/definitions',
      isRemote: false,
    });
  });

  it('treats tcp and tls without a hostname as this machine (libvirt connects to localhost)', () => {
    expect(parsed('qemu+tcp:///system')).toMatchObject({ transport: 'tcp', isRemote: false });
    expect(parsed('qemu+tls:///system')).toMatchObject({ transport: 'tls', isRemote: false });
  });
});

describe('parseLibvirtUri details', () => {
  it('strips the brackets of an IPv6 literal in the model and puts them back when formatting', () => {
    const uri = parsed('qemu+ssh://root@[fe80::1]:2222/system');
    expect(uri.hostname).toBe('fe80::1');
    expect(uri.port).toBe(2222);
    expect(formatLibvirtUri(uri)).toBe('qemu+ssh://root@[fe80::1]:2222/system');
    expect(parsed('qemu+ssh://[::ffff:10.0.0.1]/system').hostname).toBe('::ffff:10.0.0.1');
    expect(parsed('qemu+ssh://[2001:db8:0:0:0:0:0:1]/system').hostname).toBe('2001:db8:0:0:0:0:0:1');
  });

  it('decodes percent-escapes in values and re-escapes them when formatting', () => {
    const uri = parsed('qemu+ssh://root@hv1/system?keyfile=/home/ops/keys%20dir/id%5Fed25519&no_tty=1');
    expect(uri.params).toStrictEqual({ keyfile: '/home/ops/keys dir/id_ed25519', no_tty: '1' });
    expect(formatLibvirtUri(uri)).toBe('qemu+ssh://root@hv1/system?keyfile=/home/ops/keys%20dir/id_ed25519&no_tty=1');
    expect(parsed('test:///srv/lab%20hosts/many.xml').path).toBe('/srv/lab hosts/many.xml');
    expect(formatLibvirtUri(parsed('test:///srv/lab%20hosts/many.xml'))).toBe('test:///srv/lab%20hosts/many.xml');
  });

  it('escapes a "&", "=", "%" or non-ASCII character inside a value so it cannot start a new parameter', () => {
    const uri = parsed('qemu+ssh://hv1/system?keyfile=/keys/a%26no_verify%3D1%25%C3%A9');
    expect(uri.params).toStrictEqual({ keyfile: '/keys/a&no_verify=1%é' });
    expect(formatLibvirtUri(uri)).toBe('qemu+ssh://hv1/system?keyfile=/keys/a%26no_verify%3D1%25%C3%A9');
    expect(parsed(formatLibvirtUri(uri))).toStrictEqual(uri);
  });

  it('passes shell metacharacters in argv-only values through safely and escapes them in the text', () => {
    // keyfile reaches ssh as the argument after -i (checked against real virsh below), never through a shell.
    const uri = parsed("qemu+ssh://hv1/system?keyfile=/keys/$(id)%60id%60%3B'x'%7Cy");
    expect(uri.params.keyfile).toBe("/keys/$(id)`id`;'x'|y");
    expect(formatLibvirtUri(uri)).toBe('qemu+ssh://hv1/system?keyfile=/keys/%24%28id%29%60id%60%3B%27x%27%7Cy');
    expect(parsed(formatLibvirtUri(uri))).toStrictEqual(uri);
  });

  it('matches parameter names case-insensitively, like libvirt, and stores them lowercase', () => {
    expect(parsed('qemu+ssh://hv1/system?No_Verify=1&KEYFILE=/k').params).toStrictEqual({
      no_verify: '1',
      keyfile: '/k',
    });
  });

  it('keeps parameters in the order written', () => {
    const uri = parsed('qemu+ssh://hv1/system?no_tty=1&keyfile=/k&no_verify=1&mode=legacy');
    expect(Object.keys(uri.params)).toStrictEqual(['no_tty', 'keyfile', 'no_verify', 'mode']);
    expect(formatLibvirtUri(uri)).toBe('qemu+ssh://hv1/system?no_tty=1&keyfile=/k&no_verify=1&mode=legacy');
  });

  it('accepts the qemu embed URI with an absolute root', () => {
    expect(parsed('qemu:///embed?root=/var/lib/ferry/embed')).toMatchObject({
      path: '/embed',
      params: { root: '/var/lib/ferry/embed' },
    });
  });

  it('accepts the ext transport with a command', () => {
    expect(parsed('qemu+ext:///system?command=/usr/local/bin/tunnel')).toMatchObject({
      transport: 'ext',
      isRemote: false,
    });
  });

  it('accepts every supported driver with a path it documents', () => {
    const samples: Record<(typeof LIBVIRT_DRIVERS)[number], string> = {
      qemu: 'qemu:///session',
      xen: 'xen:///system',
      lxc: 'lxc:///system',
      test: 'test:///default',
      vbox: 'vbox:///session',
      vz: 'vz:///system',
      openvz: 'openvz:///system',
      ch: 'ch:///system',
      bhyve: 'bhyve+ssh://root@freebsd1/system',
    };
    for (const [driver, text] of Object.entries(samples)) expect(parsed(text).driver).toBe(driver);
  });

  it('accepts a username with dots, dashes and underscores, and hostnames with underscores', () => {
    expect(parsed('qemu+ssh://svc.ferry-ops_1@hv_1.lab.example/system')).toMatchObject({
      username: 'svc.ferry-ops_1',
      hostname: 'hv_1.lab.example',
    });
  });
});

/**
 * Inputs that must be refused, each with the one sentence the admin sees. Grouped by what is wrong.
 */
const INVALID: readonly [input: string, error: string][] = [
  // emptiness, characters, shape
  ['', 'The URI is empty.'],
  [' qemu:///system', 'The URI contains a space.'],
  ['qemu:///system ', 'The URI contains a space.'],
  ['qemu:///system\n', 'The URI contains a newline.'],
  ['qemu+ssh://hv1/system\r\nkeyfile=/k', 'The URI contains a carriage return.'],
  ['qemu:///sys\ttem', 'The URI contains a tab.'],
  ['qemu:///system\u0000', 'The URI contains the control character U+0000.'],
  ['qemu:///system\u00a0', 'The URI contains the whitespace character U+00A0.'],
  ['qemu:///systém', 'The URI contains "é"; percent-encode non-ASCII characters.'],
  ['qemu:///system?keyfile=/k"x', 'The URI contains """, which must be percent-encoded.'],
  ['qemu+ssh://h/system?keyfile=/a<b', 'The URI contains "<", which must be percent-encoded.'],
  ['qemu:///system#top', 'The URI contains "#"; libvirt URIs have no fragment.'],
  ['x'.repeat(2049), 'The URI is longer than 2048 characters.'],
  ['qemu', 'The URI is missing "://" after the driver name, e.g. "qemu:///system".'],
  ['hv1.example.com', 'The URI is missing "://" after the driver name, e.g. "qemu:///system".'],
  ['qemu:/system', 'The URI is missing "//" after "qemu:"; write e.g. "qemu:///system".'],
  ['://hv1/system', 'The URI has no driver name before "://".'],
  // option injection: a value starting with "-" that a command line would read as an option
  ['--connect=qemu:///system', 'The URI starts with "-", which a command line would read as an option.'],
  ['-oProxyCommand=touch%20/tmp/pwned', 'The URI starts with "-", which a command line would read as an option.'],
  [
    'qemu+ssh://-oProxyCommand=touch%20%2Ftmp%2Fpwned/system',
    'The hostname "-oProxyCommand=touch%20%2Ftmp%2Fpwned" starts with "-", which ssh would read as an option.',
  ],
  [
    'qemu+ssh://-oProxyCommand=sh/system',
    'The hostname "-oProxyCommand=sh" starts with "-", which ssh would read as an option.',
  ],
  ['qemu+ssh://-p2222@hv1/system', 'The username "-p2222" starts with "-", which ssh would read as an option.'],
  ['qemu+ssh://%2Dlroot@hv1/system', 'The username "-lroot" starts with "-", which ssh would read as an option.'],
  [
    'qemu+ssh://hv1/system?keyfile=-oProxyCommand%3Dsh',
    'The value of "keyfile" starts with "-", which a command would read as an option.',
  ],
  [
    'qemu+ssh://hv1/system?netcat=--help',
    'The value of "netcat" starts with "-", which a command would read as an option.',
  ],
  // drivers and transports
  ['kvm:///system', 'Unknown driver "kvm"; Ferry supports qemu, xen, lxc, test, vbox, vz, openvz, ch and bhyve.'],
  ['QEMU:///system', 'Driver names are lowercase: write "qemu", not "QEMU".'],
  ['libxl:///system', 'There is no libxl scheme: libvirt\'s libxl driver is reached as "xen", e.g. "xen:///system".'],
  [
    'esx://esx1.example.com/?no_verify=1',
    'The esx driver talks to VMware ESX directly, not to a libvirtd that Ferry can manage.',
  ],
  [
    'vpx://vcenter.example.com/dc1/srv1',
    'The vpx driver talks to VMware vCenter directly, not to a libvirtd that Ferry can manage.',
  ],
  [
    'remote://hv1/',
    'The "remote" pseudo-driver lets the host guess its hypervisor; name the driver instead, e.g. "qemu".',
  ],
  ['q$mu:///system', '"q$mu" is not a driver name.'],
  ['qemu+rsh://hv1/system', 'Unknown transport "rsh"; use tls, tcp, ssh, libssh, libssh2, unix or ext.'],
  ['qemu+SSH://hv1/system', 'Transport names are lowercase: write "ssh", not "SSH".'],
  ['qemu+://hv1/system', 'The URI has an empty transport after "+".'],
  ['qemu+ssh+tls://hv1/system', 'The scheme "qemu+ssh+tls" has more than one "+".'],
  // transport needs (or refuses) a host
  ['qemu+ssh:///system', 'The ssh transport needs a hostname, e.g. "qemu+ssh://root@hv1/system".'],
  ['qemu+libssh2:///system', 'The libssh2 transport needs a hostname, e.g. "qemu+libssh2://root@hv1/system".'],
  ['qemu+unix://hv1/system', 'The unix transport reaches a socket on this machine and takes no hostname.'],
  ['qemu+ext:///system', 'The ext transport needs a command=/absolute/path parameter naming the program to run.'],
  ['qemu+ssh://root@/system', 'A username needs a hostname after "@".'],
  ['qemu+tcp://:16509/system', 'A port needs a hostname before ":".'],
  // ports
  ['qemu+ssh://hv1:0/system', 'The port 0 is outside 1–65535.'],
  ['qemu+ssh://hv1:65536/system', 'The port 65536 is outside 1–65535.'],
  ['qemu+ssh://hv1:22a/system', 'The port "22a" is not a number.'],
  ['qemu+ssh://hv1:-22/system', 'The port "-22" is not a number.'],
  ['qemu+ssh://hv1:/system', 'The URI has an empty port after ":".'],
  // usernames and hostnames
  [
    'qemu+ssh://root:hunter2@hv1/system',
    'The username contains ":"; libvirt URIs cannot carry a password, use ssh keys instead.',
  ],
  ['qemu+ssh://a@b@hv1/system', 'The URI has more than one "@"; a username cannot contain "@".'],
  ['qemu+ssh://@hv1/system', 'The URI has an empty username before "@".'],
  ['qemu+ssh://ro%20ot@hv1/system', 'The username "ro ot" may only contain letters, digits, ".", "_" and "-".'],
  ['qemu+ssh://root%0A@hv1/system', 'The username contains a newline once decoded.'],
  ['qemu+ssh://hv1;id/system', 'The hostname "hv1;id" may only contain letters, digits, ".", "-" and "_".'],
  ['qemu+ssh://$(id)/system', 'The hostname "$(id)" may only contain letters, digits, ".", "-" and "_".'],
  ['qemu+ssh://hv%31/system', 'The hostname "hv%31" contains "%"; hostnames cannot be percent-encoded.'],
  ['qemu+ssh://hv1..lab/system', 'The hostname "hv1..lab" has an empty part between dots.'],
  ['qemu+ssh://hv1-.lab/system', 'The hostname part "hv1-" must not start or end with "-".'],
  ['qemu+ssh://10.0.0.256/system', '"10.0.0.256" is not a valid IPv4 address.'],
  ['qemu+ssh://10.1/system', '"10.1" is not a valid IPv4 address.'],
  [
    'qemu+ssh://fe80::1/system',
    'IPv6 addresses must be written in square brackets, e.g. "qemu+ssh://root@[fe80::1]/system".',
  ],
  ['qemu+ssh://[fe80::1/system', 'The IPv6 address is missing its closing "]".'],
  ['qemu+ssh://[fe80::g]/system', '"[fe80::g]" is not a valid IPv6 address.'],
  ['qemu+ssh://[1:2:3:4:5:6:7:8:9]/system', '"[1:2:3:4:5:6:7:8:9]" is not a valid IPv6 address.'],
  ['qemu+ssh://[fe80::1%25eth0]/system', 'IPv6 zone identifiers ("%…") are not supported in a libvirt URI.'],
  ['qemu+ssh://[fe80::1]x/system', 'Unexpected text "x" after the IPv6 address.'],
  ['qemu+ssh://hv[1]/system', 'Square brackets may only surround an IPv6 address.'],
  [`qemu+ssh://${'a'.repeat(64)}/system`, `The hostname part "${'a'.repeat(20)}…" is longer than 63 characters.`],
  // paths
  ['qemu://system', '"system" was read as a hostname; did you mean "qemu:///system"?'],
  ['qemu://', 'The URI has no path; the qemu driver needs "/system" or "/session".'],
  ['qemu+ssh://hv1', 'The URI has no path; the qemu driver needs "/system" or "/session".'],
  ['qemu+ssh://hv1/', 'The URI has no path; the qemu driver needs "/system" or "/session".'],
  [
    'qemu+ssh://root@10.77.77.12/sytem',
    'The path "/sytem" is not valid for the qemu driver; use "/system" or "/session".',
  ],
  ['xen:///session', 'The path "/session" is not valid for the xen driver; use "/system".'],
  ['test:///', 'The URI has no path; the test driver needs "/default" or an absolute path to a host XML file.'],
  [
    'test:///srv/lab/',
    'The path "/srv/lab/" is not valid for the test driver; use "/default" or an absolute path to a host XML file.',
  ],
  ['test:///srv/lab%0A.xml', 'The path contains a newline once decoded.'],
  ['test:///srv/%zz.xml', 'The path has a "%" that is not followed by two hex digits.'],
  ['test:///srv/%C3.xml', 'The path has percent-escapes that are not valid UTF-8.'],
  [
    'qemu+ssh://hv1/embed?root=/x',
    'qemu:///embed runs QEMU inside the calling process, so it takes no host or transport.',
  ],
  ['qemu:///embed', 'qemu:///embed needs a root=/absolute/dir parameter.'],
  [
    'qemu:///embed?root=relative/dir',
    'The parameter "root" must be an absolute path (starting with "/"), not "relative/dir".',
  ],
  ['qemu:///system?root=/x', 'The parameter "root" is only valid with "qemu:///embed".'],
  // parameters: syntax
  ['qemu:///system?', 'The URI ends with "?" but has no parameters after it.'],
  ['qemu+ssh://hv1/system?no_tty=1&', 'The URI has an empty parameter (a stray "&").'],
  ['qemu+ssh://hv1/system?no_tty=1&&no_verify=1', 'The URI has an empty parameter (a stray "&").'],
  [
    'qemu+ssh://hv1/system?no_tty=1;no_verify=1',
    'Separate parameters with "&", not ";" (write "%3B" for a ";" inside a value).',
  ],
  ['qemu+ssh://hv1/system?=1', 'The parameter "=1" has no name before "=".'],
  ['qemu+ssh://hv1/system?no_tty', 'The parameter "no_tty" has no value (write "no_tty=…").'],
  ['qemu+ssh://hv1/system?keyfile=', 'The parameter "keyfile" has an empty value.'],
  ['qemu+ssh://hv1/system?no_tty=1&no_tty=0', 'The parameter "no_tty" is given more than once.'],
  ['qemu+ssh://hv1/system?no_tty=1&NO_TTY=1', 'The parameter "no_tty" is given more than once.'],
  ['qemu+ssh://hv1/system?keyfile=/k%0Aevil', 'The value of "keyfile" contains a newline once decoded.'],
  ['qemu+ssh://hv1/system?keyfile=/k%00', 'The value of "keyfile" contains the control character U+0000 once decoded.'],
  // parameters: names and transports
  [
    'qemu+ssh://hv1/system?foo=bar',
    'Unknown extra parameter "foo"; libvirt would pass it on to the remote daemon, so Ferry refuses it.',
  ],
  [
    'qemu+ssh://hv1/system?authfile=/x',
    'Unknown extra parameter "authfile"; libvirt would pass it on to the remote daemon, so Ferry refuses it.',
  ],
  [
    'qemu+ssh://hv1/system?pkipath=/etc/pki/libvirt',
    'The extra parameter "pkipath" is only valid with the tls transport, not ssh.',
  ],
  [
    'qemu://hv1/system?socket=/run/libvirt/libvirt-sock',
    'The extra parameter "socket" is only valid with the ssh, libssh, libssh2 or unix transports, not tls (implied by a hostname without "+transport").',
  ],
  [
    'qemu+tls://hv1/system?keyfile=/k',
    'The extra parameter "keyfile" is only valid with the ssh, libssh or libssh2 transports, not tls.',
  ],
  [
    'qemu+tcp://hv1/system?no_verify=1',
    'The extra parameter "no_verify" is only valid with the ssh or tls transports, not tcp.',
  ],
  [
    'qemu+ssh://hv1/system?known_hosts=/root/.ssh/known_hosts',
    'The extra parameter "known_hosts" is only valid with the libssh or libssh2 transports, not ssh.',
  ],
  [
    'qemu+libssh://hv1/system?no_tty=1',
    'The extra parameter "no_tty" is only valid with the ssh transport, not libssh.',
  ],
  [
    'qemu+libssh2://hv1/system?command=/usr/bin/ssh',
    'The extra parameter "command" is only valid with the ssh or ext transports, not libssh2.',
  ],
  [
    'qemu:///system?proxy=native',
    'The extra parameter "proxy" is only valid with the ssh, libssh or libssh2 transports, not unix (implied by a local URI).',
  ],
  [
    'qemu+ssh://hv1/system?tls_priority=NORMAL',
    'The extra parameter "tls_priority" is only valid with the tls transport, not ssh.',
  ],
  [
    'qemu:///embed?root=/x&mode=direct',
    'The parameter "mode" is not valid with "qemu:///embed", which only takes "root".',
  ],
  // parameters: values
  ['qemu+ssh://hv1/system?no_verify=yes', 'The parameter "no_verify" must be 0 or 1, not "yes".'],
  ['qemu+ssh://hv1/system?no_tty=2', 'The parameter "no_tty" must be 0 or 1, not "2".'],
  ['qemu+ssh://hv1/system?mode=daemon', 'The parameter "mode" must be auto, legacy or direct, not "daemon".'],
  ['qemu+ssh://hv1/system?proxy=socat', 'The parameter "proxy" must be auto, netcat or native, not "socat".'],
  [
    'qemu+libssh://hv1/system?known_hosts_verify=off',
    'The parameter "known_hosts_verify" must be normal, auto or ignore, not "off".',
  ],
  [
    'qemu+libssh://hv1/system?sshauth=agent,,privkey',
    'The sshauth method "" is not one of agent, privkey, password or keyboard-interactive.',
  ],
  [
    'qemu+libssh://hv1/system?sshauth=gssapi',
    'The sshauth method "gssapi" is not one of agent, privkey, password or keyboard-interactive.',
  ],
  [
    'qemu+ssh://hv1/system?keyfile=id_ed25519',
    'The parameter "keyfile" must be an absolute path (starting with "/"), not "id_ed25519".',
  ],
  [
    'qemu+ssh://hv1/system?keyfile=~/.ssh/id_ed25519',
    'The parameter "keyfile" must be an absolute path (starting with "/"), not "~/.ssh/id_ed25519".',
  ],
  ['qemu://hv1/system?pkipath=pki', 'The parameter "pkipath" must be an absolute path (starting with "/"), not "pki".'],
  [
    'qemu+libssh://hv1/system?known_hosts=known_hosts',
    'The parameter "known_hosts" must be an absolute path (starting with "/"), not "known_hosts".',
  ],
  [
    'qemu+ssh://hv1/system?command=ssh',
    'The parameter "command" must be an absolute path (starting with "/"), not "ssh".',
  ],
  [
    'qemu+ssh://hv1/system?socket=run/sock',
    'The parameter "socket" must be an absolute path (starting with "/"), not "run/sock".',
  ],
  [
    'qemu+ssh://hv1/system?socket=/run/a%3Btouch%20/tmp/pwned',
    'The socket path may only contain letters, digits and . _ + , : @ / - because libvirt passes it unquoted to a shell on the remote host.',
  ],
  [
    'qemu+ssh://hv1/system?socket=/run/$(id)',
    'The socket path may only contain letters, digits and . _ + , : @ / - because libvirt passes it unquoted to a shell on the remote host.',
  ],
  [
    'qemu+ssh://hv1/system?netcat=nc%20-e%20/bin/sh',
    'The netcat command may only contain letters, digits and . _ + / -.',
  ],
  [
    'qemu+ssh://hv1/system?proxy=native&netcat=/bin/nc',
    'The parameter "netcat" cannot be combined with proxy=native, which does not use netcat.',
  ],
  [
    'qemu://hv1/system?tls_priority=NORMAL%20x',
    'The tls_priority "NORMAL x" is not a GnuTLS priority string (letters, digits and : + - . _ % @ !).',
  ],
  [
    'qemu+ssh://hv1/system?name=hv2',
    'The parameter "name" must be a libvirt URI such as "qemu:///system": The URI is missing "://" after the driver name, e.g. "qemu:///system".',
  ],
  [
    'qemu+ssh://hv1/system?name=qemu%2Bssh://hv2/system',
    'The parameter "name" must be a local URI such as "qemu:///system", without a host or transport.',
  ],
  ['qemu+ssh://hv1/system?name=xen:///system', 'The parameter "name" names the xen driver but the URI is for qemu.'],
];

describe('parseLibvirtUri refuses invalid and hostile input with a specific sentence', () => {
  it('has a broad table of cases', () => {
    expect(INVALID.length).toBeGreaterThanOrEqual(100);
    expect(new Set(INVALID.map(([input]) => input)).size).toBe(INVALID.length);
  });

  it.each(INVALID)('%j', (input, error) => {
    expect(errorOf(input)).toBe(error);
  });

  it('never uses inherited object members as drivers or parameters', () => {
    expect(errorOf('constructor:///system')).toBe(
      'Unknown driver "constructor"; Ferry supports qemu, xen, lxc, test, vbox, vz, openvz, ch and bhyve.',
    );
    expect(errorOf('__proto__:///system')).toBe('"__proto__" is not a driver name.');
    expect(errorOf('qemu+ssh://hv1/system?__proto__=1')).toBe(
      'Unknown extra parameter "__proto__"; libvirt would pass it on to the remote daemon, so Ferry refuses it.',
    );
    expect(errorOf('qemu+ssh://hv1/system?toString=1')).toBe(
      'Unknown extra parameter "tostring"; libvirt would pass it on to the remote daemon, so Ferry refuses it.',
    );
  });
});

/** A small deterministic PRNG so the generated cases are the same on every run. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('formatLibvirtUri round-trips generated models', () => {
  const VALUES: Record<string, readonly string[]> = {
    name: ['qemu:///system', 'qemu:///session'],
    mode: ['auto', 'legacy', 'direct'],
    proxy: ['auto', 'netcat'],
    command: ['/usr/bin/ssh', '/opt/ssh wrapper/bin/ssh', '/opt/é/ssh'],
    socket: ['/run/libvirt/libvirt-sock', '/var/run/libvirt/virtqemud-sock-ro'],
    netcat: ['nc', '/usr/bin/nc.openbsd'],
    keyfile: ['/root/.ssh/id_ed25519', '/keys/a&b=c', "/keys/it's $(here)", '/keys/100%'],
    no_verify: ['0', '1'],
    no_tty: ['0', '1'],
    known_hosts: ['/etc/ferry/known_hosts'],
    known_hosts_verify: ['normal', 'auto', 'ignore'],
    sshauth: ['agent', 'privkey,agent', 'keyboard-interactive,password'],
    tls_priority: ['NORMAL:-VERS-SSL3.0', '@SYSTEM', 'SECURE256:+SECURE128:%COMPAT'],
    pkipath: ['/etc/pki/libvirt-ferry', '/srv/pki dir'],
  };
  const PARAM_TRANSPORTS: Record<string, readonly string[]> = {
    name: LIBVIRT_TRANSPORTS,
    mode: ['ssh', 'libssh', 'libssh2', 'unix'],
    proxy: ['ssh', 'libssh', 'libssh2'],
    command: ['ssh', 'ext'],
    socket: ['ssh', 'libssh', 'libssh2', 'unix'],
    netcat: ['ssh', 'libssh', 'libssh2'],
    keyfile: ['ssh', 'libssh', 'libssh2'],
    no_verify: ['ssh', 'tls'],
    no_tty: ['ssh'],
    known_hosts: ['libssh', 'libssh2'],
    known_hosts_verify: ['libssh', 'libssh2'],
    sshauth: ['libssh', 'libssh2'],
    tls_priority: ['tls'],
    pkipath: ['tls'],
  };
  const HOSTS = ['hv1', 'hv-2.lab.example', '10.77.77.12', 'fe80::1', '2001:db8::10', '::ffff:192.0.2.1'];

  it('parse(format(model)) deep-equals the model for 600 generated URIs', () => {
    const random = mulberry32(20261126);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
    let checked = 0;
    for (let i = 0; i < 600; i += 1) {
      const transport = pick(LIBVIRT_TRANSPORTS);
      const driver = pick(['qemu', 'test', 'xen', 'lxc'] as const);
      const needsHost = ['ssh', 'libssh', 'libssh2'].includes(transport);
      const hasHost = transport !== 'unix' && (needsHost || random() < 0.5);
      const model: LibvirtUri = {
        driver,
        transport,
        isTransportExplicit: true,
        path: driver === 'test' ? pick(['/default', '/srv/lab/host a.xml', '/srv/é.xml']) : '/system',
        params: {},
        isRemote: hasHost,
      };
      if (hasHost) {
        model.hostname = pick(HOSTS);
        if (random() < 0.5) model.username = pick(['root', 'ops.ferry', 'svc_1']);
        if (random() < 0.5) model.port = 1 + Math.floor(random() * 65535);
      }
      if (hasHost && transport === 'tls' && random() < 0.5) model.isTransportExplicit = false;
      if (!hasHost && transport === 'unix' && random() < 0.5) model.isTransportExplicit = false;
      const usable = Object.keys(PARAM_TRANSPORTS).filter((name) => PARAM_TRANSPORTS[name]?.includes(transport));
      for (const name of usable) {
        if (random() < 0.4) {
          let value = pick(VALUES[name] ?? []);
          if (name === 'name') value = `${driver}:///${driver === 'test' ? 'default' : 'system'}`;
          model.params[name] = value;
        }
      }
      if (transport === 'ext') model.params.command = '/usr/local/bin/tunnel';
      const text = formatLibvirtUri(model);
      const back = parseLibvirtUri(text);
      if (!back.ok) throw new Error(`generated ${text} was refused: ${back.error}`);
      expect(back.uri).toStrictEqual(model);
      expect(formatLibvirtUri(back.uri)).toBe(text);
      checked += 1;
    }
    expect(checked).toBe(600);
  });

  it('writes a non-implied transport even when the model says it was implied', () => {
    const model: LibvirtUri = {
      driver: 'qemu',
      transport: 'ssh',
      isTransportExplicit: false,
      hostname: 'hv1',
      path: '/system',
      params: {},
      isRemote: true,
    };
    expect(formatLibvirtUri(model)).toBe('qemu+ssh://hv1/system');
  });
});

describe('displayLibvirtUri', () => {
  it('masks keyfile, pkipath, known_hosts, command, socket and netcat and keeps everything else', () => {
    expect(
      displayLibvirtUri(
        parsed('qemu+ssh://root@10.77.77.12:2222/system?keyfile=/root/.ssh/ferry_key&no_verify=1&no_tty=1'),
      ),
    ).toBe('qemu+ssh://root@10.77.77.12:2222/system?keyfile=…&no_verify=1&no_tty=1');
    expect(
      displayLibvirtUri(parsed('qemu+tls://hv1.lab/system?pkipath=/etc/pki/secret-tenant&tls_priority=@SYSTEM')),
    ).toBe('qemu+tls://hv1.lab/system?pkipath=…&tls_priority=@SYSTEM');
    expect(
      displayLibvirtUri(
        parsed(
          'qemu+ssh://ops@[fe80::1]/system?command=/opt/ssh/bin/ssh&socket=/run/x-sock&netcat=/opt/nc&mode=legacy',
        ),
      ),
    ).toBe('qemu+ssh://ops@[fe80::1]/system?command=…&socket=…&netcat=…&mode=legacy');
    expect(
      displayLibvirtUri(parsed('qemu+libssh://hv1/system?known_hosts=/home/ops/.ssh/known_hosts&sshauth=privkey')),
    ).toBe('qemu+libssh://hv1/system?known_hosts=…&sshauth=privkey');
  });

  it('shows a URI without secrets exactly as formatLibvirtUri does', () => {
    for (const text of ['qemu:///system', 'xen://towada/system?no_verify=1', 'test+tcp://localhost:5000/default']) {
      expect(displayLibvirtUri(parsed(text))).toBe(text);
    }
  });

  it('never contains the secret value, even when it is escaped differently in the input', () => {
    const shown = displayLibvirtUri(parsed('qemu+ssh://hv1/system?keyfile=%2Fsrv%2Ftenant-acme%2Fid_rsa'));
    expect(shown).not.toContain('tenant-acme');
    expect(shown).not.toContain('%2F');
  });
});

describe('isAliasName', () => {
  it("follows libvirt's alias character set exactly", () => {
    for (const name of ['hv1', 'hail', 'HV-01', 'lab_hv_2', '-', '_', '0']) expect(isAliasName(name)).toBe(true);
    for (const name of ['', 'hv 1', 'hv1.lab', 'qemu:///system', 'hv1\n', 'hé', 'a/b', 'a=b', 'a+b']) {
      expect(isAliasName(name)).toBe(false);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Agreement with real libvirt 9.0: virsh runs as "nobody" in a scratch HOME with an `ssh` on PATH that records its
// argv and exits, so nothing leaves the machine. Hostnames are loopback or reach only that recording ssh.
// ---------------------------------------------------------------------------------------------------------------

const canRunVirshAsNobody =
  process.getuid?.() === 0 &&
  spawnSync('virsh', ['--version']).status === 0 &&
  spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'true']).status === 0;

type VirshRun = { split: Record<string, string> | null; sshArgv: string[] | null; output: string };

describe.runIf(canRunVirshAsNobody)('agreement with real virsh (libvirt 9.0)', () => {
  let scratch = '';

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'ferry-uri-'));
    chmodSync(scratch, 0o777);
    // The stand-in ssh writes one argument per line-free record; values here never contain "\x1e".
    writeFileSync(
      join(scratch, 'ssh'),
      '#!/bin/sh\nfor a in "$@"; do printf "%s\\036" "$a"; done > "$HOME/ssh-argv"\nexit 1\n',
      { mode: 0o755 },
    );
    writeFileSync(
      join(scratch, 'nc'),
      '#!/bin/sh\nfor a in "$@"; do printf "%s\\036" "$a"; done >> "$NC_LOG"\nprintf "\\n" >> "$NC_LOG"\n',
      { mode: 0o755 },
    );
  });

  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  function runVirsh(uriText: string): VirshRun {
    rmSync(join(scratch, 'ssh-argv'), { force: true });
    const result = spawnSync(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        'env',
        '-i',
        `HOME=${scratch}`,
        `PATH=${scratch}:/usr/bin:/bin`,
        'LIBVIRT_LOG_FILTERS=1:libvirt',
        'LIBVIRT_LOG_OUTPUTS=1:stderr',
        'LIBVIRT_AUTOSTART=0',
        'virsh',
        '-c',
        uriText,
        'uri',
      ],
      { encoding: 'utf8', timeout: 15_000 },
    );
    const output = `${result.stdout}${result.stderr}`;
    const block = /Split "[^\n]*" to URI components:\n((?: {2}\w+ [^\n]*\n?)+)/.exec(output);
    let split: Record<string, string> | null = null;
    if (block?.[1]) {
      split = {};
      for (const line of block[1].split('\n')) {
        const match = /^ {2}(\w+) (.*)$/.exec(line);
        if (match?.[1] && match[2] !== undefined) split[match[1]] = match[2];
      }
    }
    let sshArgv: string[] | null = null;
    try {
      sshArgv = readFileSync(join(scratch, 'ssh-argv'), 'utf8').split('\x1e').slice(0, -1);
    } catch {
      sshArgv = null;
    }
    return { split, sshArgv, output };
  }

  const SPLIT_CASES = [
    'test:///default',
    'test:///srv/ferry%20lab/missing-host.xml',
    'qemu+ssh://root@hv1.lab.example/system',
    'qemu+ssh://ops.ferry@10.77.77.12:2222/system?keyfile=/keys/a%20b&no_tty=1',
    'qemu+ssh://root@[fe80::1]:2022/system',
    'test+ssh://us%65r@hv1/default?socket=/run/x.sock',
    'qemu+tcp://127.0.0.1:1/system',
    'test+tcp://[::1]:1/default',
    'qemu+ssh://hv1/system?No_Tty=1',
  ];

  it.each(SPLIT_CASES)('libvirt splits %s into the same scheme, server, user, port and path', (text) => {
    const uri = parsed(text);
    const run = runVirsh(text);
    expect(run.split, run.output).not.toBeNull();
    expect(run.split).toStrictEqual({
      scheme: uri.isTransportExplicit ? `${uri.driver}+${uri.transport}` : uri.driver,
      server: uri.hostname ?? '<null>',
      user: uri.username ?? '<null>',
      port: String(uri.port ?? 0),
      path: uri.path,
    });
  });

  it('libvirt gives ssh exactly the decoded username, port, keyfile and hostname Ferry parsed', () => {
    const text =
      "qemu+ssh://svc.ferry@hv1.lab.example:2222/system?keyfile=/keys/it's%20$(id)%3Bx&no_tty=1&no_verify=1&socket=/run/libvirt/alt-sock";
    const uri = parsed(text);
    const run = runVirsh(formatLibvirtUri(uri));
    expect(run.sshArgv, run.output).not.toBeNull();
    const argv = run.sshArgv ?? [];
    const after = (flag: string) => argv[argv.indexOf(flag) + 1];
    expect(after('-p')).toBe(String(uri.port));
    expect(after('-l')).toBe(uri.username);
    expect(after('-i')).toBe(uri.params.keyfile);
    expect(after('-i')).toBe("/keys/it's $(id);x");
    expect(after('--')).toBe(uri.hostname);
    expect(argv).toContain('BatchMode=yes');
    expect(argv).toContain('StrictHostKeyChecking=no');
  });

  /** Runs the remote command libvirt built, as the remote login shell would, with a recording `nc` on PATH. */
  function remoteNetcatArgs(remoteCommand: string): string[] {
    const ncLog = join(scratch, 'nc-log');
    rmSync(ncLog, { force: true });
    const result = spawnSync(
      'env',
      ['-i', `PATH=${scratch}:/usr/bin:/bin`, `NC_LOG=${ncLog}`, '/bin/sh', '-c', remoteCommand],
      {
        encoding: 'utf8',
        timeout: 10_000,
      },
    );
    expect(result.status, result.stderr).not.toBeNull();
    const calls = readFileSync(ncLog, 'utf8').trim().split('\n');
    return (calls[calls.length - 1] ?? '').split('\x1e').slice(0, -1);
  }

  it.each(['/run/libvirt/libvirt-sock', '/var/run/libvirt/virtqemud-sock', '/srv/a+b,c:d@e/x_y-z.sock'])(
    'every socket path Ferry accepts reaches the remote nc as one argument: %s',
    (socket) => {
      const uri = parsed(`qemu+ssh://root@hv1/system?socket=${socket}`);
      const run = runVirsh(formatLibvirtUri(uri));
      const remoteCommand = run.sshArgv?.[run.sshArgv.length - 1];
      expect(remoteCommand, run.output).toBeDefined();
      expect(remoteNetcatArgs(remoteCommand ?? '')).toStrictEqual(['-U', socket]);
    },
  );

  it('shows why the socket rule exists: libvirt 9.0 splits an unquoted socket path in the remote shell', () => {
    const hostile = '/run/a;true';
    const text = `qemu+ssh://root@hv1/system?socket=${encodeURIComponent(hostile)}`;
    expect(parseLibvirtUri(text).ok).toBe(false);
    const run = runVirsh(text);
    const remoteCommand = run.sshArgv?.[run.sshArgv.length - 1] ?? '';
    expect(remoteCommand, run.output).toContain(`-U ${hostile}`);
    expect(remoteNetcatArgs(remoteCommand)).toStrictEqual(['-U', '/run/a']);
  });
});

describe('isTestDriverUri', () => {
  it('knows the test driver by its scheme, with or without a transport', () => {
    expect(isTestDriverUri('test:///default')).toBe(true);
    expect(isTestDriverUri('test:///srv/lab/rack50.xml')).toBe(true);
    expect(isTestDriverUri('test+unix:///default')).toBe(true);
    expect(isTestDriverUri('qemu+ssh://root@hv1/system')).toBe(false);
    expect(isTestDriverUri('qemu:///system?name=test:')).toBe(false);
    expect(isTestDriverUri('testing:///x')).toBe(false);
  });
});

describe('maskUriSecrets', () => {
  it('masks the key file wherever an error quotes it, and leaves the rest of the text alone', () => {
    const uri = 'qemu+ssh://root@hv1/system?keyfile=/etc/ferry/id_ed25519&no_tty=1';
    const stderr = 'Warning: Identity file /etc/ferry/id_ed25519 not accessible: No such file or directory.';
    expect(maskUriSecrets(stderr, uri)).toBe('Warning: Identity file … not accessible: No such file or directory.');
    expect(maskUriSecrets('ssh: connect to host hv1 port 22: Connection refused', uri)).toBe(
      'ssh: connect to host hv1 port 22: Connection refused',
    );
  });

  it('masks every masked parameter, longest value first, and leaves text alone for an unparsable URI', () => {
    const uri = 'qemu+libssh2://root@hv1/system?keyfile=/k/id&known_hosts=/k/id.known';
    expect(maskUriSecrets('read /k/id.known and /k/id', uri)).toBe('read … and …');
    expect(maskUriSecrets('/k/id', 'not a uri')).toBe('/k/id');
  });
});

describe('checkUriPolicy refuses what runs programs or touches files', () => {
  const policy = { testDriverDir: '/srv/ferry/test-hosts', keyDir: '/srv/ferry/keys' };
  const judge = (text: string, extra: Partial<Parameters<typeof checkUriPolicy>[1]> = {}) => {
    const parsed = parseLibvirtUri(text);
    if (!parsed.ok) throw new Error(parsed.error);
    return checkUriPolicy(parsed.uri, { ...policy, ...extra });
  };

  it.each([
    ['qemu+ext:///system?command=/usr/bin/touch', /ext transport runs a program/],
    ['qemu+ssh://root@hv1/system?command=/usr/bin/touch', /"command"/],
    ['qemu+ssh://root@hv1/system?netcat=/usr/sbin/reboot', /"netcat"/],
    ['qemu+libssh://root@hv1/system?known_hosts=/etc/cron.d/x&known_hosts_verify=auto', /known_hosts/],
    ['qemu+libssh2://root@hv1/system?known_hosts_verify=auto', /known_hosts/],
    ['qemu:///embed?root=/etc/cron.d', /embed/],
    ['test:///etc/shadow', /test:\/\/\/default/],
    ['test:///srv/ferry/test-hosts/../../../etc/shadow', /test:\/\/\/default/],
    ['qemu+ssh://root@hv1/system?keyfile=/dev/zero', /key directory/],
    ['qemu+ssh://root@hv1/system?keyfile=/srv/ferry/keys/../../etc/shadow', /key directory/],
  ])('%s is refused with one sentence', (text, reason) => {
    const result = judge(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatch(reason);
    expect(result.error.split(/(?<=\.) /)).toHaveLength(1);
  });

  it.each([
    'test:///default',
    'test:///srv/ferry/test-hosts/hv1.xml',
    'qemu+ssh://root@hv1/system?keyfile=/srv/ferry/keys/id_ed25519&no_verify=1',
    'qemu+ssh://root@hv1/system?netcat=nc',
    'qemu:///system',
  ])('%s is allowed', (text) => {
    expect(judge(text)).toEqual({ ok: true, warnings: [] });
  });

  it('refuses any keyfile when no key directory is configured', () => {
    expect(judge('qemu+ssh://root@hv1/system?keyfile=/srv/ferry/keys/k', { keyDir: undefined }).ok).toBe(false);
  });

  it('allows an enabled feature with a warning for the host page', () => {
    const result = judge('qemu+libssh://root@hv1/system?known_hosts=/srv/kh', { allowed: ['known_hosts'] });
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.warnings[0]).toMatch(/operator enabled "known_hosts"/);
  });

  it('isPathInside needs a clean path strictly below the directory', () => {
    expect(isPathInside('/a/b/c', '/a/b')).toBe(true);
    expect(isPathInside('/a/b', '/a/b')).toBe(false);
    expect(isPathInside('/a/bc', '/a/b')).toBe(false);
    expect(isPathInside('/a/b/../c', '/a/b')).toBe(false);
    expect(isPathInside('/a/b//c', '/a/b')).toBe(false);
    expect(isPathInside('a/b/c', 'a/b')).toBe(false);
  });
});
