import { tracked } from '@trpc/server';
import { z } from 'zod';
import { UserError } from '../../errors';
import { executors } from '../../fleet/executors';
import { lastEventIdInput, listMigrationEvents, streamMigrationEvents } from '../../migrations/events';
import { migrationRequestSchema } from '../../migrations/request';
import {
  cancelMigration,
  preflightMigration,
  startMigration,
  switchToPostcopy,
  type MigrationDeps,
} from '../../migrations/service';
import { describeQueue } from '../../migrations/scheduler';
import { ACTIVE_STATES, type MigrationEvent, type PreflightCheck } from '../../migrations/types';
import { mayReadRawOutput } from '../../auth/redact';
import { createTRPCRouter, operatorProcedure, viewerProcedure, type Context } from '../trpc';

function deps(ctx: Context): MigrationDeps {
  return { db: ctx.db, bus: ctx.bus, executors: executors() };
}

/** Viewers do not get virsh's stderr: libvirt quotes file contents and paths in its errors. */
function isVisibleTo(ctx: Context, event: MigrationEvent): boolean {
  return mayReadRawOutput(ctx.actor.role) || !(event.type === 'log' && event.stream === 'stderr');
}

function who(ctx: Context) {
  return { actor: ctx.actor.name, clientAddress: ctx.clientAddress };
}

export const migrationRouter = createTRPCRouter({
  preflight: operatorProcedure
    .input(migrationRequestSchema)
    .mutation(({ ctx, input }) => preflightMigration(deps(ctx), who(ctx), input)),

  start: operatorProcedure
    .input(migrationRequestSchema)
    .mutation(({ ctx, input }) => startMigration(deps(ctx), who(ctx), input)),

  cancel: operatorProcedure
    .input(z.object({ id: z.string().min(1) }))
    .mutation(({ ctx, input }) => cancelMigration(deps(ctx), who(ctx), input.id)),

  switchToPostcopy: operatorProcedure
    .input(z.object({ id: z.string().min(1) }))
    .mutation(({ ctx, input }) => switchToPostcopy(deps(ctx), who(ctx), input.id)),

  get: viewerProcedure.input(z.object({ id: z.string().min(1) })).query(async ({ ctx, input }) => {
    const migration = await ctx.db.migration.findUnique({ where: { id: input.id } });
    if (!migration) throw new UserError({ code: 'NOT_FOUND', message: 'No such migration.' });
    // Everything so far, so the page renders the current state at once and subscribes from the last id.
    const events = await listMigrationEvents({ db: ctx.db, migrationId: input.id });
    // Raw URIs may carry key paths: never sent. virsh's own text only to roles that act on migrations.
    const {
      sourceHostId: _s,
      destinationHostId: _d,
      ownerId: _o,
      sourceUri: _su,
      destinationUri: _du,
      ...rest
    } = migration;
    const isRawAllowed = mayReadRawOutput(ctx.actor.role);
    const queue = migration.state === 'queued' ? ((await describeQueue(ctx.db)).get(migration.id) ?? null) : null;
    return {
      ...rest,
      queue,
      rawError: isRawAllowed ? rest.rawError : null,
      output: isRawAllowed ? rest.output : '',
      options: JSON.parse(migration.options) as Record<string, unknown>,
      checklist: JSON.parse(migration.checklist) as PreflightCheck[],
      events: events.filter((event) => isVisibleTo(ctx, event)),
    };
  }),

  /**
   * Every unfinished migration with, for a queued one, its place in the queue and what it waits for: the
   * fleet's VM cards, the history list and the migration page show them.
   */
  active: viewerProcedure.query(async ({ ctx }) => {
    const [rows, queue] = await Promise.all([
      ctx.db.migration.findMany({
        where: { state: { in: [...ACTIVE_STATES] } },
        orderBy: { createdAt: 'asc' },
        select: {
          id: true,
          vmName: true,
          vmUuid: true,
          sourceAlias: true,
          destinationAlias: true,
          state: true,
          percent: true,
          bandwidthShareMiBps: true,
        },
      }),
      describeQueue(ctx.db),
    ]);
    return rows.map((row) => ({ ...row, queue: queue.get(row.id) ?? null }));
  }),

  /** Migrations of one VM, newest first (the VM card links to its last one). */
  recent: viewerProcedure
    .input(z.object({ limit: z.number().int().min(1).max(50).default(10) }))
    .query(({ ctx, input }) =>
      ctx.db.migration.findMany({
        orderBy: { createdAt: 'desc' },
        take: input.limit,
        select: {
          id: true,
          vmName: true,
          sourceAlias: true,
          destinationAlias: true,
          state: true,
          percent: true,
          createdAt: true,
        },
      }),
    ),

  /**
   * Live events of one migration, resumable: a reconnecting browser (httpSubscriptionLink sends the last tracked
   * id) misses nothing. The subscribe → replay → stream loop lives in migrations/events.ts.
   */
  events: viewerProcedure
    .input(
      z.object({
        id: z.string().min(1),
        lastEventId: lastEventIdInput,
      }),
    )
    .subscription(async function* ({ ctx, input, signal }) {
      for await (const event of streamMigrationEvents({
        db: ctx.db,
        bus: ctx.bus,
        migrationId: input.id,
        afterId: input.lastEventId,
        signal,
      })) {
        if (!isVisibleTo(ctx, event)) continue;
        yield tracked(String(event.id), event);
      }
    }),
});
