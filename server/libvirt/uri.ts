/**
 * libvirt connection URIs: parse, validate, format, and show without secrets.
 *
 * Grammar (libvirt docs/uri.rst): `driver[+transport]://[username@][hostname][:port]/[path][?extraparameters]`,
 * e.g. `qemu+ssh://root@hv1/system?keyfile=/root/.ssh/ferry_ed25519&no_tty=1`.
 *
 * PURE: no I/O and no node:* imports. The host form does not import it: it asks the server (host.inspect, add).
 *
 * Ferry is stricter than libvirt on purpose. libvirt hands unknown parameters to the remote daemon and accepts
 * almost any hostname; Ferry puts these URIs into `virsh -c <uri>` argv, into `virsh migrate <desturi>`, into
 * its own ssh2 executor and into the audit log, so anything that could be read as an option, split by a shell
 * or smuggle a second command is refused here with one sentence saying why.
 *
 * Decisions worth knowing:
 * - Drivers: qemu, xen, lxc, test, vbox, vz, openvz, ch, bhyve. `libxl` is not a URI scheme (libvirt's libxl
 *   driver answers to `xen`). esx/gsx/vpx, hyperv and the vmware* drivers talk to a foreign hypervisor API
 *   directly, never to a libvirtd Ferry could migrate between, so they are refused with that reason.
 * - Parameter names match case-insensitively (libvirt uses STRCASEEQ) and are stored lowercase.
 * - Parameters are separated by `&` only. libvirt's virURIParseParams also splits on `;` but only when the
 *   query has no `&` at all, so a raw `;` is refused rather than guessed at; write `%3B` inside a value.
 * - `socket` is interpolated unquoted into the `sh -c` command libvirt 9.0 runs on the remote host
 *   (`nc $ARG -U <socket>`), so it is limited to characters no shell treats specially.
 * - `isRemote` means "a hostname is named". `qemu+tcp:///system` (no hostname) reaches libvirtd on this machine.
 */

export const LIBVIRT_DRIVERS = ['qemu', 'xen', 'lxc', 'test', 'vbox', 'vz', 'openvz', 'ch', 'bhyve'] as const;
export type LibvirtDriver = (typeof LIBVIRT_DRIVERS)[number];

export const LIBVIRT_TRANSPORTS = ['tls', 'tcp', 'ssh', 'libssh', 'libssh2', 'unix', 'ext'] as const;
export type LibvirtTransport = (typeof LIBVIRT_TRANSPORTS)[number];

export type LibvirtUri = {
  driver: LibvirtDriver;
  /** The transport libvirt will use: the explicit one, else `tls` with a hostname and `unix` without. */
  transport: LibvirtTransport;
  /** Whether the text named the transport (`qemu+tls://h/system`) or left it implied (`qemu://h/system`). */
  isTransportExplicit: boolean;
  username?: string;
  /** IPv6 literals are stored without brackets, as libvirt's virURIParse does. */
  hostname?: string;
  port?: number;
  /** Decoded path, always starting with `/`: `/system`, `/session`, `/default`, `/srv/lab/host.xml`. */
  path: string;
  /** Decoded extra parameters, lowercase names, in the order written. */
  params: Record<string, string>;
  isRemote: boolean;
};

export type ParseResult = { ok: true; uri: LibvirtUri } | { ok: false; error: string };

const MAX_URI_LENGTH = 2048;
const MAX_USERNAME_LENGTH = 64;
const MAX_HOSTNAME_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;

/** The transports that reach the host over SSH (libvirt's own ssh client, libssh or libssh2). */
export const SSH_TRANSPORTS: readonly LibvirtTransport[] = ['ssh', 'libssh', 'libssh2'];

export function isSshTransport(transport: LibvirtTransport): boolean {
  return SSH_TRANSPORTS.includes(transport);
}

/** Which transports each extra parameter applies to, from the per-transport lists in libvirt's docs/uri.rst. */
const PARAM_TRANSPORTS = {
  name: LIBVIRT_TRANSPORTS,
  mode: ['ssh', 'libssh', 'libssh2', 'unix'],
  proxy: SSH_TRANSPORTS,
  command: ['ssh', 'ext'],
  socket: ['ssh', 'libssh', 'libssh2', 'unix'],
  netcat: SSH_TRANSPORTS,
  keyfile: SSH_TRANSPORTS,
  no_verify: ['ssh', 'tls'],
  no_tty: ['ssh'],
  known_hosts: ['libssh', 'libssh2'],
  known_hosts_verify: ['libssh', 'libssh2'],
  sshauth: ['libssh', 'libssh2'],
  tls_priority: ['tls'],
  pkipath: ['tls'],
} as const satisfies Record<string, readonly LibvirtTransport[]>;

