import 'server-only';
import { z } from 'zod';
import { DEFAULT_DATABASE_URL } from './db-url';
import { UNSAFE_URI_FEATURES } from './libvirt/uri';
import { DEFAULT_ALLOWED_CIDRS } from './net/address';

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  DATABASE_URL: z
    .string()
    .startsWith('file:', 'DATABASE_URL must be a SQLite "file:" URL')
    .default(DEFAULT_DATABASE_URL),
  /** Registered as alias `demo` on first start so a fresh Ferry has something to show. Empty string: none. */
  FERRY_DEMO_URI: z.string().default('test:///default'),
  /** Per-host time limit for one inventory refresh, so a hung host cannot hang the page. */
  FERRY_HOST_TIMEOUT_MS: z.coerce.number().int().positive().default(8000),
  /**
   * The address people type to reach Ferry, e.g. `https://ferry.example.org`. Mutations must come from this
   * origin (or, when unset, from the same origin as the request's allowed Host); its host joins the Host allow-list.
   */
  FERRY_PUBLIC_ORIGIN: z
    .string()
    .default('')
    .refine((value) => value === '' || /^https?:\/\/[^/?#]+$/.test(value), {
      message: 'FERRY_PUBLIC_ORIGIN is scheme://host[:port] with nothing after it, e.g. https://ferry.example.org',
    }),
  /** More host names the Host header may carry (comma-separated); localhost, 127.0.0.1 and ::1 always may. */
  FERRY_ALLOWED_HOSTS: z.string().default(''),
  /** A session ends after this long without a request. */
  FERRY_SESSION_IDLE_MINUTES: z.coerce.number().int().positive().default(60),
  /** A session ends this long after sign-in, whatever the activity. */
  FERRY_SESSION_MAX_HOURS: z.coerce.number().int().positive().default(12),
  FERRY_VIRSH: z.string().default('virsh'),
  /** `off`: every `virsh -c qemu+ssh://…` logs in by itself instead of sharing one ssh connection per host. */
  FERRY_SSH_MULTIPLEX: z.enum(['on', 'off']).default('on'),
  /**
   * This deployment's name in the signed API's SSHSIG namespace (`ferry-api@<name>`): a signature made for one
   * Ferry never verifies at another. Clients learn it from GET /api/signed-api.
   */
  FERRY_DEPLOYMENT_NAME: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'FERRY_DEPLOYMENT_NAME is 1–63 letters, digits, ".", "_" or "-"')
    .default('ferry'),
  /** `test:///<file>` hosts may only name files under this directory (demos, tests, the bench). */
  FERRY_TEST_DRIVER_DIR: z.string().min(1).default('data/test-hosts'),
  /** `keyfile=` must name a regular file of at most 64 KiB under this directory. */
  FERRY_KEY_DIR: z.string().min(1).default('data/keys'),
  /**
   * URI features refused by default because they run programs or touch files as root (see UNSAFE_URI_FEATURES),
   * comma-separated, e.g. "known_hosts,netcat". Only for an operator who truly needs one.
   */
  FERRY_ALLOW_UNSAFE_URI: z
    .string()
    .default('')
    .transform((text) =>
      text
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== ''),
    )
    .pipe(z.array(z.enum(UNSAFE_URI_FEATURES))),
  /** Address Ferry's server binds to; 0.0.0.0 or :: exposes it (put a TLS reverse proxy in front, see README). */
  FERRY_LISTEN: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  /**
   * CIDRs (IPv4 and IPv6) allowed to reach Ferry until an admin saves a list on the Settings page; every other
   * address gets 403 before any other work. Default: loopback and private ranges.
   */
  FERRY_ALLOWED_CIDRS: z.string().default(DEFAULT_ALLOWED_CIDRS.join(',')),
  /** Reverse proxies whose X-Forwarded-For is believed (CIDRs); from anyone else the header is ignored. */
  FERRY_TRUSTED_PROXIES: z.string().default(''),
  /** After domjobabort, how long a cancelled `virsh migrate` may take to end before Ferry kills it. */
  FERRY_CANCEL_GRACE_MS: z.coerce.number().int().positive().default(15_000),
  /**
   * A job whose owner wrote no heartbeat (every 5 s) for this long is re-attached by another process or after a
   * restart; also how often the reconcile tick runs.
   */
  FERRY_STALE_HEARTBEAT_MS: z.coerce.number().int().min(6_000).default(30_000),
  /** How long an ACPI shutdown may take before Ferry reports the guest ignored it and offers a force off. */
  FERRY_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(60_000),
  /** `off` keeps Ferry from running `virsh event` on hosts; the fleet is then only polled (FERRY_LIVE_POLL_MS). */
  FERRY_LIVE_EVENTS: z.enum(['on', 'off']).default('on'),
  /** Full re-read of every host with an event stream: the safety net for anything a stream missed. */
  FERRY_LIVE_POLL_MS: z.coerce.number().int().min(1_000).default(300_000),
  /** Full re-read of hosts that cannot stream events (test driver, or FERRY_LIVE_EVENTS=off). */
  FERRY_LIVE_FALLBACK_POLL_MS: z.coerce.number().int().min(1_000).default(15_000),
  /** How often the live inventory looks for hosts added, edited or removed. */
  FERRY_LIVE_HOST_SYNC_MS: z.coerce.number().int().min(500).default(5_000),
  /** Longest wait between two reconnect attempts of a host's event stream (it doubles from 0.5 s up to this). */
  FERRY_LIVE_MAX_BACKOFF_MS: z.coerce.number().int().min(500).default(30_000),
});

export type Env = z.infer<typeof envSchema>;

function parseEnv(): Env {
  const parsed = envSchema.safeParse(process.env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`Invalid environment:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

export const env = parseEnv();
