import { createServer, get, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { sseResponse, writeSseToNode } from './sse-response';

async function readAll(body: ReadableStream<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of body) text += decoder.decode(chunk, { stream: true });
  return text;
}

describe('sseResponse keep-alive', () => {
  it('sends a comment line while the source is silent, then the events, then the end, and nothing after it', async () => {
    async function* source() {
      await sleep(150);
      yield { id: 7, type: 'state' };
    }
    const response = sseResponse(() => source(), new AbortController().signal, { keepAliveMs: 10 });
    const text = await readAll(response.body!);
    const blocks = text.split('\n\n').filter((block) => block !== '');
    expect(blocks[0]).toBe(': open');
    // Silent for 150 ms with a ping every 10 ms: at least two pings before the event, even on a busy machine.
    const event = blocks.findIndex((block) => block.startsWith('id: 7\n'));
    expect(blocks.slice(1, event).filter((block) => block === ': keep-alive').length).toBeGreaterThanOrEqual(2);
    expect(blocks.slice(1, event).every((block) => block === ': keep-alive')).toBe(true);
    expect(blocks.slice(event + 1)).toEqual(['event: end\ndata: {}']);
    // A ping after the close would throw on the closed stream (an uncaught error fails this run).
    await sleep(50);
  });

  it('stops pinging and tells the source to stop when the client goes away', async () => {
    const client = new AbortController();
    let sourceSignal: AbortSignal | null = null;
    // A source slow to notice the abort (a replay read in flight): the pings must stop without waiting for it.
    async function* source(signal: AbortSignal): AsyncGenerator<{ id: number }> {
      sourceSignal = signal;
      yield await new Promise<{ id: number }>(() => {});
    }
    const response = sseResponse((signal) => source(signal), client.signal, { keepAliveMs: 10 });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    const chunks: string[] = [];
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        chunks.push(decoder.decode(value));
      }
    })();
    while (!chunks.includes(': keep-alive\n\n')) await sleep(5);
    client.abort();
    expect(sourceSignal!.aborted).toBe(true);
    await sleep(5);
    const seenAtAbort = chunks.length;
    // Five intervals later nothing more came: the pings stopped with the client.
    await sleep(50);
    expect(chunks.length).toBe(seenAtAbort);
    await reader.cancel();
    await reading;
  });
});

/** A real server whose one response is `respond`'s; returns the client's response and the server's. */
async function overSocket(respond: (response: ServerResponse) => void) {
  let serverSide: ServerResponse | null = null;
  const server = createServer((_request, response) => {
    serverSide = response;
    respond(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  const client = await new Promise<IncomingMessage>((resolve, reject) =>
    get({ host: '127.0.0.1', port, path: '/' }, resolve).on('error', reject),
  );
  client.setEncoding('utf8');
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return { client, server: () => serverSide as ServerResponse | null, close };
}

describe('writeSseToNode', () => {
  it('starts nothing until the body is read or the stream is written to a Node response', async () => {
    let opened = 0;
    async function* source() {
      opened++;
      yield { id: 1 };
    }
    const response = sseResponse(() => source(), new AbortController().signal);
    await sleep(20);
    expect(opened).toBe(0);
    expect(await response.text()).toBe(': open\n\nid: 1\ndata: {"id":1}\n\nevent: end\ndata: {}\n\n');
    expect(opened).toBe(1);
  });

  it('writes the opening comment, each event, then the end, with the given headers, and ends the response', async () => {
    async function* source() {
      yield { id: 3, type: 'progress' };
      await sleep(10);
      yield { id: 4, type: 'state' };
    }
    let seenType: unknown = null;
    const { client, close } = await overSocket((response) => {
      const extra = { 'x-extra': 'yes' };
      expect(
        writeSseToNode(
          sseResponse(() => source(), new AbortController().signal),
          response,
          extra,
        ),
      ).toBe(true);
      seenType = response.getHeader('content-type');
    });
    let text = '';
    for await (const chunk of client) text += chunk as string;
    expect(client.headers['content-type']).toContain('text/event-stream');
    expect(client.headers['x-extra']).toBe('yes');
    // Readable back, as the server's write hook reads it to send each message at once (event-stream-flush.ts).
    expect(seenType).toContain('text/event-stream');
    expect(text).toBe(
      ': open\n\nid: 3\ndata: {"id":3,"type":"progress"}\n\nid: 4\ndata: {"id":4,"type":"state"}\n\nevent: end\ndata: {}\n\n',
    );
    await close();
  });

  it('stops the source and the pings when the client goes away', async () => {
    let sourceSignal: AbortSignal | null = null;
    async function* source(signal: AbortSignal): AsyncGenerator<{ id: number }> {
      sourceSignal = signal;
      yield await new Promise<{ id: number }>(() => {});
    }
    const { client, server, close } = await overSocket((response) => {
      writeSseToNode(
        sseResponse((signal) => source(signal), new AbortController().signal, { keepAliveMs: 10 }),
        response,
        {},
      );
    });
    let text = '';
    client.on('data', (chunk: string) => (text += chunk));
    while (!text.includes(': keep-alive')) await sleep(5);
    client.destroy();
    while (!sourceSignal!.aborted) await sleep(5);
    const written = server()!.writableLength + (server()!.socket?.bytesWritten ?? 0);
    await sleep(50);
    // Five ping intervals later the server wrote nothing more.
    expect(server()!.writableLength + (server()!.socket?.bytesWritten ?? 0)).toBe(written);
    await close();
  });

  it('leaves any other Response to its caller', async () => {
    const { client, close } = await overSocket((response) => {
      expect(writeSseToNode(Response.json({ error: 'no' }, { status: 404 }), response, {})).toBe(false);
      expect(response.headersSent).toBe(false);
      response.writeHead(204).end();
    });
    expect(client.statusCode).toBe(204);
    client.resume();
    await close();
  });
});