type RemoteParamName = keyof typeof PARAM_TRANSPORTS;

/** Paths shown in the "Connection URIs" docs and accepted by virConnectValidateURIPath for each driver. */
const DRIVER_PATHS: Record<LibvirtDriver, readonly string[]> = {
  qemu: ['/system', '/session', '/embed'],
  xen: ['/system'],
  lxc: ['/system'],
  test: ['/default'],
  vbox: ['/system', '/session'],
  vz: ['/system'],
  openvz: ['/system'],
  ch: ['/system', '/session'],
  bhyve: ['/system'],
};

/** Schemes libvirt knows but Ferry refuses, each with the sentence the admin sees. */
const REFUSED_DRIVERS: Record<string, string> = {
  libxl: 'There is no libxl scheme: libvirt\'s libxl driver is reached as "xen", e.g. "xen:///system".',
  esx: 'The esx driver talks to VMware ESX directly, not to a libvirtd that Ferry can manage.',
  gsx: 'The gsx driver talks to VMware GSX directly, not to a libvirtd that Ferry can manage.',
  vpx: 'The vpx driver talks to VMware vCenter directly, not to a libvirtd that Ferry can manage.',
  hyperv: 'The hyperv driver talks to Microsoft Hyper-V directly, not to a libvirtd that Ferry can manage.',
  vmwareplayer: 'The vmwareplayer driver drives VMware Player on this machine, not a libvirtd that Ferry can manage.',
  vmwarews: 'The vmwarews driver drives VMware Workstation on this machine, not a libvirtd that Ferry can manage.',
  vmwarefusion: 'The vmwarefusion driver drives VMware Fusion on this machine, not a libvirtd that Ferry can manage.',
  remote: 'The "remote" pseudo-driver lets the host guess its hypervisor; name the driver instead, e.g. "qemu".',
  parallels: 'The parallels scheme was renamed; use "vz".',
};

const ENUM_VALUES: Partial<Record<RemoteParamName, readonly string[]>> = {
  no_verify: ['0', '1'],
  no_tty: ['0', '1'],
  mode: ['auto', 'legacy', 'direct'],
  proxy: ['auto', 'netcat', 'native'],
  known_hosts_verify: ['normal', 'auto', 'ignore'],
};

const SSH_AUTH_METHODS = ['agent', 'privkey', 'password', 'keyboard-interactive'];

/** Values that are paths on the machine running virsh; they reach programs as argv, never through a shell. */
const LOCAL_PATH_PARAMS: readonly string[] = ['command', 'keyfile', 'pkipath', 'known_hosts'];

/** Parameters whose value is a secret or reveals where secrets live; displayLibvirtUri masks them. */
const MASKED_PARAMS: readonly string[] = ['keyfile', 'pkipath', 'known_hosts', 'command', 'socket', 'netcat'];
const MASK = '…';

/** Characters left as they are when formatting; everything else is percent-encoded (UTF-8, uppercase hex). */
const UNESCAPED_CHAR = /^[A-Za-z0-9\-._~/:,@+]$/;
/** Characters RFC 3986 allows in a URI at all (unreserved, reserved, and `%` for escapes). */
const URI_CHAR = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]$/;
/** Shell-inert characters for `socket`, which libvirt puts unquoted into the remote `sh -c` command. */
const SHELL_SAFE_PATH = /^\/[A-Za-z0-9._+,:@/-]*$/;
const NETCAT_VALUE = /^[A-Za-z0-9._+/-]+$/;
const TLS_PRIORITY_VALUE = /^[A-Za-z0-9:+\-._%@!]+$/;
const USERNAME_VALUE = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
const HOSTNAME_CHARS = /^[A-Za-z0-9._-]+$/;
const HOSTNAME_LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?$/;

type Step<T> = { ok: true; value: T } | { ok: false; error: string };

const fail = (error: string): { ok: false; error: string } => ({ ok: false, error });

function isOneOf<T extends string>(list: readonly T[], value: string): value is T {
  return (list as readonly string[]).includes(value);
}

function describeChar(ch: string): string {
  const code = ch.codePointAt(0) ?? 0;
  if (ch === ' ') return 'a space';
  if (ch === '\n') return 'a newline';
  if (ch === '\r') return 'a carriage return';
  if (ch === '\t') return 'a tab';
  const kind = /\s/u.test(ch) ? 'whitespace' : 'control';
  return `the ${kind} character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

function findControlOrSpace(text: string): string | undefined {
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0) || /\s/u.test(ch)) return ch;
  }
  return undefined;
}

function listWords(words: readonly string[], conjunction: 'or' | 'and'): string {
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} ${conjunction} ${words[words.length - 1]}`;
}

