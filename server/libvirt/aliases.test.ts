import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLibvirtConf, type LibvirtConf } from './aliases';

function fixture(name: string): string {
  return readFileSync(new URL(`./fixtures/libvirt-conf/${name}`, import.meta.url), 'utf8');
}

/** What parseLibvirtConf must return for each fixture, written out in full. */
const EXPECTED: Record<string, LibvirtConf> = {
  'stock-commented.conf': { aliases: [], errors: [], warnings: [] },
  'two-host-lab.conf': {
    aliases: [
      { name: 'hv1', uri: 'qemu+ssh://root@10.77.77.11/system?keyfile=/root/.ssh/lab_ed25519&no_tty=1' },
      { name: 'hv2', uri: 'qemu+ssh://root@10.77.77.12/system?keyfile=/root/.ssh/lab_ed25519&no_tty=1' },
      { name: 'local', uri: 'qemu:///system' },
    ],
    uriDefault: 'qemu:///system',
    errors: [],
    warnings: [],
  },
  'fleet.conf': {
    aliases: [
      { name: 'rack1-a', uri: 'qemu+ssh://virtadm@rack1-a.dc1.example.net/system?no_tty=1' },
      {
        name: 'rack1-b',
        uri: 'qemu+ssh://virtadm@rack1-b.dc1.example.net:2222/system?no_tty=1&keyfile=/etc/ferry/keys/dc1%20fleet_ed25519',
      },
      { name: 'rack4_v6', uri: 'qemu+ssh://virtadm@[2001:db8:4::21]/system?socket=/var/run/libvirt/virtqemud-sock' },
      {
        name: 'tls-only',
        uri: 'qemu+tls://hv9.dc2.example.net/system?pkipath=/etc/pki/libvirt-dc2&tls_priority=@SYSTEM',
      },
      {
        name: 'libssh-hv',
        uri: 'qemu+libssh://virtadm@hv10.dc2.example.net/system?known_hosts=/etc/ferry/known_hosts&known_hosts_verify=normal&sshauth=privkey,agent',
      },
      { name: 'sim', uri: 'test:///srv/ferry/sim/many-vms.xml' },
      { name: 'sandbox', uri: 'test:///default' },
    ],
    uriDefault: 'rack1-a',
    errors: [],
    warnings: [
      { line: 3, message: 'remote_mode is a libvirt client setting that Ferry does not import.' },
      { line: 13, message: 'The alias "rack1-a" is defined again; libvirt uses the first definition (line 7).' },
      { line: 17, message: 'Unknown setting "keepalive_interval" ignored.' },
      { line: 17, message: 'Unknown setting "keepalive_count" ignored.' },
    ],
  },
  'bad-entries.conf': {
    aliases: [
      { name: 'good1', uri: 'qemu+ssh://root@hv1.lab.example/system' },
      { name: 'good2', uri: 'test:///default' },
      { name: 'good3', uri: 'qemu+ssh://root@hv6.lab.example/system' },
    ],
    errors: [
      {
        line: 4,
        message:
          'The alias "pkipath-on-ssh" has an invalid URI: The extra parameter "pkipath" is only valid with the tls transport, not ssh.',
      },
      {
        line: 5,
        message:
          'The alias "sneaky" has an invalid URI: The hostname "-oProxyCommand=curl" starts with "-", which ssh would read as an option.',
      },
      { line: 6, message: 'The alias entry "=qemu+ssh://root@hv3.lab.example/system" has an empty name before "=".' },
      {
        line: 8,
        message:
          'The alias entry "hv4 qemu+ssh://root@hv4.lab.example/system" has no "=" (expected "name=driver://host/path"); libvirt reports the entry as malformed whenever a lookup reaches it.',
      },
      {
        line: 10,
        message:
          'The alias name "hv 5" may only contain letters, digits, "_" and "-"; libvirt reports the entry as malformed whenever a lookup reaches it.',
      },
      {
        line: 13,
        message: 'uri_default is not a valid URI: "system" was read as a hostname; did you mean "qemu:///system"?',
      },
    ],
    warnings: [
      { line: 7, message: 'The alias "good1" is defined again; libvirt uses the first definition (line 3).' },
      {
        line: 14,
        message: 'Unknown setting "Uri_Default" ignored. Setting names are case-sensitive; did you mean uri_default?',
      },
    ],
  },
  'comment-in-list.conf': {
    aliases: [],
    errors: [{ line: 5, message: 'Comments are not allowed inside a [ … ] list; libvirt refuses the whole file.' }],
    warnings: [],
  },
  'unclosed-list.conf': {
    aliases: [],
    errors: [{ line: 5, message: 'Expected a list item, found "u"; is the list missing its closing "]"?' }],
    warnings: [],
  },
  'aliases-not-a-list.conf': {
    aliases: [],
    uriDefault: 'qemu:///system',
    errors: [
      {
        line: 2,
        message:
          'uri_aliases must be a list of strings, e.g. uri_aliases = [ "name=uri" ], not a string; libvirt fails every connection until it is.',
      },
    ],
    warnings: [],
  },
};

