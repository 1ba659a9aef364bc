import type { ServerResponse } from 'node:http';

/**
 * A stream of stored events (each with its row id) as a `text/event-stream` response, for streams that many
 * browsers watch at once (an evacuation's page). Each event is one SSE message, `id:` its row id (what the client
 * sends back as Last-Event-ID after a drop) and `data:` its JSON, encoded once: the bus hands the same event object
 * to every stream, and every stream sends the same bytes.
 *
 * Why not a tRPC subscription: tRPC turns each event into bytes separately for every stream, through several
 * layers of async generators and web streams, and the wave of one event reaches the last of 51 streams ~15 ms
 * after it was published on this machine (`npm run bench -- evacuation`). Here an event is a JSON.stringify once
 * and one write per stream: Ferry's server writes these streams to the socket itself (writeSseToNode,
 * server/net/direct-routes.ts); under `next dev` Next sends the same stream as the Response's body.
 *
 * The stream ends with an `end` event when the source ends by itself (nothing more will come: the client stops
 * instead of reconnecting), and silently when the client goes away.
 *
 * While nothing happens (a paused evacuation, a long copy between progress steps) a comment line goes out every
 * KEEP_ALIVE_MS: proxies and load balancers close a connection that stays silent for a minute or so (nginx's
 * proxy_read_timeout is 60 s), and a write is how the server learns that a client vanished without closing.
 * Clients ignore comment lines.
 */

const encoder = new TextEncoder();
const encoded = new WeakMap<object, Uint8Array>();

/** One event as an SSE message; the bytes are kept with the event object, so every stream that sends it shares them. */
export function encodeSseEvent(event: { id: number }): Uint8Array {
  let bytes = encoded.get(event);
  if (bytes === undefined) {
    bytes = encoder.encode(`id: ${event.id}\ndata: ${JSON.stringify(event)}\n\n`);
    encoded.set(event, bytes);
  }
  return bytes;
}

export const SSE_END_EVENT = 'end';

/** Sent first: the response's headers and a first byte leave at once, so the client knows the stream is open. */
const OPENED = encoder.encode(': open\n\n');
// Data must not be empty: a client does not dispatch an event without data (the SSE spec's rule).
const ENDED = encoder.encode(`event: ${SSE_END_EVENT}\ndata: {}\n\n`);
const KEEP_ALIVE = encoder.encode(': keep-alive\n\n');

/** Under the common 60 s idle limits of proxies, with room for a slow write. */
export const KEEP_ALIVE_MS = 20_000;

/** Where a stream's messages go: the body of the Response Next sends, or Ferry's server's own response. */
type SseSink = { write(bytes: Uint8Array): void; close(): void; fail(error: unknown): void };

/**
 * The events to send: an async iterable, or a function that hands each event to `deliver` as it comes and settles
 * when the stream is over (replayThenPush: each live event is written inside the bus's publish).
 */
type SseSource = (
  signal: AbortSignal,
  deliver: (event: { id: number }) => void,
) => AsyncIterable<{ id: number }> | Promise<void>;

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  // no-transform: compression and proxies must pass each message on as it comes.
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
} as const;

/**
 * Writes a stream into `sink`: the opening comment, then the source's events, then the end (or the error), with a
 * keep-alive comment while the source is silent. Stops at once when `stop` aborts (the client went away), not when
 * the source notices (it may be waiting on a read).
 */
function pump(source: SseSource, sink: SseSink, stop: AbortSignal, keepAliveMs: number): Promise<void> {
  sink.write(OPENED);
  const keepAlive = setInterval(() => sink.write(KEEP_ALIVE), keepAliveMs);
  // A stream that is still open must not hold a stopping server.
  keepAlive.unref();
  stop.addEventListener('abort', () => clearInterval(keepAlive), { once: true });
  return (async () => {
    try {
      const events = source(stop, (event) => {
        if (!stop.aborted) sink.write(encodeSseEvent(event));
      });
      if (Symbol.asyncIterator in events) for await (const event of events) sink.write(encodeSseEvent(event));
      else await events;
      if (!stop.aborted) {
        sink.write(ENDED);
        sink.close();
      }
    } catch (error) {
      // The client reconnects after an error (a failed replay read) and resumes after the last id it has.
      if (!stop.aborted) sink.fail(error);
    } finally {
      clearInterval(keepAlive);
    }
  })();
}

const NODE_WRITER = Symbol('ferry.sseNodeWriter');

type NodeWriter = (response: ServerResponse, headers: Record<string, string>) => void;

/**
 * The stream as a Response: Next sends its body (a web stream it pipes to the socket). The same stream can instead
 * be written straight to a Node response (writeSseToNode), which is how Ferry's server sends it: the body only
 * starts when someone reads it, so a Response that is never read starts nothing.
 */
export function sseResponse(
  open: SseSource,
  requestSignal: AbortSignal,
  options: { keepAliveMs?: number } = {},
): Response {
  const keepAliveMs = options.keepAliveMs ?? KEEP_ALIVE_MS;
  const stop = new AbortController();
  let started = false;
  const start = (sink: SseSink): Promise<void> => {
    if (started) return Promise.resolve();
    started = true;
    return pump(open, sink, stop.signal, keepAliveMs).finally(() => requestSignal.removeEventListener('abort', onGone));
  };
  const onGone = () => stop.abort();
  requestSignal.addEventListener('abort', onGone, { once: true });

  const body = new ReadableStream<Uint8Array>(
    {
      // Called on the first read; the pump then enqueues by itself, so this settles only when it has finished.
      pull: (controller) =>
        start({
          write: (bytes) => controller.enqueue(bytes),
          close: () => controller.close(),
          fail: (error) => controller.error(error),
        }),
      cancel() {
        stop.abort();
      },
    },
    // Nothing is pulled before a read: a Response written with writeSseToNode never starts its body.
    { highWaterMark: 0 },
  );
  const response = new Response(body, { headers: SSE_HEADERS });
  const writeToNode: NodeWriter = (nodeResponse, headers) => {
    // Set one by one rather than given to writeHead: the server's write hook (server/net/event-stream-flush.ts)
    // reads the content type back with getHeader.
    for (const [name, value] of Object.entries({ ...headers, ...SSE_HEADERS })) nodeResponse.setHeader(name, value);
    nodeResponse.writeHead(200);
    nodeResponse.once('close', () => stop.abort());
    void start({
      write: (bytes) => nodeResponse.write(bytes),
      close: () => nodeResponse.end(),
      fail: () => nodeResponse.destroy(),
    });
  };
  Object.defineProperty(response, NODE_WRITER, { value: writeToNode });
  return response;
}

/**
 * Writes a Response made by sseResponse straight to Node's response, with `headers` added, rather than through a
 * web stream: each message is one `write`. False (nothing written) for any other Response.
 *
 * Why: Next pipes a route's body to the socket through web streams, several promise steps per message, and with 51
 * streams open one event's writes took ~2.5–3 ms of the server's time instead of ~1.5 (51 loopback streams, the
 * same writes direct or piped, under an AsyncLocalStorage as in Next). The page a bar is drawn in waits for its
 * place in that wave.
 */
export function writeSseToNode(response: Response, nodeResponse: ServerResponse, headers: Record<string, string>) {
  const writer = (response as Response & { [NODE_WRITER]?: NodeWriter })[NODE_WRITER];
  if (writer === undefined) return false;
  writer(nodeResponse, headers);
  return true;
}
