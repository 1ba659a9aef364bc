import { maskUriSecrets } from '../libvirt/uri';
import { VirshError } from './executor';

/**
 * Runs `work` with a hard deadline: the signal aborts the host's commands, and the race stops waiting even if they
 * ignore it.
 */
export async function withDeadline<T>(timeoutMs: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new HostTimeoutError(timeoutMs));
    }, timeoutMs);
  });
  try {
    return await Promise.race([work(controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export class HostTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`The host did not answer within ${(timeoutMs / 1000).toFixed(1)} s.`);
    this.name = 'HostTimeoutError';
  }
}

/**
 * `uri`: the host's stored URI, when the answer goes to a browser: ssh quotes the key file in its errors, and
 * that path is masked as in the display URI.
 */
export function describeHostError(error: unknown, uri?: string): { error: string; errorDetail: string | null } {
  const mask = (text: string) => (uri ? maskUriSecrets(text, uri) : text);
  if (error instanceof HostTimeoutError) return { error: mask(error.message), errorDetail: null };
  if (error instanceof VirshError) {
    const detail = mask(error.stderr.trim() || error.message);
    const firstLine = detail.split('\n').find((line) => line.trim() !== '') ?? detail;
    return { error: firstLine.replace(/^error:\s*/, ''), errorDetail: detail };
  }
  return { error: mask(error instanceof Error ? error.message : String(error)), errorDetail: null };
}
