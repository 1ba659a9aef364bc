import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, type APIRequestContext, type Page } from '@playwright/test';
import { REQUEST_HEADER, REQUEST_HEADER_VALUE } from '../server/auth/request-header';
import { gotoReady } from './ready';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The admin every spec runs as (made by auth.setup.ts the documented way, `npm run user -- add`). */
export const E2E_ADMIN = { name: 'e2e-admin', password: 'e2e admin password 1' } as const;
export const ADMIN_STATE = path.join(ROOT, 'e2e', '.auth', 'admin.json');

/** What Ferry's pages send with every API call; a spec's direct API calls send it too. */
export const API_HEADERS = { [REQUEST_HEADER]: REQUEST_HEADER_VALUE };

/** A tRPC call as the signed-in context: a query (GET) without input, else a mutation (POST). */
export async function trpcCall<T>(request: APIRequestContext, procedure: string, input?: unknown): Promise<T> {
  const response =
    input === undefined
      ? await request.get(`/api/trpc/${procedure}`, { headers: API_HEADERS })
      : await request.post(`/api/trpc/${procedure}`, { headers: API_HEADERS, data: { json: input } });
  const body = (await response.json()) as { result: { data: { json: unknown } }; error?: unknown };
  if (!response.ok()) throw new Error(`${procedure}: ${response.status()} ${JSON.stringify(body.error)}`);
  return body.result.data.json as T;
}

/** `npm run user -- add <name> --role <role>` with the password on stdin, against the e2e server's database. */
export function addUserWithCli(options: {
  name: string;
  role: 'viewer' | 'operator' | 'admin';
  password: string;
  /** Another server's database (e2e/server-process.ts); the Playwright server's by default. */
  databaseUrl?: string;
}) {
  execFileSync('npm', ['run', '-s', 'user', '--', 'add', options.name, '--role', options.role], {
    cwd: ROOT,
    input: `${options.password}\n`,
    env: {
      ...process.env,
      DATABASE_URL: options.databaseUrl ?? process.env.E2E_DATABASE_URL ?? 'file:./data/e2e.db',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

export async function signInWithPage(page: Page, options: { name: string; password: string }) {
  await gotoReady(page, '/sign-in');
  await page.getByLabel('Name').fill(options.name);
  await page.getByLabel('Password').fill(options.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('signed-in-as')).toHaveText(options.name);
}
