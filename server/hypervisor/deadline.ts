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

/** `promise`, or the error `onAbort` makes as soon as `signal` aborts (the promise itself goes on). */
export function raceWithSignal<T>(promise: Promise<T>, signal: AbortSignal, onAbort: () => Error): Promise<T> {
  if (signal.aborted) return Promise.reject(onAbort());
  return new Promise<T>((resolve, reject) => {
    const listener = () => reject(onAbort());
    signal.addEventListener('abort', listener, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', listener);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', listener);
        reject(error);
      },
    );
  });
}
