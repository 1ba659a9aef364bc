import { z } from 'zod';
import { env } from '../env';
import { executors } from '../fleet/executors';
import { createTRPCRouter, operatorProcedure, viewerProcedure, type Context } from '../api/trpc';
import { POWER_ACTIONS } from './rules';
import {
  dismissPowerAction,
  getPowerAction,
  listOpenPowerActions,
  locateVm,
  requestPowerAction,
  type PowerDeps,
} from './service';

function deps(ctx: Context): PowerDeps {
  return { db: ctx.db, executors: executors(), shutdownTimeoutMs: env.FERRY_SHUTDOWN_TIMEOUT_MS };
}

function who(ctx: Context) {
  return { actor: ctx.actor.name, clientAddress: ctx.clientAddress };
}

const id = z.object({ id: z.string().min(1).max(64) });

export const powerRouter = createTRPCRouter({
  /** Start, shut down, reboot, force off, suspend or resume one VM, named by host and UUID (name re-checked). */
  act: operatorProcedure
    .input(
      z.object({
        hostId: z.string().min(1).max(64),
        vmName: z.string().min(1).max(255),
        // Any 8-4-4-4-12 hex: libvirt makes UUIDs that are not RFC 4122 (the test driver's VM is version 8).
        vmUuid: z.guid(),
        action: z.enum(POWER_ACTIONS),
      }),
    )
    .mutation(({ ctx, input }) => requestPowerAction(deps(ctx), who(ctx), input)),

  /** Shutdowns in progress and undismissed outcomes (force-off offers), for every card at once. */
  open: viewerProcedure.query(({ ctx }) => listOpenPowerActions(deps(ctx))),

  /** One action's state, settled against the host first when it is a pending shutdown. */
  get: viewerProcedure.input(id).query(({ ctx, input }) => getPowerAction(deps(ctx), input.id)),

  /** The hosts that have a VM of this name, with its UUID there (the CLI's way from a name to host + UUID). */
  locate: viewerProcedure
    .input(z.object({ vmName: z.string().min(1).max(255), hostAlias: z.string().min(1).max(64).optional() }))
    .query(({ ctx, input }) => locateVm(deps(ctx), { ...input, timeoutMs: env.FERRY_HOST_TIMEOUT_MS })),

  dismiss: operatorProcedure.input(id).mutation(({ ctx, input }) => dismissPowerAction(deps(ctx), who(ctx), input.id)),
});
