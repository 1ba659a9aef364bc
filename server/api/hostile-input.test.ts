import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { createTestDb, type TestDb } from '../testing/test-db';
import { auditExportResponse } from '../audit/export';
import { env } from '../env';
import { createInProcessEventBus } from '../events/bus';
import { executors } from '../fleet/executors';
import { historyExportResponse } from '../history/export';
import { startTestSshd, type TestSshd } from '../testing/sshd';
import { hostileCorpus } from '../testing/hostile-corpus';
import { appRouter } from './root';
import { createContextInner, type Actor } from './trpc';

/**
 * Every text input of every procedure, through the real tRPC fetch handler, as every role, against a host on
 * each executor (interactive local virsh on test:///default, Ferry's ssh2 executor to a real sshd): nothing may
 * run (the canary never appears), nothing may answer 500, and every refusal is one sentence. The procedures are
 * read from the router, so a new one is covered without touching this file.
 */

const ROLES: Actor['role'][] = ['viewer', 'operator', 'admin'];

type Zod = z.core.$ZodType;
type Def = { type: string; [key: string]: unknown };
const defOf = (schema: Zod): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** A valid-looking value for a schema, and the paths of its text leaves. */
function sample(schema: Zod, hints: Record<string, unknown>, key = ''): unknown {
  const def = defOf(schema);
  if (key in hints) return hints[key];
  switch (def.type) {
    case 'object': {
      const shape = def.shape as Record<string, Zod>;
      return Object.fromEntries(Object.entries(shape).map(([name, child]) => [name, sample(child, hints, name)]));
    }
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'catch':
    case 'readonly':
      return sample(def.innerType as Zod, hints, key);
    case 'pipe':
      return sample(def.in as Zod, hints, key);
    case 'union':
      return sample((def.options as Zod[])[0] as Zod, hints, key);
    case 'enum':
      return Object.values(def.entries as Record<string, string>)[0];
    case 'literal':
      return (def.values as unknown[])[0];
    case 'array':
      return [sample(def.element as Zod, hints, key)];
    case 'boolean':
      return false;
    case 'number':
      return 1;
    case 'date':
      return new Date('2026-01-01T00:00:00Z');
    case 'unknown':
    case 'any':
      return {};
    default:
      return 'x';
  }
}

type Leaf = (string | number)[];

/** Paths in `value` where a string (or an unknown/opaque value) sits: each is filled with every corpus entry. */
function leaves(value: unknown, at: Leaf = []): Leaf[] {
  if (typeof value === 'string' || (typeof value === 'object' && value !== null && Object.keys(value).length === 0)) {
    return [at];
  }
  if (Array.isArray(value)) return value.flatMap((item, index) => leaves(item, [...at, index]));
  if (typeof value === 'object' && value !== null && !(value instanceof Date)) {
    return Object.entries(value).flatMap(([key, item]) => leaves(item, [...at, key]));
  }
  return [];
}

function withLeaf(value: unknown, at: Leaf, replacement: unknown): unknown {
  if (at.length === 0) return replacement;
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<string | number, unknown>;
  const [head, ...rest] = at as [string | number, ...Leaf];
  copy[head] = withLeaf(copy[head], rest, replacement);
  return copy;
}

type Procedure = { _def: { type: 'query' | 'mutation' | 'subscription'; inputs: Zod[] } };

let testDb: TestDb;
let sshd: TestSshd;
let work: string;
let canary: string;
let corpus: string[];
const hostIds: Record<'local' | 'ssh', string> = { local: '', ssh: '' };
const references: Record<'local' | 'ssh', string> = { local: 'test:///default', ssh: '' };

