import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { appRouter } from '@/server/api/root';
import { guardRoute } from '@/server/auth/route-guard';

export const dynamic = 'force-dynamic';

/** Every call, query or not, passes the Host/Origin/custom-header checks; each procedure declares its role. */
const handler = guardRoute({ access: 'procedures', requestCheck: 'api' }, (request, ctx) =>
  fetchRequestHandler({
    endpoint: '/api/trpc',
    req: request,
    router: appRouter,
    createContext: () => ctx,
  }),
);

export { handler as GET, handler as POST };
