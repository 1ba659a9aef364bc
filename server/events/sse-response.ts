/**
 * A stream of stored events (each with its row id) as a `text/event-stream` response, for streams that many
 * browsers watch at once (an evacuation's page). Each event is one SSE message, `id:` its row id (what the client
 * sends back as Last-Event-ID after a drop) and `data:` its JSON, encoded once: the bus hands the same event object
 * to every stream, and every stream sends the same bytes.
 *
 * Why not a tRPC subscription: tRPC turns each event into bytes separately for every stream, through several
 * layers of async generators and web streams, and the wave of one event reaches the last of 51 streams ~15 ms
 * after it was published on this machine (`npm run bench -- evacuation`). Here an event is a JSON.stringify once
 * and one enqueue per stream.
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

export function sseResponse(
  open: (signal: AbortSignal) => AsyncIterable<{ id: number }>,
  requestSignal: AbortSignal,
  options: { keepAliveMs?: number } = {},
): Response {
  const stop = new AbortController();
  const onGone = () => stop.abort();
  requestSignal.addEventListener('abort', onGone, { once: true });
  let keepAlive: NodeJS.Timeout | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(OPENED);
      keepAlive = setInterval(() => controller.enqueue(KEEP_ALIVE), options.keepAliveMs ?? KEEP_ALIVE_MS);
      // A stream that is still open must not hold a stopping server.
      keepAlive.unref();
      // Stops with the client at once, not when the source notices (it may be waiting on a read).
      stop.signal.addEventListener('abort', () => clearInterval(keepAlive), { once: true });
      void (async () => {
        try {
          for await (const event of open(stop.signal)) controller.enqueue(encodeSseEvent(event));
          if (!stop.signal.aborted) {
            controller.enqueue(ENDED);
            controller.close();
          }
        } catch (error) {
          // The client reconnects after an error (a failed replay read) and resumes after the last id it has.
          if (!stop.signal.aborted) controller.error(error);
        } finally {
          clearInterval(keepAlive);
          requestSignal.removeEventListener('abort', onGone);
        }
      })();
    },
    cancel() {
      stop.abort();
    },
  });
  return new Response(body, {
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      // no-transform: compression and proxies must pass each message on as it comes.
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    },
  });
}
