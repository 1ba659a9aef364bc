import { z } from 'zod';
import { DEFAULT_DATABASE_URL } from './db-url';

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
