import { env } from '../env';
import { REQUEST_HEADER, REQUEST_HEADER_VALUE } from './request-header';

/**
 * Browser-facing request checks for every tRPC call and every state-changing route:
 *
 * - Host must be one Ferry answers to. A DNS-rebinding page reaches 127.0.0.1 under its own name; its
 *   requests carry that name in Host, so an allow-list of host names defeats it.
 * - A custom header must be present. A cross-site <form>, a multipart POST or `fetch(…, { mode: 'no-cors' })`
 *   cannot set one, and a cross-origin fetch that sets one needs a CORS preflight Ferry never grants.
 * - Origin (or, where a browser sends none, Sec-Fetch-Site) must be Ferry's own.
 */
export { REQUEST_HEADER, REQUEST_HEADER_VALUE };

/** Always answered: the machine itself. */
const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '::1'];

export type OriginPolicy = {
  /** `https://ferry.example.org`, or null to accept the request's own (allowed) origin. */
  publicOrigin: string | null;
  allowedHosts: ReadonlySet<string>;
};

export type RequestProblem = { status: 403 | 421; message: string };

export function originPolicyFromEnv(): OriginPolicy {
  const publicOrigin = env.FERRY_PUBLIC_ORIGIN === '' ? null : env.FERRY_PUBLIC_ORIGIN.toLowerCase();
  const hosts = new Set(LOOPBACK_HOSTS);
  if (publicOrigin) hosts.add(hostnameOf(new URL(publicOrigin).host));
  for (const entry of env.FERRY_ALLOWED_HOSTS.split(',')) {
    const name = entry.trim();
    if (name !== '') hosts.add(hostnameOf(name));
  }
  return { publicOrigin, allowedHosts: hosts };
}

/** `Ferry.Example.org:3000` → `ferry.example.org`; `[::1]:3000` → `::1`. */
export function hostnameOf(host: string): string {
  const value = host.trim().toLowerCase();
  if (value.startsWith('[')) return value.slice(1, value.indexOf(']') < 0 ? undefined : value.indexOf(']'));
  const colon = value.indexOf(':');
  return colon < 0 ? value : value.slice(0, colon);
}

export function checkHost(headers: Headers, policy: OriginPolicy): RequestProblem | null {
  const host = headers.get('host');
  if (host && policy.allowedHosts.has(hostnameOf(host))) return null;
  return {
    status: 421,
    message: `Ferry does not answer to the host name "${(host ?? '').slice(0, 100)}". An admin can add it to FERRY_ALLOWED_HOSTS or set FERRY_PUBLIC_ORIGIN.`,
  };
}

function isOwnOrigin(origin: string, headers: Headers, policy: OriginPolicy): boolean {
  if (policy.publicOrigin) return origin.toLowerCase() === policy.publicOrigin;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  const host = headers.get('host')?.toLowerCase();
  return parsed.host === host && policy.allowedHosts.has(hostnameOf(parsed.host));
}

/** Origin and custom-header checks for a call that reads or changes state through the API. */
export function checkApiRequest(headers: Headers, policy: OriginPolicy): RequestProblem | null {
  const hostProblem = checkHost(headers, policy);
  if (hostProblem) return hostProblem;
  const origin = headers.get('origin');
  if (origin !== null) {
    if (!isOwnOrigin(origin, headers, policy)) {
      return { status: 403, message: 'Refused: this request came from another site.' };
    }
  } else {
    const site = headers.get('sec-fetch-site');
    // Browsers send no Origin on same-origin GETs but do send Sec-Fetch-Site; scripts (curl, the bench) send
    // neither and still need the custom header below.
    if (site !== null && site !== 'same-origin') {
      return { status: 403, message: 'Refused: this request came from another site.' };
    }
  }
  if (headers.get(REQUEST_HEADER) !== REQUEST_HEADER_VALUE) {
    return { status: 403, message: `Refused: the request lacks the ${REQUEST_HEADER} header Ferry's pages send.` };
  }
  return null;
}
