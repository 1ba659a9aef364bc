import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { sseResponse } from './sse-response';

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
