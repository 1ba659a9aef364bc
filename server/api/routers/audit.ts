import { z } from 'zod';
import { UserError } from '../../errors';
import { AUDIT_PAGE_SIZE_DEFAULT, AUDIT_PAGE_SIZE_MAX, auditFilterSchema } from '../../audit/filters';
import { queryAuditPage } from '../../audit/query';
import { verifyAuditChain } from '../../audit/verify';
import { adminProcedure, createTRPCRouter, viewerProcedure } from '../trpc';

/** Enough of details for one table cell; the drawer loads the rest. */
export const DETAILS_PREVIEW_LENGTH = 160;

const listInput = z.object({
  filter: auditFilterSchema,
  cursor: z.string().max(40).nullish(),
  limit: z.number().int().min(1).max(AUDIT_PAGE_SIZE_MAX).default(AUDIT_PAGE_SIZE_DEFAULT),
});

export const auditRouter = createTRPCRouter({
  /** Newest first, one keyset page at a time. Hashes stay on the server; the drawer shows them per row. */
  list: viewerProcedure.input(listInput).query(async ({ ctx, input }) => {
    const page = await queryAuditPage({ db: ctx.db, filter: input.filter, cursor: input.cursor, limit: input.limit });
    return {
      nextCursor: page.nextCursor,
      rows: page.rows.map((row) => ({
        id: row.id,
        at: row.at,
        actor: row.actor,
        clientAddress: row.clientAddress,
        action: row.action,
        result: row.result,
        hostAlias: row.hostAlias,
        vmName: row.vmName,
        migrationId: row.migrationId,
        detailsPreview:
          row.details.length > DETAILS_PREVIEW_LENGTH
            ? `${row.details.slice(0, DETAILS_PREVIEW_LENGTH)}…`
            : row.details,
      })),
    };
  }),

  get: viewerProcedure.input(z.object({ id: z.number().int().positive() })).query(async ({ ctx, input }) => {
    const row = await ctx.db.auditEvent.findUnique({ where: { id: input.id } });
    if (!row) throw new UserError({ code: 'NOT_FOUND', message: `There is no audit row ${input.id}.` });
    return row;
  }),

  /** What the page may offer this caller. */
  access: viewerProcedure.query(({ ctx }) => ({ actor: ctx.actor.name, canVerify: ctx.actor.role === 'admin' })),

  /** Walks the whole chain (about a second per 100 000 rows); admins only, and a mutation so nothing refetches it. */
  verify: adminProcedure.mutation(({ ctx }) => verifyAuditChain(ctx.db)),
});
