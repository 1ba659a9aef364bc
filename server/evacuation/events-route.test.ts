import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GuardedHandler } from '../auth/route-guard';
import type { SqliteFile } from '../audit/sqlite-file';
import { encodeSseEvent } from '../events/sse-response';
import { runningMigrationRow } from '../testing/migration-row';
import { signInCookie, TEST_USER_PASSWORD } from '../testing/session-cookie';

/**
 * GET /api/evacuations/<id>/events, the real route handler behind guardRoute on a real, migrated SQLite file and
 * the process's bus, read as the page's EventSource reads it. The handler uses the process-wide database client,
 * so DATABASE_URL points at the test file before anything that reads the environment is imported.
 */
const BASE = 'http://127.0.0.1:3112';
const CLI = { actor: 'cli:test', clientAddress: null };

let raw: SqliteFile;
let file: string;
let GET: GuardedHandler;
let cookie = '';
let evacuationId = '';
let closedEvacuationId = '';
let jobId = '';

beforeAll(async () => {
  const { applyMigrationFiles, openSqliteFile } = await import('../audit/sqlite-file');
  file = path.join(mkdtempSync(path.join(tmpdir(), 'ferry-evacuation-route-')), 'test.db');
  raw = openSqliteFile(file);
  applyMigrationFiles(raw);
  // A client another test file of this worker left on globalThis would point at its own database.
  delete (globalThis as { ferryPrisma?: unknown }).ferryPrisma;
  process.env.DATABASE_URL = `file:${file}`;
  GET = (await import('../../app/api/evacuations/[id]/events/route')).GET;
  const { db } = await import('../db');
  const { addUser } = await import('../auth/users');
  await addUser({ db, name: 'vic', role: 'viewer', password: TEST_USER_PASSWORD, audit: CLI });
  cookie = await signInCookie(db, 'vic');
  const evacuation = (state: string) =>
    db.evacuation.create({
      data: { kind: 'evacuate', hostId: 'h1', hostAlias: 'hv1', actor: 'bob', options: '{}', state },
    });
  evacuationId = (await evacuation('running')).id;
  closedEvacuationId = (await evacuation('succeeded')).id;
  const job = (evacuation: string) => db.migration.create({ data: runningMigrationRow({ evacuationId: evacuation }) });
  jobId = (await job(evacuationId)).id;
  const closedJob = (await job(closedEvacuationId)).id;
  const { appendMigrationEvent } = await import('../migrations/events');
  const { bus } = await import('../events/bus');
  for (const [migrationId, payload] of [
    [jobId, { type: 'state', state: 'running' }],
    [jobId, { type: 'log', stream: 'ferry', text: 'not for the page\n' }],
    [jobId, { type: 'progress', percent: 10, readAt: 1 }],
    [closedJob, { type: 'progress', percent: 100, readAt: 2 }],
  ] as const)
    await appendMigrationEvent({ db, bus, migrationId, payload });
});

afterAll(async () => {
  const { db } = await import('../db');
  await db.$disconnect();
  raw.close();
  rmSync(path.dirname(file), { recursive: true, force: true });
});

function request(id: string, headers: Record<string, string> = {}, signal?: AbortSignal): Request {
  return new Request(`${BASE}/api/evacuations/${encodeURIComponent(id)}/events`, {
    headers: { host: '127.0.0.1:3112', 'x-ferry-request': '1', cookie, ...headers },
    signal,
  });
}

type Message = { event: string; id: string | null; data: Record<string, unknown> };

/** Reads SSE messages until `enough` says so or the stream ends; returns them and whether the stream ended. */
async function read(response: Response, enough: (messages: Message[]) => boolean) {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const messages: Message[] = [];
  let buffer = '';
  for (;;) {
    if (enough(messages)) {
      await reader.cancel();
      return { messages, ended: false };
    }
    const { value, done } = await reader.read();
    if (done) return { messages, ended: true };
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const fields = new Map<string, string>();
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(': ');
        fields.set(line.slice(0, colon), line.slice(colon + 2));
      }
      if (!fields.has('data')) continue;
      messages.push({
        event: fields.get('event') ?? 'message',
        id: fields.get('id') ?? null,
        data: JSON.parse(fields.get('data') as string) as Record<string, unknown>,
      });
    }
  }
}