/** Strict percent-decoding: every `%` starts a two-hex-digit escape and the bytes must be UTF-8. */
function decodePart(raw: string, what: string): Step<string> {
  if (/%(?![0-9A-Fa-f]{2})/.test(raw)) return fail(`${what} has a "%" that is not followed by two hex digits.`);
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    return fail(`${what} has percent-escapes that are not valid UTF-8.`);
  }
  const bad = findControlOrSpace(value);
  if (bad !== undefined && bad !== ' ') return fail(`${what} contains ${describeChar(bad)} once decoded.`);
  return { ok: true, value };
}

function encodePart(value: string): string {
  let out = '';
  for (const ch of value) {
    if (UNESCAPED_CHAR.test(ch)) {
      out += ch;
      continue;
    }
    for (const byte of new TextEncoder().encode(ch)) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function isIpv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((part) => /^(?:0|[1-9][0-9]{0,2})$/.test(part) && Number(part) <= 255);
}

function isIpv6(text: string): boolean {
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) return false;
  let hex = text;
  if (text.includes('.')) {
    const lastColon = text.lastIndexOf(':');
    if (lastColon < 0 || !isIpv4(text.slice(lastColon + 1))) return false;
    // An embedded IPv4 tail stands for the last two 16-bit groups.
    hex = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = hex.split('::');
  if (halves.length > 2) return false;
  const groups = halves.map((half) => (half === '' ? [] : half.split(':')));
  if (!groups.every((list) => list.every((group) => /^[0-9A-Fa-f]{1,4}$/.test(group)))) return false;
  const count = groups.reduce((sum, list) => sum + list.length, 0);
  return halves.length === 2 ? count <= 7 : count === 8;
}

function checkHostname(hostname: string): Step<string> {
  if (hostname.startsWith('-')) {
    return fail(`The hostname "${hostname}" starts with "-", which ssh would read as an option.`);
  }
  if (hostname.includes('%'))
    return fail(`The hostname "${hostname}" contains "%"; hostnames cannot be percent-encoded.`);
  if (!HOSTNAME_CHARS.test(hostname)) {
    return fail(`The hostname "${hostname}" may only contain letters, digits, ".", "-" and "_".`);
  }
  if (/^[0-9.]+$/.test(hostname)) {
    return isIpv4(hostname) ? { ok: true, value: hostname } : fail(`"${hostname}" is not a valid IPv4 address.`);
  }
  if (hostname.length > MAX_HOSTNAME_LENGTH) {
    return fail(`The hostname is longer than ${MAX_HOSTNAME_LENGTH} characters.`);
  }
  for (const label of hostname.split('.')) {
    if (label === '') return fail(`The hostname "${hostname}" has an empty part between dots.`);
    if (label.length > MAX_LABEL_LENGTH) {
      return fail(`The hostname part "${label.slice(0, 20)}…" is longer than ${MAX_LABEL_LENGTH} characters.`);
    }
    if (!HOSTNAME_LABEL.test(label)) {
      return fail(`The hostname part "${label}" must not start or end with "-".`);
    }
  }
  return { ok: true, value: hostname };
}

type Authority = { username?: string; hostname?: string; port?: number };

function parseAuthority(authority: string): Step<Authority> {
  const result: Authority = {};
  let hostPort = authority;
  const atCount = authority.split('@').length - 1;
  if (atCount > 1) return fail('The URI has more than one "@"; a username cannot contain "@".');
  if (atCount === 1) {
    const at = authority.indexOf('@');
    const rawUser = authority.slice(0, at);
    hostPort = authority.slice(at + 1);
    if (rawUser === '') return fail('The URI has an empty username before "@".');
    if (rawUser.includes(':')) {
      return fail('The username contains ":"; libvirt URIs cannot carry a password, use ssh keys instead.');
    }
    const decoded = decodePart(rawUser, 'The username');
    if (!decoded.ok) return decoded;
    const username = decoded.value;
    if (username.startsWith('-')) {
      return fail(`The username "${username}" starts with "-", which ssh would read as an option.`);
    }
    if (username.length > MAX_USERNAME_LENGTH)
      return fail(`The username is longer than ${MAX_USERNAME_LENGTH} characters.`);
    if (!USERNAME_VALUE.test(username)) {
      return fail(`The username "${username}" may only contain letters, digits, ".", "_" and "-".`);
    }
    result.username = username;
  }

  let rawPort: string | undefined;
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close < 0) return fail('The IPv6 address is missing its closing "]".');
    const literal = hostPort.slice(1, close);
    const after = hostPort.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) return fail(`Unexpected text "${after}" after the IPv6 address.`);
    if (after.startsWith(':')) rawPort = after.slice(1);
    if (literal.includes('%')) return fail('IPv6 zone identifiers ("%…") are not supported in a libvirt URI.');
    if (!isIpv6(literal)) return fail(`"[${literal}]" is not a valid IPv6 address.`);
    result.hostname = literal;
  } else {
    if (hostPort.includes('[') || hostPort.includes(']'))
      return fail('Square brackets may only surround an IPv6 address.');
    const colons = hostPort.split(':').length - 1;
    if (colons > 1)
      return fail('IPv6 addresses must be written in square brackets, e.g. "qemu+ssh://root@[fe80::1]/system".');
    const colon = hostPort.indexOf(':');
    const host = colon < 0 ? hostPort : hostPort.slice(0, colon);
    if (colon >= 0) rawPort = hostPort.slice(colon + 1);
    if (host !== '') {
      const checked = checkHostname(host);
      if (!checked.ok) return checked;
      result.hostname = checked.value;
    }
  }

  if (rawPort !== undefined) {
    if (rawPort === '') return fail('The URI has an empty port after ":".');
    if (!/^[0-9]+$/.test(rawPort)) return fail(`The port "${rawPort}" is not a number.`);
    const port = Number(rawPort);
    if (port < 1 || port > 65535) return fail(`The port ${rawPort} is outside 1–65535.`);
    result.port = port;
  }
  if (result.hostname === undefined && result.username !== undefined)
    return fail('A username needs a hostname after "@".');
  if (result.hostname === undefined && result.port !== undefined) return fail('A port needs a hostname before ":".');
  return { ok: true, value: result };
}

