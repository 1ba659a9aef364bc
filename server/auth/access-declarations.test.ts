import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { appRouter } from '../api/root';
import { ROLES } from './roles';
import { routeAccessOf } from './route-guard';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
type ProcedureRecord = Record<string, { _def: { meta?: { access?: string } } }>;
/** tRPC keeps a flat path → procedure map next to the nested record. */
const PROCEDURES = appRouter._def.procedures as unknown as ProcedureRecord;

const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** Procedures a signed-out browser may call: each one is a deliberate exception, listed here. */
const PUBLIC_PROCEDURES = ['account.status'];
/** Route handlers a signed-out browser may call, by file and method. */
const PUBLIC_ROUTES = [
  'api/auth/sign-in/route.ts POST',
  'api/auth/sign-out/route.ts POST',
  'api/health/route.ts GET',
  'api/signed-api/route.ts GET',
];

function routeFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return routeFiles(full);
    return /^route\.(ts|tsx|js)$/.test(entry.name) ? [full] : [];
  });
}

describe('every entry point declares the role it needs (deny by default)', () => {
  it('every tRPC query, mutation and subscription declares an access level', () => {
    const procedures = Object.entries(PROCEDURES);
    expect(procedures.length).toBeGreaterThan(20);
    const undeclared: string[] = [];
    const publicOnes: string[] = [];
    for (const [name, procedure] of procedures) {
      const access = procedure._def.meta?.access;
      if (access === 'public') publicOnes.push(name);
      else if (!access || !(ROLES as readonly string[]).includes(access)) undeclared.push(name);
    }
    expect(undeclared).toEqual([]);
    expect(publicOnes.sort()).toEqual(PUBLIC_PROCEDURES);
  });

  it('mutations that change hosts, users or migrations need more than viewer', () => {
    const needs = (name: string) => PROCEDURES[name]?._def.meta?.access ?? 'none';
    expect(needs('migration.start')).toBe('operator');
    expect(needs('migration.cancel')).toBe('operator');
    expect(needs('host.add')).toBe('admin');
    expect(needs('users.add')).toBe('admin');
    expect(needs('users.resetPassword')).toBe('admin');
    expect(needs('audit.verify')).toBe('admin');
    expect(needs('migration.events')).toBe('viewer');
    expect(needs('power.act')).toBe('operator');
    expect(needs('power.dismiss')).toBe('operator');
    expect(needs('power.open')).toBe('viewer');
  });

  it('every route handler under app/api is made by guardRoute with a declared access', async () => {
    const files = routeFiles(path.join(ROOT, 'app', 'api'));
    expect(files.length).toBeGreaterThanOrEqual(6);
    const undeclared: string[] = [];
    const publicOnes: string[] = [];
    for (const file of files) {
      const routeModule = (await import(file)) as Record<string, unknown>;
      const relative = path.relative(path.join(ROOT, 'app'), file);
      const methods = HTTP_METHODS.filter((method) => method in routeModule);
      expect(methods.length, relative).toBeGreaterThan(0);
      for (const method of methods) {
        const access = routeAccessOf(routeModule[method]);
        if (access === undefined) undeclared.push(`${relative} ${method}`);
        if (access === 'public') publicOnes.push(`${relative} ${method}`);
      }
    }
    expect(undeclared).toEqual([]);
    expect(publicOnes.sort()).toEqual(PUBLIC_ROUTES);
  });
});
