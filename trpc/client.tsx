'use client';

import { QueryClientProvider, type QueryClient } from '@tanstack/react-query';
import { createTRPCClient, httpBatchStreamLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import { createTRPCContext } from '@trpc/tanstack-react-query';
import { EventSource } from 'eventsource';
import { useEffect, useState } from 'react';
import superjson from 'superjson';
import { config as zodConfig } from 'zod';
import type { AppRouter } from '@/server/api/root';
import { REQUEST_HEADER, REQUEST_HEADER_VALUE } from '@/server/auth/request-header';
import { isSignedOutError, makeQueryClient } from './query-client';

// zod 4 probes `new Function("")` to compile fast parsers; the CSP (no 'unsafe-eval') blocks and reports that probe.
zodConfig({ jitless: true });

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

/** Every API call carries Ferry's custom header: pages on other sites cannot send it (see request-checks.ts). */
const API_HEADERS = { [REQUEST_HEADER]: REQUEST_HEADER_VALUE };

/** A session that ended (timeout, "sign out everywhere", disabled) sends the page to sign-in, then back. */
function sendToSignIn(error: unknown) {
  if (!isSignedOutError(error) || window.location.pathname === '/sign-in') return;
  const next = `${window.location.pathname}${window.location.search}`;
  window.location.assign(`/sign-in?next=${encodeURIComponent(next)}`);
}

let browserQueryClient: QueryClient | undefined;

function getQueryClient() {
  if (typeof window === 'undefined') return makeQueryClient();
  browserQueryClient ??= makeQueryClient({ onError: sendToSignIn });
  return browserQueryClient;
}

function getUrl() {
  const base = typeof window === 'undefined' ? `http://localhost:${process.env.PORT ?? 3000}` : '';
  return `${base}/api/trpc`;
}

export function TRPCReactProvider({ children }: { children: React.ReactNode }) {
  const queryClient = getQueryClient();
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      links: [
        splitLink({
          condition: (op) => op.type === 'subscription',
          // The browser's own EventSource cannot send a header; this one is the same protocol over fetch.
          true: httpSubscriptionLink({
            url: getUrl(),
            transformer: superjson,
            EventSource,
            eventSourceOptions: {
              fetch: (url, init) => fetch(url, { ...init, headers: { ...init.headers, ...API_HEADERS } }),
            },
          }),
          false: httpBatchStreamLink({ url: getUrl(), transformer: superjson, headers: API_HEADERS }),
        }),
      ],
    }),
  );
  useEffect(() => {
    // Tests (and curious admins) can tell when the page is interactive: typing before hydration is lost.
    document.documentElement.dataset.hydrated = 'true';
  }, []);
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}