function checkParamValue(name: string, value: string, context: { driver: LibvirtDriver }): Step<string> {
  if (value === '') return fail(`The parameter "${name}" has an empty value.`);
  if (value.startsWith('-'))
    return fail(`The value of "${name}" starts with "-", which a command would read as an option.`);

  const allowed = Object.hasOwn(ENUM_VALUES, name) ? ENUM_VALUES[name as RemoteParamName] : undefined;
  if (allowed !== undefined && !allowed.includes(value)) {
    return fail(`The parameter "${name}" must be ${listWords(allowed, 'or')}, not "${value}".`);
  }
  if (LOCAL_PATH_PARAMS.includes(name) && !value.startsWith('/')) {
    return fail(`The parameter "${name}" must be an absolute path (starting with "/"), not "${value}".`);
  }
  switch (name) {
    case 'socket':
      if (!value.startsWith('/'))
        return fail(`The parameter "socket" must be an absolute path (starting with "/"), not "${value}".`);
      if (!SHELL_SAFE_PATH.test(value)) {
        return fail(
          'The socket path may only contain letters, digits and . _ + , : @ / - because libvirt passes it unquoted to a shell on the remote host.',
        );
      }
      break;
    case 'netcat':
      if (!NETCAT_VALUE.test(value)) {
        return fail('The netcat command may only contain letters, digits and . _ + / -.');
      }
      break;
    case 'tls_priority':
      if (!TLS_PRIORITY_VALUE.test(value)) {
        return fail(
          `The tls_priority "${value}" is not a GnuTLS priority string (letters, digits and : + - . _ % @ !).`,
        );
      }
      break;
    case 'sshauth': {
      const methods = value.split(',');
      const unknown = methods.find((method) => !SSH_AUTH_METHODS.includes(method));
      if (unknown !== undefined) {
        return fail(`The sshauth method "${unknown}" is not one of ${listWords(SSH_AUTH_METHODS, 'or')}.`);
      }
      break;
    }
    case 'name': {
      const inner = parseLibvirtUri(value);
      if (!inner.ok) return fail(`The parameter "name" must be a libvirt URI such as "qemu:///system": ${inner.error}`);
      if (inner.uri.isRemote || inner.uri.isTransportExplicit) {
        return fail('The parameter "name" must be a local URI such as "qemu:///system", without a host or transport.');
      }
      if (inner.uri.driver !== context.driver) {
        return fail(`The parameter "name" names the ${inner.uri.driver} driver but the URI is for ${context.driver}.`);
      }
      break;
    }
    case 'root':
      if (!value.startsWith('/'))
        return fail(`The parameter "root" must be an absolute path (starting with "/"), not "${value}".`);
      break;
  }
  return { ok: true, value };
}

type RawParam = { name: string; value: string };