async function call(role: Actor['role'], pathName: string, type: string, input: unknown) {
  const url = new URL(`http://ferry.test/api/trpc/${pathName}`);
  const encoded = JSON.stringify(superjson.serialize(input));
  const init: RequestInit = { method: type === 'mutation' ? 'POST' : 'GET' };
  if (type === 'mutation') {
    init.body = encoded;
    init.headers = { 'content-type': 'application/json' };
  } else url.searchParams.set('input', encoded);
  const controller = new AbortController();
  const request = new Request(url, { ...init, signal: controller.signal });
  const response = await fetchRequestHandler({
    endpoint: '/api/trpc',
    req: request,
    router: appRouter,
    createContext: () =>
      createContextInner({
        db: testDb.db,
        bus: createInProcessEventBus(),
        actor: { name: `corpus-${role}`, role },
        clientAddress: '192.0.2.9',
      }),
  });
  if (type === 'subscription') {
    // Read until the stream refuses the input or yields its first real event; a valid one would stream on.
    const reader = response.body?.getReader();
    const decoder = new TextDecoder();
    const deadline = Date.now() + 1500;
    let text = '';
    while (reader && Date.now() < deadline && !/event: serialized-error\n(data: .*\n)/.test(text)) {
      if (/\nid: /.test(text) || /^data: (?!\{\})/m.test(text)) break;
      const chunk = await Promise.race([reader.read(), new Promise<null>((r) => setTimeout(() => r(null), 300))]);
      if (chunk === null) continue;
      if (chunk.done) break;
      text += decoder.decode(chunk.value, { stream: true });
    }
    controller.abort();
    await reader?.cancel().catch(() => {});
    const raw = /event: serialized-error\ndata: (.*)\n/.exec(text)?.[1];
    // The error shape, through the transformer: { json: { message, code, data } }.
    const shape = raw
      ? ((JSON.parse(raw) as { json?: unknown }).json as { message: string; data?: { code?: string } })
      : null;
    return { status: response.status, error: shape };
  }
  const body = (await response.json()) as { error?: { json: { message: string; data?: { code?: string } } } };
  return { status: response.status, error: body.error?.json ?? null };
}

beforeAll(async () => {
  testDb = createTestDb();
  sshd = await startTestSshd();
  work = mkdtempSync(path.join(tmpdir(), 'ferry-corpus-'));
  canary = path.join(work, 'CANARY');
  const canaryScript = path.join(work, 'make-canary.sh');
  writeFileSync(canaryScript, `#!/bin/sh\ntouch ${canary}\n`);
  chmodSync(canaryScript, 0o755);
  corpus = hostileCorpus({ canary, canaryScript, sshPort: sshd.port });
  mkdirSync(env.FERRY_KEY_DIR, { recursive: true });
  const keyfile = path.join(env.FERRY_KEY_DIR, 'corpus_ed25519');
  copyFileSync(sshd.clientKeyPath, keyfile);
  const admin = appRouter.createCaller(
    createContextInner({ db: testDb.db, bus: createInProcessEventBus(), actor: { name: 'setup', role: 'admin' } }),
  );
  hostIds.local = (await admin.host.add({ alias: 'corpus-local', reference: 'test:///default' })).id;
  references.ssh = `test+ssh://${sshd.username}@127.0.0.1:${sshd.port}/default?keyfile=${keyfile}`;
  hostIds.ssh = (
    await admin.host.add({
      alias: 'corpus-ssh',
      reference: references.ssh,
      executorKind: 'ssh',
      confirmedFingerprint: sshd.hostKeyFingerprint,
    })
  ).id;
}, 60_000);

