import { createServer, get, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { flushEventStreamWrites } from './event-stream-flush';

/** What the socket still held, unsent, right after each write (0: handed to the kernel in that write). */
type Held = number[];

let server: Server | null = null;

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = null;
});

/**
 * A real server whose handler writes `messages` as the server does when one event wakes several streams: each write
 * in a promise job of one cascade. Returns what the client read (chunked framing decoded by Node's client) and, per
 * write, how many bytes the socket still held right after it.
 */
async function serve(options: {
  contentType: string;
  messages: string[];
  flush: boolean;
}): Promise<{ body: string; held: Held }> {
  const held: Held = [];
  server = createServer((request, response: ServerResponse) => {
    if (options.flush) flushEventStreamWrites(response);
    response.setHeader('content-type', options.contentType);
    let cascade = Promise.resolve();
    for (const message of options.messages) {
      cascade = cascade.then(() => {
        response.write(message);
        held.push(response.socket?.writableLength ?? -1);
      });
    }
    void cascade.then(() => response.end());
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  const body = await new Promise<string>((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/' }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve(text));
      response.on('error', reject);
    }).on('error', reject);
  });
  return { body, held };
}

const MESSAGES = ['id: 1\ndata: {"percent":1}\n\n', 'id: 2\ndata: {"percent":2}\n\n', ': keep-alive\n\n'];

describe('flushEventStreamWrites', () => {
  it('hands each message of an event stream to the socket in its own write, intact', async () => {
    const { body, held } = await serve({
      contentType: 'text/event-stream; charset=utf-8',
      messages: MESSAGES,
      flush: true,
    });
    expect(held).toEqual([0, 0, 0]);
    expect(body).toBe(MESSAGES.join(''));
  });

  it('without it, the messages wait in the corked socket until the cascade is over (what it fixes)', async () => {
    const { body, held } = await serve({ contentType: 'text/event-stream', messages: MESSAGES, flush: false });
    expect(held.every((bytes) => bytes > 0)).toBe(true);
    expect(body).toBe(MESSAGES.join(''));
  });

  it('leaves other responses to Node (their writes batched until the next tick)', async () => {
    const parts = ['<p>', 'one', '</p>'];
    const { body, held } = await serve({ contentType: 'text/html; charset=utf-8', messages: parts, flush: true });
    expect(held.every((bytes) => bytes > 0)).toBe(true);
    expect(body).toBe(parts.join(''));
  });
});
