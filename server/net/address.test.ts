import { describe, expect, it } from 'vitest';
import { canonicalAddress, DEFAULT_ALLOWED_CIDRS, isAddressIn, parseCidrList, resolveClientAddress } from './address';

function cidrs(text: string | readonly string[]) {
  const parsed = parseCidrList(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.cidrs;
}

describe('parseCidrList', () => {
  it('reads IPv4 and IPv6 ranges and single addresses, in canonical form', () => {
    expect(cidrs('10.1.2.3/8, 192.168.5.7\n2001:DB8::1/32  ::1').map((c) => c.text)).toEqual([
      '10.0.0.0/8',
      '192.168.5.7/32',
      '2001:db8::/32',
      '::1/128',
    ]);
  });

  it.each([
    ['10.0.0.0/33', /prefix length outside 0–32/],
    ['::/129', /prefix length outside 0–128/],
    ['10.0.0.0/8/8', /not an address/],
    ['hv1.lab', /not an IPv4 or IPv6/],
    ['1', /not an IPv4 or IPv6/],
    ['0x7f.1', /not an IPv4 or IPv6/],
    ['10.0.0.0/-1', /prefix length/],
    ['$(reboot)', /not an IPv4 or IPv6/],
  ])('refuses %s with one sentence', (text, reason) => {
    const parsed = parseCidrList(text);
    expect(parsed).toMatchObject({ ok: false, error: expect.stringMatching(reason) });
  });

  it('accepts the default list', () => {
    expect(cidrs(DEFAULT_ALLOWED_CIDRS)).toHaveLength(DEFAULT_ALLOWED_CIDRS.length);
  });
});

describe('isAddressIn', () => {
  const list = cidrs('10.0.0.0/8 2001:db8::/32');
  it.each([
    ['10.200.0.1', true],
    ['::ffff:10.200.0.1', true],
    ['11.0.0.1', false],
    ['2001:db8::5', true],
    ['[2001:db8::5]', true],
    ['2001:db9::5', false],
    ['not an address', false],
  ])('%s → %s', (address, inside) => {
    expect(isAddressIn(address, list)).toBe(inside);
  });
  it('an unknown address is never inside, even 0.0.0.0/0', () => {
    expect(isAddressIn(null, cidrs('0.0.0.0/0 ::/0'))).toBe(false);
  });
});

describe('resolveClientAddress', () => {
  const trustedProxies = cidrs('127.0.0.1 10.0.0.2');

  it('ignores X-Forwarded-For from anyone who is not a trusted proxy', () => {
    expect(resolveClientAddress({ peer: '192.168.1.50', forwardedFor: '10.9.9.9', trustedProxies })).toBe(
      '192.168.1.50',
    );
    expect(resolveClientAddress({ peer: '::ffff:192.168.1.50', forwardedFor: undefined, trustedProxies: [] })).toBe(
      '192.168.1.50',
    );
  });

  it('takes the right-most untrusted hop behind trusted proxies', () => {
    expect(
      resolveClientAddress({ peer: '127.0.0.1', forwardedFor: '6.6.6.6, 192.168.1.50, 10.0.0.2', trustedProxies }),
    ).toBe('192.168.1.50');
    expect(resolveClientAddress({ peer: '127.0.0.1', forwardedFor: ['6.6.6.6', '192.168.1.50'], trustedProxies })).toBe(
      '192.168.1.50',
    );
  });

  it('stops at a malformed hop and falls back to the proxy when there is no header', () => {
    expect(resolveClientAddress({ peer: '127.0.0.1', forwardedFor: 'garbage, 192.168.1.50', trustedProxies })).toBe(
      '192.168.1.50',
    );
    expect(resolveClientAddress({ peer: '127.0.0.1', forwardedFor: '192.168.1.50, garbage', trustedProxies })).toBe(
      '127.0.0.1',
    );
    expect(resolveClientAddress({ peer: '127.0.0.1', forwardedFor: undefined, trustedProxies })).toBe('127.0.0.1');
  });

  it('returns null without a usable peer', () => {
    expect(resolveClientAddress({ peer: undefined, forwardedFor: '1.2.3.4', trustedProxies })).toBeNull();
    expect(canonicalAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
  });
});
