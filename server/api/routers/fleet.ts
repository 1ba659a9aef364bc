import { tracked } from '@trpc/server';
import { z } from 'zod';
import { env } from '../../env';
import { executors } from '../../fleet/executors';
import { refreshFleet } from '../../fleet/service';
import { mayReadFingerprints, mayReadRawOutput } from '../../auth/redact';
import { runningLiveFleet, startLiveFleet } from '../../inventory/live';
import {
  redactFleetMessage,
  redactFleetSnapshot,
  type FleetLiveMessage,
  type FleetReadRights,
} from '../../inventory/live/fleet-deltas';
import type { Role } from '../../auth/roles';
import { NO_STREAM, type FleetDeltaBatch } from '../../inventory/live/live-fleet';
import { createTRPCRouter, viewerProcedure } from '../trpc';

const readRights = (role: Role): FleetReadRights => ({
  mayReadRaw: mayReadRawOutput(role),
  mayReadFingerprints: mayReadFingerprints(role),
});

/** `<epoch>:<id>`: an id is only meaningful within the server process (epoch) that gave it. */
const LIVE_EVENT_ID = /^([a-z0-9]{1,24}):(\d{1,15})$/;

export const fleetRouter = createTRPCRouter({
  /**
   * Every host with its VM cards, read now (the Refresh button). A host that fails or times out carries its error;
   * the rest render. The reads also go into the live inventory, so every open fleet page gets them.
   */
  list: viewerProcedure.query(async ({ ctx }) => {
    const reads = await refreshFleet({ db: ctx.db, executors: executors(), timeoutMs: env.FERRY_HOST_TIMEOUT_MS });
    const live = runningLiveFleet(ctx.db);
    const fleet = live
      ? await live.acceptReads(reads)
      : reads.map((read) => ({ ...read, stream: NO_STREAM, lastReadAt: null, libvirtVersion: null }));
    return fleet.map((snapshot) => redactFleetSnapshot(snapshot, readRights(ctx.actor.role)));
  }),

  /**
   * The fleet as the server's live inventory has it, then every change as it happens (SSE). A reconnecting browser
   * sends the last tracked id and gets the batches it missed, or a fresh snapshot when the server no longer holds
   * them (or restarted). Subscribes before reading, so nothing published meanwhile is lost.
   */
  live: viewerProcedure
    .input(z.object({ lastEventId: z.string().regex(LIVE_EVENT_ID, 'not an id this stream sent').nullish() }))
    .subscription(async function* ({ ctx, input, signal }) {
      const { fleet, started } = startLiveFleet(ctx.db);
      // The first subscriber after a start waits for the first read of every host, rather than an empty fleet.
      await started;
      const rights = readRights(ctx.actor.role);
      const queue: FleetDeltaBatch[] = [];
      let wake: (() => void) | null = null;
      const unsubscribe = ctx.bus.subscribe('fleet-live', (batch) => {
        queue.push(batch);
        wake?.();
      });
      const send = (id: number, message: FleetLiveMessage) =>
        tracked(`${fleet.epoch}:${id}`, redactFleetMessage(message, rights));
      try {
        const resume = LIVE_EVENT_ID.exec(input.lastEventId ?? '');
        const replay = resume && resume[1] === fleet.epoch ? fleet.since(Number(resume[2])) : null;
        let lastId: number;
        if (replay === null) {
          const snapshot = fleet.snapshot();
          lastId = snapshot.id;
          yield send(lastId, { kind: 'snapshot', hosts: snapshot.hosts });
        } else {
          lastId = Number(resume?.[2]);
          for (const batch of replay) {
            lastId = batch.id;
            yield send(batch.id, { kind: 'deltas', deltas: batch.deltas });
          }
        }
        signal?.addEventListener('abort', () => wake?.(), { once: true });
        while (!signal?.aborted) {
          while (queue.length > 0) {
            const batch = queue.shift() as FleetDeltaBatch;
            if (batch.epoch !== fleet.epoch || batch.id <= lastId) continue;
            lastId = batch.id;
            yield send(batch.id, { kind: 'deltas', deltas: batch.deltas });
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = null;
        }
      } finally {
        unsubscribe();
      }
    }),
});