function splitQuery(query: string): Step<RawParam[]> {
  if (query === '') return fail('The URI ends with "?" but has no parameters after it.');
  if (query.includes(';')) {
    return fail('Separate parameters with "&", not ";" (write "%3B" for a ";" inside a value).');
  }
  const params: RawParam[] = [];
  for (const part of query.split('&')) {
    if (part === '') return fail('The URI has an empty parameter (a stray "&").');
    const eq = part.indexOf('=');
    if (eq === 0) return fail(`The parameter "${part}" has no name before "=".`);
    const rawName = eq < 0 ? part : part.slice(0, eq);
    const name = decodePart(rawName, `The parameter name "${rawName}"`);
    if (!name.ok) return name;
    if (eq < 0) return fail(`The parameter "${name.value}" has no value (write "${name.value}=…").`);
    const value = decodePart(part.slice(eq + 1), `The value of "${name.value}"`);
    if (!value.ok) return value;
    params.push({ name: name.value.toLowerCase(), value: value.value });
  }
  return { ok: true, value: params };
}

function pathHint(driver: LibvirtDriver): string {
  if (driver === 'test') return '"/default" or an absolute path to a host XML file';
  return listWords(
    DRIVER_PATHS[driver].filter((path) => path !== '/embed').map((path) => `"${path}"`),
    'or',
  );
}

function checkPath(driver: LibvirtDriver, path: string, authority: Authority): Step<string> {
  if (path === '' || path === '/') {
    if (authority.hostname !== undefined && authority.username === undefined && authority.port === undefined) {
      if (DRIVER_PATHS[driver].includes(`/${authority.hostname}`)) {
        return fail(
          `"${authority.hostname}" was read as a hostname; did you mean "${driver}:///${authority.hostname}"?`,
        );
      }
    }
    return fail(`The URI has no path; the ${driver} driver needs ${pathHint(driver)}.`);
  }
  if (DRIVER_PATHS[driver].includes(path)) return { ok: true, value: path };
  if (driver === 'test' && path.startsWith('/') && !path.endsWith('/') && !path.includes('//')) {
    return { ok: true, value: path };
  }
  return fail(`The path "${path}" is not valid for the ${driver} driver; use ${pathHint(driver)}.`);
}

function checkDriver(name: string): Step<LibvirtDriver> {
  if (name === '') return fail('The URI has no driver name before "://".');
  if (isOneOf(LIBVIRT_DRIVERS, name)) return { ok: true, value: name };
  const lower = name.toLowerCase();
  if (lower !== name && (isOneOf(LIBVIRT_DRIVERS, lower) || Object.hasOwn(REFUSED_DRIVERS, lower))) {
    return fail(`Driver names are lowercase: write "${lower}", not "${name}".`);
  }
  const refusal = Object.hasOwn(REFUSED_DRIVERS, name) ? REFUSED_DRIVERS[name] : undefined;
  if (refusal !== undefined) return fail(refusal);
  if (!/^[a-z][a-z0-9]*$/i.test(name)) return fail(`"${name}" is not a driver name.`);
  return fail(`Unknown driver "${name}"; Ferry supports ${listWords(LIBVIRT_DRIVERS, 'and')}.`);
}

function checkTransport(name: string): Step<LibvirtTransport> {
  if (name === '') return fail('The URI has an empty transport after "+".');
  if (isOneOf(LIBVIRT_TRANSPORTS, name)) return { ok: true, value: name };
  if (isOneOf(LIBVIRT_TRANSPORTS, name.toLowerCase())) {
    return fail(`Transport names are lowercase: write "${name.toLowerCase()}", not "${name}".`);
  }
  return fail(`Unknown transport "${name}"; use ${listWords(LIBVIRT_TRANSPORTS, 'or')}.`);
}

function checkTransportAndHost(transport: LibvirtTransport, authority: Authority, driver: LibvirtDriver): Step<null> {
  if (isSshTransport(transport) && authority.hostname === undefined) {
    return fail(
      `The ${transport} transport needs a hostname, e.g. "${driver}+${transport}://root@hv1/${driver === 'test' ? 'default' : 'system'}".`,
    );
  }
  if (transport === 'unix' && authority.hostname !== undefined) {
    return fail('The unix transport reaches a socket on this machine and takes no hostname.');
  }
  return { ok: true, value: null };
}

/**
 * Parses and validates a libvirt connection URI; on failure `error` is one sentence naming the problem.
 * Example input: `qemu+ssh://root@10.77.77.12/system?keyfile=/root/.ssh/ferry_ed25519&no_verify=1`.
 * Long because it checks every part in the order libvirt reads them, each with its own sentence.
 */