describe('parseLibvirtConf on realistic libvirt.conf fixtures', () => {
  it.each(Object.keys(EXPECTED))('%s', (name) => {
    expect(parseLibvirtConf(fixture(name))).toStrictEqual(EXPECTED[name]);
  });
});

/** Small texts at the edges of libvirt's virconf grammar; `line` is where libvirt reports the syntax error. */
const SYNTAX: readonly { text: string; aliases?: string[]; error?: { line: number; message: string } }[] = [
  { text: 'uri_aliases = [ "t1=test:///default" ] # trailing comment\n', aliases: ['t1'] },
  { text: 'uri_aliases = [ "t1=test:///default", ]; uri_default = "test:///default"\n', aliases: ['t1'] },
  { text: 'uri_aliases = [ "t1=test:///default" ,\n\n "t2=test:///default"\n\n ]\n', aliases: ['t1', 't2'] },
  { text: 'uri_aliases = [\n"t1=test:///default",\n"t2=test:///default"\n,]\n', aliases: ['t1', 't2'] },
  { text: "uri_aliases = [ 't1=test:///default' ]\n", aliases: ['t1'] },
  { text: 'uri_aliases = [ """t1=test:///default""" ]\n', aliases: ['t1'] },
  { text: 'uri_aliases = [ "t1=test:///default" ]\r\n', aliases: ['t1'] },
  { text: '  uri_aliases=["t1=test:///default"]\n', aliases: ['t1'] },
  { text: '\t#x\nuri_aliases=["t1=test:///default"]#y\n', aliases: ['t1'] },
  { text: 'uri_aliases=[]\n', aliases: [] },
  { text: 'uri_aliases = ["t1=test:///default"]', aliases: ['t1'] },
  { text: '# only a comment', aliases: [] },
  { text: '', aliases: [] },
  { text: 'uri_default = "test:///default"\n   ', aliases: [] },
  {
    text: 'uri_aliases = [\n  # c\n  "t1=test:///default",\n]\n',
    error: { line: 2, message: 'Comments are not allowed inside a [ … ] list; libvirt refuses the whole file.' },
  },
  {
    text: 'uri_aliases = [ "t1=test:///default" ] uri_default="x"\n',
    error: { line: 1, message: 'Expected a new line or ";" after the value, found "u".' },
  },
  {
    text: 'uri_aliases=["t1=test:///default"]\n9foo=12\n',
    error: { line: 2, message: 'Expected a setting name such as uri_aliases, found "9".' },
  },
  {
    text: 'uri_aliases=["t1=test:///default",,]\n',
    error: { line: 1, message: 'Expected a value (a "string", a number or a [ list ]), found ",".' },
  },
  {
    text: 'uri_aliases=["t1=test:///default" "t2=x"]\n',
    error: { line: 1, message: 'Expected "," or "]" between list items, found """.' },
  },
  { text: 'uri_aliases=["t1=test:///default"\n', error: { line: 2, message: 'The list is not closed with "]".' } },
  {
    text: 'uri_aliases=["t1=test:///def\nault"]\n',
    error: { line: 1, message: 'A quoted string is not closed before the end of the line.' },
  },
  {
    text: '\n',
    error: {
      line: 2,
      message:
        'Expected a setting name such as uri_aliases, but the text ends (libvirt rejects text that is only blank).',
    },
  },
  {
    text: '   ',
    error: {
      line: 1,
      message:
        'Expected a setting name such as uri_aliases, but the text ends (libvirt rejects text that is only blank).',
    },
  },
  {
    text: '\n\n  \n',
    error: {
      line: 4,
      message:
        'Expected a setting name such as uri_aliases, but the text ends (libvirt rejects text that is only blank).',
    },
  },
  {
    text: 'uri_default = "test:///default";;',
    error: { line: 1, message: 'Expected a setting name such as uri_aliases, found ";".' },
  },
  {
    text: 'uri_aliases=["t1=test:///default"]\r\nx=1\r\n9',
    error: { line: 3, message: 'Expected a setting name such as uri_aliases, found "9".' },
  },
  {
    text: 'uri_aliases ["t1=test:///default"]\n',
    error: { line: 1, message: 'Expected "=" after the setting name "uri_aliases", found "[".' },
  },
  {
    text: 'uri_default =\n',
    error: { line: 1, message: 'Expected a value (a "string", a number or a [ list ]), found the end of the line.' },
  },
  { text: 'uri_default = ', error: { line: 1, message: 'Expected a value after "=", but the text ends.' } },
  { text: 'x = -\n', error: { line: 1, message: 'Expected digits after "-".' } },
  {
    text: 'uri_aliases = [ """t1=test:///\ndefault ]\n',
    error: { line: 2, message: 'A """triple-quoted""" string is not closed.' },
  },
];

