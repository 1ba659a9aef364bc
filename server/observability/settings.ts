import { z } from 'zod';

/**
 * The observability settings, read from the environment once. Kept apart from server/env.ts so the logger and
 * the metrics can be imported by scripts and by the HTTP edge without the rest of the server's environment.
 */
const settingsSchema = z.object({
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Also append every log line (JSON) to this file: for tests and for a log shipper that tails a file. */
  FERRY_LOG_FILE: z.string().default(''),
  /** The lowest level also written to stdout (default: LOG_LEVEL); the e2e server keeps stdout to warnings. */
  FERRY_LOG_CONSOLE_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent', '']).default(''),
  /** Pretty, coloured log lines instead of JSON (default: on under `next dev` only). */
  FERRY_LOG_PRETTY: z.enum(['0', '1', '']).default(''),
  /** A bearer token that may read /metrics without a session (Prometheus). Empty: only signed-in viewers. */
  FERRY_METRICS_TOKEN: z
    .string()
    .default('')
    .refine((value) => value === '' || value.length >= 16, {
      message: 'FERRY_METRICS_TOKEN must be at least 16 characters (e.g. `openssl rand -hex 32`)',
    }),
  /** How often the audit chain head is written to the log as an anchor. */
  FERRY_AUDIT_ANCHOR_INTERVAL_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(5 * 60_000),
  NODE_ENV: z.string().default('production'),
});

export type ObservabilitySettings = z.infer<typeof settingsSchema>;

let cached: ObservabilitySettings | null = null;

export function observabilitySettings(): ObservabilitySettings {
  if (cached) return cached;
  const parsed = settingsSchema.safeParse(process.env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`Invalid environment: ${String(issue?.path[0] ?? '')}: ${issue?.message ?? 'invalid'}`);
  }
  cached = parsed.data;
  return cached;
}