describe('GET /api/evacuations/<id>/events', () => {
  it('is for signed-in viewers, with the header Ferry pages send', async () => {
    expect((await GET(request(evacuationId, { cookie: '' }))).status).toBe(401);
    expect((await GET(request(evacuationId, { 'x-ferry-request': '' }))).status).toBe(403);
    expect((await GET(request(evacuationId, { origin: 'https://evil.example' }))).status).toBe(403);
  });

  it('refuses an unknown evacuation and a Last-Event-ID that is not an event id', async () => {
    const unknown = await GET(request('no-such-evacuation'));
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain('No such evacuation');
    expect((await GET(request(evacuationId, { 'last-event-id': '12; DROP TABLE' }))).status).toBe(400);
    for (const hostile of ['../../etc/passwd', `${evacuationId}' OR '1'='1`, 'x'.repeat(65), '--id', '$(reboot)'])
      expect((await GET(request(hostile))).status).toBe(404);
    const malformed = new Request(`${BASE}/api/evacuations/%E0%A4%A/events`, {
      headers: request(evacuationId).headers,
    });
    expect((await GET(malformed)).status).toBe(404);
  });

  it('replays the stored state and progress events, then streams what the bus brings, until the client leaves', async () => {
    const client = new AbortController();
    const response = await GET(request(evacuationId, {}, client.signal));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(response.headers.get('cache-control')).toContain('no-transform');
    const { db } = await import('../db');
    const { bus } = await import('../events/bus');
    const { appendMigrationEvent } = await import('../migrations/events');
    let live: { id: number } | null = null;
    const reading = read(response, (messages) => {
      // The replay is in: a job reports more while the page watches.
      if (messages.length === 2 && live === null)
        void appendMigrationEvent({
          db,
          bus,
          migrationId: jobId,
          payload: { type: 'progress', percent: 55, readAt: 3 },
        }).then((event) => (live = event));
      return messages.length === 3;
    });
    const { messages } = await reading;
    expect(messages.map((message) => [message.data.type, message.data.percent ?? message.data.state])).toEqual([
      ['state', 'running'],
      ['progress', 10],
      ['progress', 55],
    ]);
    expect(messages.every((message) => message.data.migrationId === jobId)).toBe(true);
    expect(messages[2]?.id).toBe(String((live as { id: number } | null)?.id));
    client.abort();
  });

  it('resumes after Last-Event-ID with only what the client missed', async () => {
    const first = await GET(request(evacuationId));
    const { messages: all } = await read(first, (messages) => messages.length === 3);
    const resumed = await GET(request(evacuationId, { 'last-event-id': all[1]?.id as string }));
    const { messages } = await read(resumed, (got) => got.length === 1);
    expect(messages.map((message) => message.id)).toEqual([all[2]?.id]);
  });

  it('ends a closed evacuation with an end event after its replay, so the page stops asking', async () => {
    const { messages, ended } = await read(await GET(request(closedEvacuationId)), () => false);
    expect(ended).toBe(true);
    expect(messages.map((message) => [message.event, message.data.percent ?? null])).toEqual([
      ['message', 100],
      ['end', null],
    ]);
  });
});