describe('parseLibvirtConf follows virconf syntax at its edges', () => {
  it.each(SYNTAX)('$text', ({ text, aliases, error }) => {
    const result = parseLibvirtConf(text);
    if (error) {
      expect(result).toStrictEqual({ aliases: [], errors: [error], warnings: [] });
    } else {
      expect(result.errors).toStrictEqual([]);
      expect(result.aliases.map((alias) => alias.name)).toStrictEqual(aliases);
    }
  });

  it('reads a uri_default that names an alias defined later, and refuses one that names no alias', () => {
    expect(
      parseLibvirtConf('uri_default = "hv1"\nuri_aliases = [ "hv1=qemu+ssh://root@hv1/system" ]\n').uriDefault,
    ).toBe('hv1');
    expect(parseLibvirtConf('uri_default = "hv9"\nuri_aliases = [ "hv1=qemu+ssh://root@hv1/system" ]\n')).toStrictEqual(
      {
        aliases: [{ name: 'hv1', uri: 'qemu+ssh://root@hv1/system' }],
        errors: [{ line: 1, message: 'uri_default "hv9" is neither a URI nor one of the aliases defined here.' }],
        warnings: [],
      },
    );
  });

  it('uses the first of a repeated setting, as virConfGetValue does', () => {
    expect(parseLibvirtConf('uri_aliases = [ ]\nuri_aliases = [ "t1=test:///default" ]\n')).toStrictEqual({
      aliases: [],
      errors: [],
      warnings: [{ line: 2, message: 'uri_aliases is set again; libvirt uses only the first one (line 1).' }],
    });
  });

  it('keeps the first of two entries with the same name even when the first has a bad URI', () => {
    expect(
      parseLibvirtConf('uri_aliases = [ "a=qemu+ssh://hv1/system?pkipath=/x",\n "a=qemu+ssh://hv1/system" ]\n'),
    ).toStrictEqual({
      aliases: [],
      errors: [
        {
          line: 1,
          message:
            'The alias "a" has an invalid URI: The extra parameter "pkipath" is only valid with the tls transport, not ssh.',
        },
      ],
      warnings: [{ line: 2, message: 'The alias "a" is defined again; libvirt uses the first definition (line 1).' }],
    });
  });

  it('refuses non-string list items and non-string uri_default', () => {
    expect(parseLibvirtConf('uri_aliases = [ \'t1=test:///default\', 3 ]\nuri_default = [ "x" ]\n')).toStrictEqual({
      aliases: [],
      errors: [
        {
          line: 1,
          message: 'uri_aliases must contain only strings, but this item is a number; libvirt refuses the whole list.',
        },
        { line: 2, message: 'uri_default must be a string such as "qemu:///system", not a list.' },
      ],
      warnings: [],
    });
  });

  it('warns that an alias named xen can never be used by virsh', () => {
    expect(parseLibvirtConf('uri_aliases = [ "xen=test:///default" ]\n').warnings).toStrictEqual([
      {
        line: 1,
        message:
          'libvirt turns the name "xen" into xen:///system before looking up aliases, so virsh never uses this alias.',
      },
    ]);
  });

  it('refuses a pasted blob far larger than any libvirt.conf', () => {
    expect(parseLibvirtConf(`# ${'x'.repeat(1_000_001)}`)).toStrictEqual({
      aliases: [],
      errors: [{ line: 1, message: 'The text is longer than 1000000 characters; paste only libvirt.conf.' }],
      warnings: [],
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Agreement with real libvirt 9.0. virt-admin reads libvirt-admin.conf with the same virconf parser and the same
// virURIResolveAlias as virsh, then stops before connecting for any qemu/test URI, so no name is ever resolved on
// the network. It runs as "nobody" so that it reads $XDG_CONFIG_HOME instead of /etc/libvirt.
// ---------------------------------------------------------------------------------------------------------------

const canRunAsNobody =
  process.getuid?.() === 0 &&
  spawnSync('virt-admin', ['--version']).status === 0 &&
  spawnSync('virsh', ['--version']).status === 0 &&
  spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'true']).status === 0;

type LibvirtLookup = { resolved: string | null; output: string };

/** What real libvirt does with each name in each fixture; "malformed" = it stops at a bad entry first. */
const LIBVIRT_LOOKUPS: Record<string, Record<string, string | 'malformed' | null>> = {
  'two-host-lab.conf': {
    hv1: 'qemu+ssh://root@10.77.77.11/system?keyfile=/root/.ssh/lab_ed25519&no_tty=1',
    hv2: 'qemu+ssh://root@10.77.77.12/system?keyfile=/root/.ssh/lab_ed25519&no_tty=1',
    local: 'qemu:///system',
    HV1: null,
  },
  'fleet.conf': {
    'rack1-a': 'qemu+ssh://virtadm@rack1-a.dc1.example.net/system?no_tty=1',
    'rack1-b':
      'qemu+ssh://virtadm@rack1-b.dc1.example.net:2222/system?no_tty=1&keyfile=/etc/ferry/keys/dc1%20fleet_ed25519',
    rack4_v6: 'qemu+ssh://virtadm@[2001:db8:4::21]/system?socket=/var/run/libvirt/virtqemud-sock',
    'tls-only': 'qemu+tls://hv9.dc2.example.net/system?pkipath=/etc/pki/libvirt-dc2&tls_priority=@SYSTEM',
    'libssh-hv':
      'qemu+libssh://virtadm@hv10.dc2.example.net/system?known_hosts=/etc/ferry/known_hosts&known_hosts_verify=normal&sshauth=privkey,agent',
    sim: 'test:///srv/ferry/sim/many-vms.xml',
    sandbox: 'test:///default',
  },
  'bad-entries.conf': {
    good1: 'qemu+ssh://root@hv1.lab.example/system',
    // Ferry refuses these two URIs; libvirt would hand them to ssh unchecked.
    'pkipath-on-ssh': 'qemu+ssh://root@hv2.lab.example/system?pkipath=/etc/pki/libvirt',
    sneaky: 'qemu+ssh://-oProxyCommand=curl/system',
    // Defined after "hv4 qemu+…", which has no "=": libvirt's lookup stops there with an error.
    good2: 'malformed',
    good3: 'malformed',
  },
  'stock-commented.conf': { hail: null },
};

describe.runIf(canRunAsNobody)('agreement with real libvirt 9.0 (virt-admin / virsh as nobody)', () => {
  let scratch = '';

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'ferry-conf-'));
    mkdirSync(join(scratch, 'libvirt'));
    chmodSync(scratch, 0o777);
    chmodSync(join(scratch, 'libvirt'), 0o755);
    // virsh's ssh transport runs `ssh` from PATH; this one exits at once so nothing leaves the machine.
    writeFileSync(join(scratch, 'ssh'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
  });

  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  function asNobody(options: { program: string; args: string[]; filters: string }) {
    return spawnSync(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        'env',
        '-i',
        `HOME=${scratch}`,
        `XDG_CONFIG_HOME=${scratch}`,
        `PATH=${scratch}:/usr/bin:/bin`,
        `LIBVIRT_LOG_FILTERS=${options.filters}`,
        'LIBVIRT_LOG_OUTPUTS=1:stderr',
        'LIBVIRT_AUTOSTART=0',
        options.program,
        ...options.args,
      ],
      { encoding: 'utf8', timeout: 15_000 },
    );
  }

  function libvirtLookup(options: { conf: string; name: string }): LibvirtLookup {
    writeFileSync(join(scratch, 'libvirt', 'libvirt-admin.conf'), options.conf, { mode: 0o644 });
    const result = asNobody({ program: 'virt-admin', args: ['-c', options.name, 'uri'], filters: '1:util.uri' });
    const output = `${result.stdout}${result.stderr}`;
    const match = /Resolved alias '([^']*)' to '([^']*)'/.exec(output);
    return { resolved: match?.[1] === options.name ? (match[2] ?? null) : null, output };
  }

  it.each(Object.keys(LIBVIRT_LOOKUPS))('libvirt resolves the names in %s as documented above', (name) => {
    const conf = fixture(name);
    for (const [alias, expected] of Object.entries(LIBVIRT_LOOKUPS[name] ?? {})) {
      const lookup = libvirtLookup({ conf, name: alias });
      if (expected === 'malformed') {
        expect(lookup.resolved, lookup.output).toBeNull();
        expect(lookup.output).toContain("Malformed 'uri_aliases' config entry");
      } else {
        expect(lookup.resolved, lookup.output).toBe(expected);
      }
    }
  });

  it.each(Object.keys(LIBVIRT_LOOKUPS))(
    'every alias Ferry imports from %s is what libvirt resolves, unless libvirt stops early',
    (name) => {
      const conf = fixture(name);
      const parsed = parseLibvirtConf(conf);
      for (const alias of parsed.aliases) {
        const lookup = libvirtLookup({ conf, name: alias.name });
        if (lookup.resolved === null) {
          // The only accepted reason: a malformed entry before it, which Ferry reported as an error.
          expect(lookup.output).toContain("Malformed 'uri_aliases' config entry");
          expect(parsed.errors.some((error) => error.message.includes('libvirt reports the entry as malformed'))).toBe(
            true,
          );
        } else {
          expect(lookup.resolved).toBe(alias.uri);
        }
      }
    },
  );

  const SYNTAX_FIXTURES = ['comment-in-list.conf', 'unclosed-list.conf'];

  it.each([...SYNTAX_FIXTURES, ...SYNTAX.filter((entry) => entry.error).map((entry) => entry.text)])(
    'libvirt refuses %j as a syntax error on the same line Ferry reports',
    (source) => {
      const text = SYNTAX_FIXTURES.includes(source) ? fixture(source) : source;
      const ours = parseLibvirtConf(text);
      expect(ours.aliases).toStrictEqual([]);
      const line = ours.errors[0]?.line;
      const lookup = libvirtLookup({ conf: text, name: 'test:///default' });
      expect(lookup.output).toContain(
        `configuration file syntax error: ${join(scratch, 'libvirt', 'libvirt-admin.conf')}:${line}: `,
      );
    },
  );

  it.each(SYNTAX.filter((entry) => !entry.error).map((entry) => entry.text))(
    'libvirt accepts %j and resolves the same aliases',
    (text) => {
      const ours = parseLibvirtConf(text);
      for (const alias of ours.aliases)
        expect(libvirtLookup({ conf: text, name: alias.name }).resolved).toBe(alias.uri);
      const probe = libvirtLookup({ conf: text, name: 'no-such-alias' });
      expect(probe.output).not.toContain('syntax error');
    },
  );

  it('libvirt refuses uri_aliases written as a single string, as Ferry reports', () => {
    const lookup = libvirtLookup({ conf: fixture('aliases-not-a-list.conf'), name: 'hv1' });
    expect(lookup.resolved).toBeNull();
    expect(lookup.output).toContain("expected a string list for 'uri_aliases' parameter");
  });

  it.each(['two-host-lab.conf', 'fleet.conf'])('virsh with no -c takes the same uri_default from %s', (name) => {
    writeFileSync(join(scratch, 'libvirt', 'libvirt.conf'), fixture(name), { mode: 0o644 });
    const result = asNobody({ program: 'virsh', args: ['uri'], filters: '1:libvirt' });
    const output = `${result.stdout}${result.stderr}`;
    const match = /Using config file uri '([^']*)'/.exec(output);
    expect(match?.[1], output).toBe(parseLibvirtConf(fixture(name)).uriDefault);
  });
});
