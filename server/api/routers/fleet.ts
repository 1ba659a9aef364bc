import { env } from '../../env';
import { executors } from '../../fleet/executors';
import { refreshFleet } from '../../fleet/service';
import { mayReadRawOutput } from '../../auth/redact';
import { createTRPCRouter, viewerProcedure } from '../trpc';

export const fleetRouter = createTRPCRouter({
  /** Every host with its VM cards, read now. A host that fails or times out carries its error; the rest render. */
  list: viewerProcedure.query(async ({ ctx }) => {
    const fleet = await refreshFleet({ db: ctx.db, executors: executors(), timeoutMs: env.FERRY_HOST_TIMEOUT_MS });
    return mayReadRawOutput(ctx.actor.role) ? fleet : fleet.map((snapshot) => ({ ...snapshot, errorDetail: null }));
  }),
});