export function parseLibvirtUri(input: string): ParseResult {
  if (typeof input !== 'string' || input === '') return fail('The URI is empty.');
  if (input.length > MAX_URI_LENGTH) return fail(`The URI is longer than ${MAX_URI_LENGTH} characters.`);
  const bad = findControlOrSpace(input);
  if (bad !== undefined) return fail(`The URI contains ${describeChar(bad)}.`);
  for (const ch of input) {
    if ((ch.codePointAt(0) ?? 0) > 0x7e) return fail(`The URI contains "${ch}"; percent-encode non-ASCII characters.`);
    if (!URI_CHAR.test(ch)) return fail(`The URI contains "${ch}", which must be percent-encoded.`);
  }
  if (input.startsWith('-')) return fail('The URI starts with "-", which a command line would read as an option.');
  if (input.includes('#')) return fail('The URI contains "#"; libvirt URIs have no fragment.');

  const schemeEnd = input.indexOf('://');
  if (schemeEnd < 0) {
    const colon = input.indexOf(':');
    if (colon > 0 && /^[A-Za-z0-9+]+$/.test(input.slice(0, colon))) {
      return fail(
        `The URI is missing "//" after "${input.slice(0, colon)}:"; write e.g. "${input.slice(0, colon)}:///system".`,
      );
    }
    return fail('The URI is missing "://" after the driver name, e.g. "qemu:///system".');
  }
  const scheme = input.slice(0, schemeEnd);
  const plusParts = scheme.split('+');
  if (plusParts.length > 2) return fail(`The scheme "${scheme}" has more than one "+".`);
  const driver = checkDriver(plusParts[0] ?? '');
  if (!driver.ok) return driver;
  let explicitTransport: LibvirtTransport | undefined;
  if (plusParts.length === 2) {
    const transport = checkTransport(plusParts[1] ?? '');
    if (!transport.ok) return transport;
    explicitTransport = transport.value;
  }

  const rest = input.slice(schemeEnd + 3);
  const queryStart = rest.indexOf('?');
  const beforeQuery = queryStart < 0 ? rest : rest.slice(0, queryStart);
  const query = queryStart < 0 ? undefined : rest.slice(queryStart + 1);
  const slash = beforeQuery.indexOf('/');
  const rawAuthority = slash < 0 ? beforeQuery : beforeQuery.slice(0, slash);
  const rawPath = slash < 0 ? '' : beforeQuery.slice(slash);

  const authority = parseAuthority(rawAuthority);
  if (!authority.ok) return authority;
  const decodedPath = decodePart(rawPath, 'The path');
  if (!decodedPath.ok) return decodedPath;
  const path = checkPath(driver.value, decodedPath.value, authority.value);
  if (!path.ok) return path;

  const transport: LibvirtTransport = explicitTransport ?? (authority.value.hostname === undefined ? 'unix' : 'tls');
  const hostCheck = checkTransportAndHost(transport, authority.value, driver.value);
  if (!hostCheck.ok) return hostCheck;

  const isEmbed = driver.value === 'qemu' && path.value === '/embed';
  if (isEmbed && (explicitTransport !== undefined || authority.value.hostname !== undefined)) {
    return fail('qemu:///embed runs QEMU inside the calling process, so it takes no host or transport.');
  }

  const params: Record<string, string> = {};
  if (query !== undefined) {
    const split = splitQuery(query);
    if (!split.ok) return split;
    for (const { name, value } of split.value) {
      if (Object.hasOwn(params, name)) return fail(`The parameter "${name}" is given more than once.`);
      if (name === 'root') {
        if (!isEmbed) return fail('The parameter "root" is only valid with "qemu:///embed".');
      } else if (isOneOf(Object.keys(PARAM_TRANSPORTS), name)) {
        const transports: readonly LibvirtTransport[] = PARAM_TRANSPORTS[name as RemoteParamName];
        if (isEmbed) return fail(`The parameter "${name}" is not valid with "qemu:///embed", which only takes "root".`);
        if (!transports.includes(transport)) {
          const implied =
            explicitTransport === undefined
              ? ` (implied by ${authority.value.hostname === undefined ? 'a local URI' : 'a hostname without "+transport"'})`
              : '';
          const plural = transports.length > 1 ? 's' : '';
          return fail(
            `The extra parameter "${name}" is only valid with the ${listWords(transports, 'or')} transport${plural}, not ${transport}${implied}.`,
          );
        }
      } else {
        return fail(
          `Unknown extra parameter "${name}"; libvirt would pass it on to the remote daemon, so Ferry refuses it.`,
        );
      }
      const checked = checkParamValue(name, value, { driver: driver.value });
      if (!checked.ok) return checked;
      params[name] = checked.value;
    }
  }
  if (isEmbed && params.root === undefined) return fail('qemu:///embed needs a root=/absolute/dir parameter.');
  if (transport === 'ext' && params.command === undefined) {
    return fail('The ext transport needs a command=/absolute/path parameter naming the program to run.');
  }
  if (params.netcat !== undefined && params.proxy === 'native') {
    return fail('The parameter "netcat" cannot be combined with proxy=native, which does not use netcat.');
  }

  const uri: LibvirtUri = {
    driver: driver.value,
    transport,
    isTransportExplicit: explicitTransport !== undefined,
    ...authority.value,
    path: path.value,
    params,
    isRemote: authority.value.hostname !== undefined,
  };
  return { ok: true, uri };
}

