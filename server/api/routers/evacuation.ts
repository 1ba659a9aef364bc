import { tracked } from '@trpc/server';
import { z } from 'zod';
import { executors } from '../../fleet/executors';
import { planBringBack, planEvacuation } from '../../evacuation/plan';
import {
  cancelEvacuation,
  endMaintenance,
  pauseEvacuation,
  resumeEvacuation,
  startBringBack,
  startEvacuation,
  type EvacuationDeps,
} from '../../evacuation/run';
import { streamEvacuationEvents } from '../../evacuation/events';
import { lastEventIdInput } from '../../migrations/events';
import { getEvacuationView, getHostEvacuationSummary } from '../../evacuation/view';
import { createTRPCRouter, operatorProcedure, viewerProcedure, type Context } from '../trpc';

function deps(ctx: Context): EvacuationDeps {
  return { db: ctx.db, bus: ctx.bus, executors: executors() };
}

function who(ctx: Context) {
  return { actor: ctx.actor.name, clientAddress: ctx.clientAddress };
}

const id = z.string().min(1).max(64);
const overrides = z
  .array(z.object({ vmUuid: z.string().min(1).max(64), destinationHostId: id.nullable() }))
  .max(10_000)
  .default([]);
/** A bring-back's VMs left where they are, by UUID. */
const excluded = z.array(z.string().min(1).max(64)).max(10_000).default([]);

export const evacuationRouter = createTRPCRouter({
  /** The dry run: asks every host, writes nothing. Operators only: it opens connections to every host. */
  plan: operatorProcedure
    .input(z.object({ hostId: id, overrides }))
    .query(({ ctx, input }) => planEvacuation(deps(ctx), input)),

  start: operatorProcedure
    .input(z.object({ hostId: id, overrides }))
    .mutation(({ ctx, input }) => startEvacuation(deps(ctx), who(ctx), input)),

  planBringBack: operatorProcedure
    .input(z.object({ hostId: id, excluded }))
    .query(({ ctx, input }) => planBringBack(deps(ctx), input)),

  startBringBack: operatorProcedure
    .input(z.object({ hostId: id, excluded }))
    .mutation(({ ctx, input }) => startBringBack(deps(ctx), who(ctx), input)),

  get: viewerProcedure.input(z.object({ id })).query(({ ctx, input }) => getEvacuationView(ctx.db, input.id)),

  /**
   * Its jobs' state and progress events, as one resumable SSE stream (tracked by event id, so a dropped stream
   * resumes with Last-Event-ID): the page's bars move as virsh reports, with one connection for every row.
   */
  events: viewerProcedure
    .input(
      z.object({
        id,
        lastEventId: lastEventIdInput,
      }),
    )
    .subscription(async function* ({ ctx, input, signal }) {
      for await (const event of streamEvacuationEvents({
        db: ctx.db,
        bus: ctx.bus,
        evacuationId: input.id,
        afterId: input.lastEventId,
        signal,
      })) {
        yield tracked(String(event.id), event);
      }
    }),

  forHost: viewerProcedure
    .input(z.object({ hostId: id }))
    .query(({ ctx, input }) => getHostEvacuationSummary(ctx.db, input.hostId)),

  pause: operatorProcedure
    .input(z.object({ id }))
    .mutation(({ ctx, input }) => pauseEvacuation(deps(ctx), who(ctx), input.id)),

  resume: operatorProcedure
    .input(z.object({ id }))
    .mutation(({ ctx, input }) => resumeEvacuation(deps(ctx), who(ctx), input.id)),

  cancel: operatorProcedure
    .input(z.object({ id }))
    .mutation(({ ctx, input }) => cancelEvacuation(deps(ctx), who(ctx), input.id)),

  endMaintenance: operatorProcedure
    .input(z.object({ hostId: id }))
    .mutation(({ ctx, input }) => endMaintenance(deps(ctx), who(ctx), input.hostId)),
});