describe("the same route served by Ferry's server itself (server/net/direct-routes.ts)", () => {
  let server: Server;
  let port = 0;
  const opened: IncomingMessage[] = [];

  let directRouteFor: typeof import('../net/direct-routes').directRouteFor;

  beforeAll(async () => {
    // Imported after the first beforeAll pointed DATABASE_URL at this file's database (it imports the route).
    const direct = await import('../net/direct-routes');
    directRouteFor = direct.directRouteFor;
    const serveDirect = direct.serveDirect;
    // What server/net/serve.ts does after its allow-list: the direct route if there is one, else Next (not here).
    server = createServer((request, response) => {
      const direct = directRouteFor(request);
      if (direct) void serveDirect(direct, request, response);
      else response.writeHead(418).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    for (const response of opened) response.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** A GET over a real socket, its body as a web Response for `read`. */
  async function fetchOver(id: string, headers: Record<string, string> = {}) {
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      get(
        {
          host: '127.0.0.1',
          port,
          path: `/api/evacuations/${encodeURIComponent(id)}/events`,
          headers: { host: '127.0.0.1:3112', 'x-ferry-request': '1', cookie, ...headers },
        },
        resolve,
      ).on('error', reject);
    });
    opened.push(response);
    return {
      status: response.statusCode,
      headers: response.headers,
      body: new Response(Readable.toWeb(response) as ReadableStream<Uint8Array>),
    };
  }

  it("takes only GET of an evacuation's events path", () => {
    const request = (method: string, url: string) => ({ method, url }) as IncomingMessage;
    expect(directRouteFor(request('GET', '/api/evacuations/abc/events'))).toBe(GET);
    expect(directRouteFor(request('GET', '/api/evacuations/abc/events?x=1'))).toBe(GET);
    expect(directRouteFor(request('POST', '/api/evacuations/abc/events'))).toBeNull();
    expect(directRouteFor(request('HEAD', '/api/evacuations/abc/events'))).toBeNull();
    for (const other of [
      '/api/evacuations/abc/events/',
      '/api/evacuations/a/b/events',
      '/api/evacuations//events',
      '/',
    ])
      expect(directRouteFor(request('GET', other))).toBeNull();
  });

  it('streams to a signed-in viewer message by message, with the headers every Ferry response carries', async () => {
    const { status, headers, body } = await fetchOver(evacuationId);
    expect(status).toBe(200);
    expect(headers['content-type']).toContain('text/event-stream');
    expect(headers['cache-control']).toContain('no-transform');
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['x-frame-options']).toBe('DENY');
    expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
    const { db } = await import('../db');
    const { bus } = await import('../events/bus');
    const { appendMigrationEvent } = await import('../migrations/events');
    let appended = false;
    const { messages } = await read(body, (got) => {
      if (got.length === 2 && !appended) {
        appended = true;
        void appendMigrationEvent({
          db,
          bus,
          migrationId: jobId,
          payload: { type: 'progress', percent: 77, readAt: 4 },
        });
      }
      return got.some((message) => message.data.percent === 77);
    });
    expect(messages.slice(0, 2).map((message) => message.data.percent ?? message.data.state)).toEqual(['running', 10]);
    expect(messages.at(-1)?.data.percent).toBe(77);
  });

  it("ends a closed evacuation's stream after its replay", async () => {
    const { messages, ended } = await read((await fetchOver(closedEvacuationId)).body, () => false);
    expect(ended).toBe(true);
    expect(messages.map((message) => message.event)).toEqual(['message', 'end']);
  });

  it('writes a refusal whole, with the same headers', async () => {
    const { status, headers, body } = await fetchOver(evacuationId, { cookie: '' });
    expect(status).toBe(401);
    expect(headers['content-type']).toContain('application/json');
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(((await body.json()) as { error: { message: string } }).error.message).toMatch(/sign in/i);
    expect((await fetchOver('no-such-evacuation')).status).toBe(404);
  });
});

describe('encodeSseEvent', () => {
  it('encodes an event once however many streams send it', () => {
    const event = { id: 7, type: 'progress', percent: 5 };
    const bytes = encodeSseEvent(event);
    expect(encodeSseEvent(event)).toBe(bytes);
    expect(new TextDecoder().decode(bytes)).toBe(`id: 7\ndata: ${JSON.stringify(event)}\n\n`);
    expect(encodeSseEvent({ ...event })).not.toBe(bytes);
  });
});
