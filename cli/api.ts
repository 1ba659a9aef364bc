import { createTRPCClient, httpLink, httpSubscriptionLink, splitLink, TRPCClientError } from '@trpc/client';
import type { TRPCClient } from '@trpc/client';
import { EventSource } from 'eventsource';
import superjson from 'superjson';
import type { AppRouter } from '../server/api/root';
import { apiNamespace, MAX_CLOCK_SKEW_SECONDS } from '../server/signed-api/protocol';
import { CliError, EXIT } from './errors';
import type { Signer } from './keys';
import { signatureHeaders } from './sign-request';

/** Where the server tells its SSHSIG namespace (public: a client must know it before it can sign anything). */
export const NAMESPACE_PATH = '/api/signed-api';

/** A proxy in front of Ferry answers these when Ferry itself is down: for a script that is "unreachable". */
const GATEWAY_STATUSES = [502, 503, 504];

export type Api = {
  baseUrl: URL;
  signer: Signer;
  namespace: string;
  trpc: TRPCClient<AppRouter>;
  /** A signed GET of a path under the base URL, for the streamed exports. Refusals become CliErrors. */
  get: (pathAndQuery: string, init?: { signal?: AbortSignal }) => Promise<Response>;
  /** The last refusal the event stream met: EventSource itself only reports that it closed. */
  lastStreamRefusal: () => CliError | null;
};

function describeNetworkError(baseUrl: URL, error: unknown): CliError {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const reason = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
  return new CliError(EXIT.unreachable, `Cannot reach Ferry at ${baseUrl.origin} (${reason}).`);
}

/** Ferry's refusals come as tRPC errors (superjson: `{error: {json: …}}`) or as `{error: {message}}` / text. */
function refusalMessage(status: number, text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown; json?: { message?: unknown } } };
    const message = body.error?.json?.message ?? body.error?.message;
    if (typeof message === 'string' && message.trim() !== '') return message.trim();
  } catch {
    // not JSON: a plain-text refusal (an export's bad filter) or a proxy's page
  }
  const firstLine = text.trim().split('\n')[0]?.slice(0, 300);
  return firstLine ? `${firstLine} (HTTP ${status})` : `Ferry answered HTTP ${status}.`;
}

function errorFromResponse(baseUrl: URL, status: number, text: string): CliError {
  if (GATEWAY_STATUSES.includes(status)) {
    return new CliError(EXIT.unreachable, `Ferry at ${baseUrl.origin} is not answering (HTTP ${status}).`);
  }
  return new CliError(EXIT.failed, refusalMessage(status, text));
}

/**
 * GET /api/signed-api: `{ namespace, serverTime }`. Unsigned; its failure is the first sign the URL is wrong.
 * A clock too far from the server's would get every signed request refused: say so instead.
 */
export async function fetchNamespace(baseUrl: URL, signal?: AbortSignal): Promise<string> {
  let response: Response;
  try {
    response = await fetch(new URL(NAMESPACE_PATH, baseUrl), { signal, headers: { accept: 'application/json' } });
  } catch (error) {
    throw describeNetworkError(baseUrl, error);
  }
  const text = await response.text();
  if (!response.ok) throw errorFromResponse(baseUrl, response.status, text);
  let body: { namespace?: unknown; deploymentName?: unknown; serverTime?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new CliError(EXIT.failed, `${baseUrl.origin} does not look like Ferry (${NAMESPACE_PATH} is not JSON).`);
  }
  if (typeof body.serverTime === 'number') {
    const skew = Math.round(Date.now() / 1000 - body.serverTime);
    if (Math.abs(skew) > MAX_CLOCK_SKEW_SECONDS) {
      throw new CliError(
        EXIT.failed,
        `This machine's clock is ${Math.abs(skew)} s ${skew > 0 ? 'ahead of' : 'behind'} Ferry's; signed requests must be within ${MAX_CLOCK_SKEW_SECONDS} s. Fix the clock (NTP).`,
      );
    }
  }
  if (typeof body.namespace === 'string') return body.namespace;
  if (typeof body.deploymentName === 'string') return apiNamespace(body.deploymentName);
  throw new CliError(EXIT.failed, `${baseUrl.origin} does not tell its signing namespace at ${NAMESPACE_PATH}.`);
}

function bodyText(body: RequestInit['body']): string {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return body;
  // tRPC's httpLink sends JSON strings and the exports send nothing; anything else would be signed wrongly.
  throw new Error('ferry signs string bodies only');
}