afterAll(async () => {
  await executors().closeAll();
  await sshd?.stop();
  await testDb?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

/** Why `message` is not one clear sentence safe for a browser, or null. Echoing the caller's own input is fine. */
function sentenceProblem(message: string): string | null {
  if (/\n/.test(message)) return 'several lines';
  if (message.length > 400) return 'longer than 400 characters';
  if (/prisma|SQLITE|SELECT |INSERT |invalid `|\s+at \S+ \(|^\s*[[{]/i.test(message)) return 'internals or JSON';
  if (/root:[x*!$]/.test(message)) return 'quotes a system file';
  return null;
}

function expectOneSentence(message: string, where: string) {
  expect(sentenceProblem(message), `${where}: ${message}`).toBeNull();
}

const procedures = Object.entries((appRouter._def as unknown as { procedures: Record<string, Procedure> }).procedures);

describe('hostile input through the tRPC HTTP handler', () => {
  it('walks every procedure of the router', () => {
    expect(procedures.length).toBeGreaterThanOrEqual(20);
  });

  for (const executor of ['local', 'ssh'] as const) {
    it(`refuses or handles every corpus entry in every text field, each role, ${executor} executor`, async () => {
      const other = executor === 'local' ? 'ssh' : 'local';
      // Valid values for the other fields, so a hostile value in one field reaches the service code behind it.
      const hints: Record<string, unknown> = {
        id: hostIds[executor],
        sourceHostId: hostIds[executor],
        destinationHostId: hostIds[other],
        alias: `corpus-${executor}`,
        vmName: 'corpus-no-such-vm',
        reference: references[executor],
        executorKind: executor === 'ssh' ? 'ssh' : 'local',
        confirmedFingerprint: sshd.hostKeyFingerprint,
        displayName: 'Corpus',
        migrationAddress: '',
        from: '',
        to: '',
        cursor: undefined,
      };
      let calls = 0;
      const problems: string[] = [];
      const codes: Record<string, number> = {};
      for (const [pathName, procedure] of procedures) {
        const { type, inputs } = procedure._def;
        const base = inputs.length > 0 ? sample(inputs[0] as Zod, hints) : undefined;
        const variants: unknown[] = [base];
        for (const leaf of base === undefined ? [] : leaves(base)) {
          for (const entry of corpus) variants.push(withLeaf(base, leaf, entry));
        }
        for (const role of ROLES) {
          for (const input of variants) {
            // A migration that could really start would run on after the test; a corpus VM name never exists.
            if (pathName === 'migration.start' && input === base) continue;
            // Removing the hosts under test would leave the procedures after it nothing to act on.
            if (pathName === 'host.remove' && Object.values(hostIds).includes((input as { id?: string }).id ?? '')) {
              continue;
            }
            const where = `${role} ${pathName} ${JSON.stringify(input)?.slice(0, 200)}`;
            const { status, error } = await call(role, pathName, type, input);
            calls++;
            const code = error?.data?.code ?? 'OK';
            codes[code] = (codes[code] ?? 0) + 1;
            const problem =
              status === 500 || error?.data?.code === 'INTERNAL_SERVER_ERROR'
                ? 'answered 500'
                : error
                  ? sentenceProblem(error.message)
                  : null;
            if (problem !== null) problems.push(`${where} → ${problem}: ${error?.message.slice(0, 200)}`);
          }
        }
      }
      console.info(
        `hostile corpus, ${executor} executor: ${calls} calls over ${procedures.length} procedures, codes`,
        codes,
      );
      expect(problems.slice(0, 30)).toEqual([]);
      expect(calls).toBeGreaterThan(1000);
      expect(existsSync(canary), 'a corpus entry ran a program or created a file').toBe(false);
    }, 600_000);
  }

  it('the export routes refuse every corpus entry in every filter parameter with one sentence', async () => {
    const params = ['format', 'from', 'to', 'actor', 'action', 'host', 'vm', 'result', 'q', 'state'];
    for (const route of [auditExportResponse, historyExportResponse]) {
      for (const param of params) {
        for (const entry of corpus) {
          const url = new URL('http://ferry.test/api/export?format=csv');
          url.searchParams.set(param, entry);
          const response = await route({ db: testDb.db, url, actor: 'corpus', clientAddress: null });
          const where = `${route.name} ${param}=${JSON.stringify(entry).slice(0, 80)}`;
          expect(response.status, where).not.toBe(500);
          if (response.status !== 200) expectOneSentence((await response.text()).trim(), where);
          else await response.body?.cancel();
        }
      }
    }
    expect(existsSync(canary)).toBe(false);
  });
});
