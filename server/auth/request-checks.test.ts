import { describe, expect, it } from 'vitest';
import { checkApiRequest, checkHost, hostnameOf, REQUEST_HEADER, type OriginPolicy } from './request-checks';

const LOCAL: OriginPolicy = { publicOrigin: null, allowedHosts: new Set(['localhost', '127.0.0.1', '::1']) };
const PUBLIC: OriginPolicy = {
  publicOrigin: 'https://ferry.example.org',
  allowedHosts: new Set(['localhost', '127.0.0.1', '::1', 'ferry.example.org']),
};

function headers(values: Record<string, string>): Headers {
  return new Headers(values);
}

describe('Host allow-list', () => {
  it.each([
    ['127.0.0.1:3000', true],
    ['localhost', true],
    ['[::1]:3000', true],
    ['LOCALHOST:80', true],
    ['attacker.example:3000', false],
    ['127.0.0.1.nip.io:3000', false],
    ['', false],
  ])('Host %s allowed: %s', (host, isAllowed) => {
    const problem = checkHost(headers(host ? { host } : {}), LOCAL);
    expect(problem === null).toBe(isAllowed);
    if (problem) expect(problem).toMatchObject({ status: 421, message: expect.stringMatching(/FERRY_ALLOWED_HOSTS/) });
  });

  it('reads host names with ports and IPv6 brackets', () => {
    expect(hostnameOf('[::1]:3000')).toBe('::1');
    expect(hostnameOf('Ferry.Example.org:443')).toBe('ferry.example.org');
  });
});

describe('API request checks (CSRF)', () => {
  const ok = { host: '127.0.0.1:3105', [REQUEST_HEADER]: '1' };

  it('lets through a same-origin call from Ferry’s pages', () => {
    expect(checkApiRequest(headers({ ...ok, origin: 'http://127.0.0.1:3105' }), LOCAL)).toBeNull();
    expect(checkApiRequest(headers({ ...ok, 'sec-fetch-site': 'same-origin' }), LOCAL)).toBeNull();
  });

  it('lets a script without browser headers through only with the custom header', () => {
    expect(checkApiRequest(headers(ok), LOCAL)).toBeNull();
    expect(checkApiRequest(headers({ host: ok.host }), LOCAL)).toMatchObject({ status: 403 });
  });

  it('refuses a cross-site form or multipart POST: other Origin, no custom header', () => {
    const problem = checkApiRequest(
      headers({ host: ok.host, origin: 'http://attacker.example', 'sec-fetch-site': 'cross-site' }),
      LOCAL,
    );
    expect(problem).toMatchObject({ status: 403, message: expect.stringMatching(/another site/) });
  });

  it('refuses a no-cors fetch from another site even when its Origin is stripped to "null"', () => {
    expect(checkApiRequest(headers({ ...ok, origin: 'null' }), LOCAL)).toMatchObject({ status: 403 });
  });

  it('refuses a same-site but cross-origin page (another port on the same host)', () => {
    expect(checkApiRequest(headers({ ...ok, origin: 'http://127.0.0.1:8080' }), LOCAL)).toMatchObject({ status: 403 });
    expect(checkApiRequest(headers({ ...ok, 'sec-fetch-site': 'same-site' }), LOCAL)).toMatchObject({ status: 403 });
  });

  it('refuses a DNS-rebinding page: its Origin and Host both name the attacker', () => {
    const problem = checkApiRequest(
      headers({
        host: 'rebind.attacker.example:3105',
        origin: 'http://rebind.attacker.example:3105',
        [REQUEST_HEADER]: '1',
      }),
      LOCAL,
    );
    expect(problem).toMatchObject({ status: 421 });
  });

  it('with a public origin configured, only that origin may call', () => {
    const base = { host: 'ferry.example.org', [REQUEST_HEADER]: '1' };
    expect(checkApiRequest(headers({ ...base, origin: 'https://ferry.example.org' }), PUBLIC)).toBeNull();
    expect(checkApiRequest(headers({ ...base, origin: 'http://ferry.example.org' }), PUBLIC)).toMatchObject({
      status: 403,
    });
  });
});