/**
 * fetch, signed: every request gets a fresh timestamp and nonce, so a retry or an EventSource reconnect is a
 * new signature, never a replay. `onRefusal: 'throw'` turns a refusal into a CliError; `'return'` hands the
 * response on (EventSource must see the status to stop retrying) and reports the error through `refused`.
 */
export function signedFetch(options: {
  baseUrl: URL;
  signer: Signer;
  namespace: string;
  onRefusal: 'throw' | 'return';
  refused?: (error: CliError) => void;
}): (input: string | URL | Request, init?: RequestInit) => Promise<Response> {
  return async (input, init = {}) => {
    const url = new URL(input instanceof Request ? input.url : input, options.baseUrl);
    const method = (init.method ?? 'GET').toUpperCase();
    const body = bodyText(init.body);
    const headers = new Headers(init.headers);
    const signed = await signatureHeaders({
      signer: options.signer,
      namespace: options.namespace,
      method,
      target: `${url.pathname}${url.search}`,
      body,
    });
    for (const [name, value] of Object.entries(signed)) headers.set(name, value);
    let response: Response;
    try {
      response = await fetch(url, { ...init, method, headers, body: body === '' ? undefined : body });
    } catch (error) {
      if ((error as Error).name === 'AbortError') throw error;
      const failure = describeNetworkError(options.baseUrl, error);
      if (options.onRefusal === 'throw') throw failure;
      options.refused?.(failure);
      throw error;
    }
    if (response.ok) return response;
    const text = await response.text();
    const failure = errorFromResponse(options.baseUrl, response.status, text);
    // tRPC's own error bodies go on to the tRPC client, which reads code and message from them.
    const isTrpcError = text.startsWith('{"error":{"json"');
    if (options.onRefusal === 'throw' && !isTrpcError) throw failure;
    options.refused?.(failure);
    return new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

export async function connect(options: { baseUrl: URL; signer: Signer; namespace?: string }): Promise<Api> {
  const { baseUrl, signer } = options;
  const namespace = options.namespace ?? (await fetchNamespace(baseUrl));
  const trpcUrl = new URL('/api/trpc', baseUrl).toString();
  const throwing = signedFetch({ baseUrl, signer, namespace, onRefusal: 'throw' });
  let streamRefusal: CliError | null = null;
  const trpc = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        // The browser's transport (trpc/client.tsx): EventSource over fetch, here a signing fetch.
        true: httpSubscriptionLink({
          url: trpcUrl,
          transformer: superjson,
          EventSource,
          eventSourceOptions: {
            fetch: signedFetch({
              baseUrl,
              signer,
              namespace,
              onRefusal: 'return',
              refused: (error) => {
                streamRefusal = error;
              },
            }),
          },
        }),
        // One request per call (no batching): each is signed on its own and refused on its own.
        false: httpLink({ url: trpcUrl, transformer: superjson, fetch: throwing }),
      }),
    ],
  });
  return {
    baseUrl,
    signer,
    namespace,
    trpc,
    get: (pathAndQuery, init) => throwing(new URL(pathAndQuery, baseUrl), { method: 'GET', signal: init?.signal }),
    lastStreamRefusal: () => streamRefusal,
  };
}

const TRPC_CODE_EXIT: Record<string, (typeof EXIT)[keyof typeof EXIT]> = {
  BAD_REQUEST: EXIT.failed,
  UNAUTHORIZED: EXIT.failed,
  FORBIDDEN: EXIT.failed,
  NOT_FOUND: EXIT.failed,
  CONFLICT: EXIT.failed,
  PRECONDITION_FAILED: EXIT.failed,
  TOO_MANY_REQUESTS: EXIT.failed,
  INTERNAL_SERVER_ERROR: EXIT.failed,
};

/**
 * Any error from a call → the CliError to print; unknown errors are returned unchanged for main to report.
 * `streamRefusal` is what the event stream's fetch saw when EventSource reports only a closed stream.
 */
export function toCliError(error: unknown, streamRefusal: CliError | null = null): unknown {
  if (error instanceof CliError) return error;
  if (error instanceof TRPCClientError) {
    if (error.cause instanceof CliError) return error.cause;
    const code = (error.data as { code?: string } | undefined)?.code;
    if (code) return new CliError(TRPC_CODE_EXIT[code] ?? EXIT.failed, error.message);
    if (streamRefusal) return streamRefusal;
    return new CliError(EXIT.failed, error.message);
  }
  return error;
}
