import 'server-only';
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
  /** Who the actor is until users and roles exist (issue: auth). */
  FERRY_DEFAULT_ACTOR: z.string().min(1).default('admin'),
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
