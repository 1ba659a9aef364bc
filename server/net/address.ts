import ipaddr from 'ipaddr.js';

/**
 * Client addresses, CIDR lists and forwarding headers. PURE (ipaddr.js only): the HTTP edge, the settings
 * procedure and the tests share it.
 *
 * - An IPv4-mapped IPv6 address (`::ffff:10.0.0.5`, what Node reports on a dual-stack socket) is its IPv4 address.
 * - `X-Forwarded-For` is read only when the socket peer is a configured trusted proxy, right to left, skipping
 *   further trusted proxies: the first untrusted hop is the client. Anyone else's header is ignored.
 */

export type Cidr = { text: string; range: [ipaddr.IPv4 | ipaddr.IPv6, number] };

export type CidrListResult = { ok: true; cidrs: Cidr[] } | { ok: false; error: string };

const MAX_CIDRS = 200;

function normalize(address: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | ipaddr.IPv6 {
  return address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()
    ? (address as ipaddr.IPv6).toIPv4Address()
    : address;
}

/** A single address in any spelling Node or a proxy gives, or null. Zone ids (`fe80::1%eth0`) are dropped. */
export function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  const trimmed = text
    .trim()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/%.*$/, '');
  if (!ipaddr.isValid(trimmed)) return null;
  // ipaddr.js accepts "1" and "0x7f.1" as IPv4 (inet_aton forms); a CIDR list or a header never means those.
  if (!trimmed.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(trimmed)) return null;
  return normalize(ipaddr.parse(trimmed));
}

/** The canonical text of an address (`::ffff:127.0.0.1` → `127.0.0.1`), or null. */
export function canonicalAddress(text: string): string | null {
  return parseAddress(text)?.toString() ?? null;
}

/**
 * Parses a list of CIDRs (`10.0.0.0/8`, `2001:db8::/32`) or single addresses (one host), separated by commas,
 * whitespace or newlines. The error is one sentence naming the first bad entry.
 */
export function parseCidrList(input: string | readonly string[]): CidrListResult {
  const entries = (typeof input === 'string' ? input.split(/[\s,]+/) : input.flatMap((item) => item.split(/[\s,]+/)))
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length > MAX_CIDRS) return { ok: false, error: `The list has more than ${MAX_CIDRS} entries.` };
  const cidrs: Cidr[] = [];
  for (const entry of entries) {
    const shown = entry.length > 60 ? `${entry.slice(0, 60)}…` : entry;
    const [addressText = '', prefixText, extra] = entry.split('/');
    if (extra !== undefined) return { ok: false, error: `"${shown}" is not an address or a CIDR range.` };
    const address = parseAddress(addressText);
    if (address === null) return { ok: false, error: `"${shown}" is not an IPv4 or IPv6 address or CIDR range.` };
    const bits = address.kind() === 'ipv4' ? 32 : 128;
    let prefix = bits;
    if (prefixText !== undefined) {
      if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) {
        return { ok: false, error: `"${shown}" has a prefix length outside 0–${bits}.` };
      }
      prefix = Number(prefixText);
      // A mapped IPv6 range (::ffff:10.0.0.0/104) is the IPv4 range it maps.
      if (addressText.includes(':') && address.kind() === 'ipv4') prefix = Math.max(0, prefix - 96);
    }
    const network = networkOf(address, prefix);
    cidrs.push({ text: `${network.toString()}/${prefix}`, range: [network, prefix] });
  }
  return { ok: true, cidrs };
}

function networkOf(address: ipaddr.IPv4 | ipaddr.IPv6, prefix: number): ipaddr.IPv4 | ipaddr.IPv6 {
  return address.kind() === 'ipv4'
    ? ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/${prefix}`)
    : ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${prefix}`);
}

/** Whether `address` lies in any of `cidrs`. An unparseable or absent address is never inside. */
export function isAddressIn(address: string | null, cidrs: readonly Cidr[]): boolean {
  if (address === null) return false;
  const parsed = parseAddress(address);
  if (parsed === null) return false;
  return cidrs.some(({ range }) => parsed.kind() === range[0].kind() && parsed.match(range));
}

/**
 * Who the client is: the socket peer, unless the peer is a trusted proxy, in which case the right-most
 * `X-Forwarded-For` hop that is not itself a trusted proxy. A malformed hop stops the walk at the last good one.
 */
export function resolveClientAddress(options: {
  peer: string | undefined;
  forwardedFor: string | string[] | undefined;
  trustedProxies: readonly Cidr[];
}): string | null {
  const peer = options.peer === undefined ? null : canonicalAddress(options.peer);
  if (peer === null) return null;
  if (!isAddressIn(peer, options.trustedProxies)) return peer;
  const header = Array.isArray(options.forwardedFor) ? options.forwardedFor.join(',') : (options.forwardedFor ?? '');
  const hops = header
    .split(',')
    .map((hop) => hop.trim())
    .filter((hop) => hop !== '');
  let client = peer;
  for (const hop of hops.reverse()) {
    const address = canonicalAddress(hop);
    if (address === null) break;
    client = address;
    if (!isAddressIn(address, options.trustedProxies)) break;
  }
  return client;
}

/** Loopback and private ranges: the default allow-list for a dashboard that binds to 127.0.0.1 unless told. */
export const DEFAULT_ALLOWED_CIDRS = [
  '127.0.0.0/8',
  '::1/128',
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  'fc00::/7',
  'fe80::/10',
] as const;
