import {
  defaultShouldDehydrateQuery,
  MutationCache,
  QueryCache,
  QueryClient,
  type QueryKey,
} from '@tanstack/react-query';
import superjson from 'superjson';

/** `onError` sees every failed query and mutation (the browser uses it to send a signed-out user to sign-in). */
export function makeQueryClient(options: { onError?: (error: unknown) => void } = {}) {
  const onError = options.onError;
  return new QueryClient({
    queryCache: onError ? new QueryCache({ onError }) : undefined,
    mutationCache: onError ? new MutationCache({ onError }) : undefined,
    defaultOptions: {
      queries: {
        staleTime: 5_000,
        // A refusal will not change on retry.
        retry: (failureCount, error) => failureCount < 1 && !isAccessError(error),
      },
      dehydrate: {
        serializeData: superjson.serialize,
        shouldDehydrateQuery: (query) => defaultShouldDehydrateQuery(query) || query.state.status === 'pending',
      },
      hydrate: { deserializeData: superjson.deserialize },
    },
  });
}

function errorCode(error: unknown): string | undefined {
  const data = (error as { data?: { code?: unknown } } | null)?.data;
  return typeof data?.code === 'string' ? data.code : undefined;
}

export function isAccessError(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'UNAUTHORIZED' || code === 'FORBIDDEN';
}

export function isSignedOutError(error: unknown): boolean {
  return errorCode(error) === 'UNAUTHORIZED';
}

/**
 * After a change, every query under these keys is read again, from now on. invalidateQueries alone reuses a read
 * already under way when the query has no data yet (a page's first load), and that read may have begun before the
 * change: the hosts table then missed the host just added until the next refresh (seen in e2e). Cancelling first
 * drops that read, so the refetch is a new one.
 */
export async function refreshAfterChange(queryClient: QueryClient, queryKeys: readonly QueryKey[]): Promise<void> {
  await Promise.all(queryKeys.map((queryKey) => queryClient.cancelQueries({ queryKey })));
  await Promise.all(queryKeys.map((queryKey) => queryClient.invalidateQueries({ queryKey })));
}
