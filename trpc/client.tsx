'use client';

import { QueryClientProvider, type QueryClient } from '@tanstack/react-query';
import { createTRPCClient, httpBatchStreamLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import { createTRPCContext } from '@trpc/tanstack-react-query';
import { useEffect, useState } from 'react';
import superjson from 'superjson';
import { config as zodConfig } from 'zod';
import type { AppRouter } from '@/server/api/root';
import { makeQueryClient } from './query-client';

// zod 4 probes `new Function("")` to compile fast parsers; the CSP (no 'unsafe-eval') blocks and reports that probe.
zodConfig({ jitless: true });

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

let browserQueryClient: QueryClient | undefined;

function getQueryClient() {
  if (typeof window === 'undefined') return makeQueryClient();
  browserQueryClient ??= makeQueryClient();
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
          true: httpSubscriptionLink({ url: getUrl(), transformer: superjson }),
          false: httpBatchStreamLink({ url: getUrl(), transformer: superjson }),
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