function impliedTransport(uri: LibvirtUri): LibvirtTransport {
  return uri.hostname === undefined ? 'unix' : 'tls';
}

function formatWith(uri: LibvirtUri, formatValue: (name: string, value: string) => string): string {
  // A transport that differs from the implied one must be written even if the caller cleared the flag,
  // otherwise the text would mean a different connection.
  const writeTransport = uri.isTransportExplicit || uri.transport !== impliedTransport(uri);
  let text = writeTransport ? `${uri.driver}+${uri.transport}://` : `${uri.driver}://`;
  if (uri.username !== undefined) text += `${encodePart(uri.username)}@`;
  if (uri.hostname !== undefined) text += uri.hostname.includes(':') ? `[${uri.hostname}]` : uri.hostname;
  if (uri.port !== undefined) text += `:${uri.port}`;
  text += encodePart(uri.path);
  const query = Object.entries(uri.params).map(([name, value]) => `${encodePart(name)}=${formatValue(name, value)}`);
  if (query.length > 0) text += `?${query.join('&')}`;
  return text;
}

/**
 * Canonical text for a URI model: implied transports stay implied, parameter values are percent-encoded where
 * needed. `parseLibvirtUri(formatLibvirtUri(x))` deep-equals `x` for every `x` that parseLibvirtUri returned.
 * It does not validate: to check a model built by hand (e.g. from form fields), parse what this returns.
 */
export function formatLibvirtUri(uri: LibvirtUri): string {
  return formatWith(uri, (_name, value) => encodePart(value));
}

/**
 * The URI for people and logs: the values of keyfile, pkipath, known_hosts, command, socket and netcat
 * become `…`; driver, transport, user, host, port, path and harmless parameters stay.
 * Not meant to be parsed again.
 */
export function displayLibvirtUri(uri: LibvirtUri): string {
  return formatWith(uri, (name, value) => (MASKED_PARAMS.includes(name) ? MASK : encodePart(value)));
}

const ALIAS_NAME = /^[A-Za-z0-9_-]+$/;

/**
 * libvirt's alias rule (URI_ALIAS_CHARS in src/util/viruri.c): a name made only of a-z, A-Z, 0-9, "_" and "-".
 * A string with any other character is a URI and is never looked up as an alias.
 */
export function isAliasName(text: string): boolean {
  return ALIAS_NAME.test(text);
}

export type UriAlias = { name: string; uri: string };

/**
 * libvirt's test driver (`test:///default`, `test:///path/host.xml`) answers every read but refuses
 * virDomainMigrate3, so no migration can start or end on it. Reads the scheme only, so display URIs work too.
 */
export function isTestDriverUri(uri: string): boolean {
  return /^test(\+[a-z0-9]+)?:/i.test(uri.trim());
}

/**
 * Masks the values displayLibvirtUri masks wherever `text` quotes them: ssh and libvirt name the key file in
 * their errors ("Warning: Identity file /etc/ferry/id_ed25519 not accessible"), and that text goes to the browser.
 */
export function maskUriSecrets(text: string, uriText: string): string {
  const parsed = parseLibvirtUri(uriText);
  if (!parsed.ok) return text;
  const secrets = Object.entries(parsed.uri.params)
    .filter(([name, value]) => MASKED_PARAMS.includes(name) && value.length > 0)
    .map(([, value]) => value)
    // Longest first, so a value that contains another is masked whole.
    .sort((a, b) => b.length - a.length);
  return secrets.reduce((masked, secret) => masked.split(secret).join(MASK), text);
}

