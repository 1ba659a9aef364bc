import { env } from '../../env';
import { executors } from '../../fleet/executors';
import { refreshFleet } from '../../fleet/service';
import { createTRPCRouter, viewerProcedure } from '../trpc';

export const fleetRouter = createTRPCRouter({
  /** Every host with its VM cards, read now. A host that fails or times out carries its error; the rest render. */
  list: viewerProcedure.query(({ ctx }) =>
    refreshFleet({ db: ctx.db, executors: executors(), timeoutMs: env.FERRY_HOST_TIMEOUT_MS }),
  ),
});
