import { REQUEST_HEADER, REQUEST_HEADER_VALUE } from '@/server/auth/request-header';

/** POSTs JSON to one of the /api/auth routes with Ferry's custom header; returns the error message, if any. */
export async function postAuth(path: '/api/auth/sign-in' | '/api/auth/sign-out', body: unknown = {}) {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [REQUEST_HEADER]: REQUEST_HEADER_VALUE },
    body: JSON.stringify(body),
  });
  if (response.ok) return null;
  const payload = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
  return payload?.error?.message ?? `Failed (${response.status}).`;
}

/** Where to go after sign-in: a path on this site only, never another origin (no open redirect). */
export function safeNextPath(raw: string | null): string {
  if (!raw || !raw.startsWith('/') || raw.startsWith('//') || raw.startsWith('/\\')) return '/';
  if (raw.startsWith('/sign-in')) return '/';
  return raw;
}
