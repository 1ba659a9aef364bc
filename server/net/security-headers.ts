/**
 * The Content-Security-Policy and the other security headers of every response. No imports: proxy.ts uses it.
 *
 * - Scripts: only this origin's files and inline scripts carrying this request's nonce (Next.js puts the nonce
 *   on its own bootstrap scripts when it finds the policy in the request headers); `'strict-dynamic'` lets those
 *   load the chunks they need. `next dev` also needs `'unsafe-eval'` for its refresh runtime.
 * - Styles: `'unsafe-inline'` because sonner inserts a <style> element at run time and React renders style
 *   attributes; a style cannot run script, so the nonce guards what matters.
 * - No frames of Ferry anywhere (clickjacking), no plugins, no <base> or form targets elsewhere.
 */
export function contentSecurityPolicy(options: { nonce: string; isDev: boolean }): string {
  return [
    `default-src 'self'`,
    `script-src 'self' 'nonce-${options.nonce}' 'strict-dynamic'${options.isDev ? ` 'unsafe-eval'` : ''}`,
    `style-src 'self' 'unsafe-inline'`,
    `img-src 'self' data: blob:`,
    `font-src 'self'`,
    `connect-src 'self'`,
    `object-src 'none'`,
    `base-uri 'self'`,
    `form-action 'self'`,
    `frame-ancestors 'none'`,
  ].join('; ');
}

/** Headers for every response, static files included (next.config.ts) and pages (proxy.ts). */
export const SECURITY_HEADERS = [
  { key: 'X-Content-Type-Options', value: 'nosniff' },
  { key: 'Referrer-Policy', value: 'no-referrer' },
  { key: 'X-Frame-Options', value: 'DENY' },
  { key: 'Cross-Origin-Opener-Policy', value: 'same-origin' },
  { key: 'Permissions-Policy', value: 'camera=(), microphone=(), geolocation=(), payment=()' },
] as const;