/**
 * URI features that make libvirt (running as root on the Ferry box or on a hypervisor) run a program or touch a
 * file the URI names. An operator who truly needs one enables it in server configuration, never from a browser.
 * - `ext`: the ext transport runs `command=` on the Ferry box.
 * - `command`: ssh's `command=` names the ssh program libvirt runs.
 * - `netcat`: anything but libvirt's default `nc` is run by the remote shell on the hypervisor.
 * - `known_hosts`: libssh/libssh2 create or append to the named file (`known_hosts_verify=auto`).
 * - `embed`: `qemu:///embed?root=/dir` creates a directory tree and runs QEMU inside virsh.
 * - `test-path`: `test:///<path>` makes libvirt read the file and quote it in its parse error.
 */
export const UNSAFE_URI_FEATURES = ['ext', 'command', 'netcat', 'known_hosts', 'embed', 'test-path'] as const;
export type UnsafeUriFeature = (typeof UNSAFE_URI_FEATURES)[number];

/** libvirt's default netcat binary: what the remote shell runs when `netcat=` is absent. */
const DEFAULT_NETCAT = 'nc';

export type UriPolicy = {
  /** Absolute directory under which `test:///<file>` may name files (demos and tests); absent: only /default. */
  testDriverDir?: string;
  /** Absolute directory `keyfile=` must name a file under; absent: no keyfile is accepted. */
  keyDir?: string;
  /** Features the operator enabled in server configuration. */
  allowed?: readonly UnsafeUriFeature[];
};

export type UriPolicyResult = { ok: true; warnings: string[] } | { ok: false; error: string };

/** `/a/b` lies strictly inside `/a`: both absolute, no `.`/`..` segments, no empty segments. */
export function isPathInside(path: string, dir: string): boolean {
  const clean = (text: string) =>
    text.startsWith('/') &&
    !text
      .split('/')
      .slice(1)
      .some((s) => s === '.' || s === '..');
  const base = dir.replace(/\/+$/, '');
  if (!clean(path) || !clean(`${base}/`) || path.includes('//')) return false;
  return path.startsWith(`${base}/`) && path.length > base.length + 1;
}

function unsafeFeatures(uri: LibvirtUri, policy: UriPolicy): { feature: UnsafeUriFeature; why: string }[] {
  const found: { feature: UnsafeUriFeature; why: string }[] = [];
  if (uri.transport === 'ext') {
    found.push({ feature: 'ext', why: 'The ext transport runs a program on the Ferry machine as root' });
  }
  if (uri.params.command !== undefined && uri.transport !== 'ext') {
    found.push({ feature: 'command', why: 'The parameter "command" makes libvirt run the program it names' });
  }
  if (uri.params.netcat !== undefined && uri.params.netcat !== DEFAULT_NETCAT) {
    found.push({ feature: 'netcat', why: 'The parameter "netcat" names a program the hypervisor\'s shell runs' });
  }
  if (uri.params.known_hosts !== undefined || uri.params.known_hosts_verify !== undefined) {
    found.push({
      feature: 'known_hosts',
      why: 'The parameters "known_hosts" and "known_hosts_verify" make libvirt create or append to a file as root',
    });
  }
  if (uri.driver === 'qemu' && uri.path === '/embed') {
    found.push({ feature: 'embed', why: 'qemu:///embed creates directories as root and runs QEMU inside Ferry' });
  }
  if (uri.driver === 'test' && uri.path !== '/default') {
    const dir = policy.testDriverDir;
    if (dir === undefined || !isPathInside(uri.path, dir)) {
      found.push({
        feature: 'test-path',
        why: `A test:/// path makes libvirt read that file as root and quote it in errors; only "test:///default"${dir === undefined ? '' : ' or files under the configured test-driver directory'} may be used`,
      });
    }
  }
  return found;
}

/**
 * What Ferry lets a URI do, on top of parseLibvirtUri's grammar: refuses parameters and transports that run
 * programs or touch files unless the operator enabled them (then the result carries a warning for the host page),
 * and keeps `keyfile=` under the configured key directory. The file itself is checked where files can be read.
 */
export function checkUriPolicy(uri: LibvirtUri, policy: UriPolicy): UriPolicyResult {
  const allowed = policy.allowed ?? [];
  const warnings: string[] = [];
  for (const { feature, why } of unsafeFeatures(uri, policy)) {
    if (!allowed.includes(feature)) {
      return fail(`${why}, so Ferry refuses it (an operator can enable "${feature}" in server configuration).`);
    }
    warnings.push(`${why}; the operator enabled "${feature}" in server configuration.`);
  }
  const keyfile = uri.params.keyfile;
  if (keyfile !== undefined) {
    if (policy.keyDir === undefined) {
      return fail('The parameter "keyfile" is refused: no key directory is configured on the server.');
    }
    if (!isPathInside(keyfile, policy.keyDir)) {
      return fail('The keyfile must be a file under the key directory configured on the server.');
    }
  }
  return { ok: true, warnings };
}
