import { z } from 'zod';
import { recordAudit, type AuditContext } from '../../audit/record';
import { describeZodError } from '../error-shape';
import { redactErrorText } from '../../redact';
import { UserError } from '../../errors';
import { executors } from '../../fleet/executors';
import { withDeadline } from '../../hypervisor/deadline';
import { describeHostError } from '../../hosts/host-errors';
import { env } from '../../env';
import {
  addHost,
  hostFormSchema,
  hostUpdateSchema,
  importAliases,
  PUBLIC_HOST_SELECT,
  removeHost,
  resolveReference,
  updateHost,
} from '../../hosts/service';
import { collectHostInfo } from '../../inventory/collect';
import { hostLimitsSchema, saveHostLimits } from '../../migrations/limits';
import { kickScheduler } from '../../migrations/scheduler';
import { judgeUri } from '../../hosts/uri-policy';
import { displayLibvirtUri, isSshTransport, parseLibvirtUri } from '../../libvirt/uri';
import { probeHostKey } from '../../hypervisor/ssh-executor';
import { mayReadFingerprints, mayReadRawOutput } from '../../auth/redact';
import { adminProcedure, createTRPCRouter, viewerProcedure, type Context } from '../trpc';

function auditContext(ctx: Context): AuditContext {
  return { actor: ctx.actor.name, clientAddress: ctx.clientAddress };
}

/** A refused mutation is audited too (outside the failed transaction), then the error goes to the user. */
async function auditRefusal<T>(
  ctx: Context,
  action: string,
  target: { hostAlias?: string | null },
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const message =
      error instanceof UserError ? error.message : error instanceof z.ZodError ? describeZodError(error) : null;
    if (message !== null) {
      await ctx.db.$transaction((tx) =>
        recordAudit(tx, {
          ...auditContext(ctx),
          action,
          result: 'refused',
          hostAlias: target.hostAlias ?? null,
          details: { reason: message },
        }),
      );
    }
    throw error;
  }
}

export const hostRouter = createTRPCRouter({
  list: viewerProcedure.query(async ({ ctx }) => {
    const hosts = await ctx.db.host.findMany({ select: PUBLIC_HOST_SELECT, orderBy: { alias: 'asc' } });
    return mayReadFingerprints(ctx.actor.role) ? hosts : hosts.map((host) => ({ ...host, pinnedFingerprint: null }));
  }),

  get: viewerProcedure.input(z.object({ alias: z.string().min(1).max(64) })).query(async ({ ctx, input }) => {
    const host = await ctx.db.host.findUnique({
      where: { alias: input.alias },
      select: { ...PUBLIC_HOST_SELECT, uri: true },
    });
    if (!host) throw new UserError({ code: 'NOT_FOUND', message: `No host with alias "${input.alias}".` });
    const { uri, ...rest } = host;
    const publicHost = mayReadFingerprints(ctx.actor.role) ? rest : { ...rest, pinnedFingerprint: null };
    // Features the operator enabled in server configuration that this host uses: the page warns about them.
    const parsed = parseLibvirtUri(uri);
    const verdict = parsed.ok ? judgeUri(parsed.uri) : null;
    const warnings = verdict?.ok ? verdict.warnings : [];
    try {
      const executor = executors().get(host);
      const info = await withDeadline(env.FERRY_HOST_TIMEOUT_MS, (signal) => collectHostInfo({ executor, signal }));
      return { host: publicHost, info, warnings, error: null, errorDetail: null };
    } catch (error) {
      const described = describeHostError(error, host.uri);
      const errorDetail = mayReadRawOutput(ctx.actor.role) ? described.errorDetail : null;
      return { host: publicHost, info: null, warnings, error: described.error, errorDetail };
    }
  }),

  /** Parses and checks a URI or alias without saving anything: the form calls it to show the host key. */
  inspect: adminProcedure.input(z.object({ reference: z.string().max(2048) })).mutation(async ({ ctx, input }) => {
    const resolved = await resolveReference(ctx.db, input.reference);
    const { uri } = resolved;
    let hostKey: { fingerprint: string; keyType: string } | null = null;
    let hostKeyError: string | null = null;
    if (uri.isRemote && isSshTransport(uri.transport) && uri.hostname) {
      try {
        hostKey = await probeHostKey({ host: uri.hostname, port: uri.port ?? 22 });
      } catch (error) {
        hostKeyError = redactErrorText(error instanceof Error ? error.message : String(error));
      }
    }
    return {
      viaAlias: resolved.viaAlias,
      isRemote: uri.isRemote,
      transport: uri.transport ?? null,
      hostname: uri.hostname ?? null,
      hostKey,
      hostKeyError,
    };
  }),

  add: adminProcedure
    .input(hostFormSchema)
    .mutation(({ ctx, input }) =>
      auditRefusal(ctx, 'host.add', { hostAlias: input.alias }, () =>
        addHost({ db: ctx.db, input, audit: auditContext(ctx) }),
      ),
    ),

  update: adminProcedure.input(z.object({ id: z.string().min(1), data: hostUpdateSchema })).mutation(({ ctx, input }) =>
    auditRefusal(ctx, 'host.edit', { hostAlias: input.data.alias }, async () => {
      const host = await updateHost({ db: ctx.db, id: input.id, input: input.data, audit: auditContext(ctx) });
      executors().evict(input.id);
      return host;
    }),
  ),

  /** Per-host migration limits and bandwidth cap; a raised limit may start queued jobs at once. */
  setLimits: adminProcedure.input(hostLimitsSchema.extend({ id: z.string().min(1) })).mutation(({ ctx, input }) =>
    auditRefusal(ctx, 'host.limits', {}, async () => {
      const { id, ...limits } = input;
      const saved = await saveHostLimits({ db: ctx.db, hostId: id, limits, who: auditContext(ctx) });
      await kickScheduler({ db: ctx.db, bus: ctx.bus, executors: executors() });
      return saved;
    }),
  ),

  remove: adminProcedure.input(z.object({ id: z.string().min(1) })).mutation(({ ctx, input }) =>
    auditRefusal(ctx, 'host.remove', {}, async () => {
      const removed = await removeHost({ db: ctx.db, id: input.id, audit: auditContext(ctx) });
      executors().evict(input.id);
      return removed;
    }),
  ),

  /** "Test connection": one cheap round trip, timed. */
  test: adminProcedure.input(z.object({ id: z.string().min(1) })).mutation(async ({ ctx, input }) => {
    const host = await ctx.db.host.findUnique({ where: { id: input.id } });
    if (!host) throw new UserError({ code: 'NOT_FOUND', message: 'That host no longer exists.' });
    const started = performance.now();
    try {
      const executor = executors().get(host);
      const result = await withDeadline(env.FERRY_HOST_TIMEOUT_MS, (signal) => executor.run(['version'], { signal }));
      return {
        ok: true as const,
        latencyMs: performance.now() - started,
        output: result.stdout.trim(),
        error: null,
        errorDetail: null,
      };
    } catch (error) {
      return {
        ok: false as const,
        latencyMs: performance.now() - started,
        output: null,
        ...describeHostError(error, host.uri),
      };
    }
  }),

  aliases: viewerProcedure.query(async ({ ctx }) => {
    const [aliases, uriDefault] = await Promise.all([
      ctx.db.uriAlias.findMany({ orderBy: { name: 'asc' } }),
      ctx.db.setting.findUnique({ where: { key: 'uri_default' } }),
    ]);
    // Alias URIs are shown in their display form only: they may name key files.
    return {
      aliases: aliases.map((alias) => {
        const parsed = parseLibvirtUri(alias.uri);
        return { name: alias.name, displayUri: parsed.ok ? displayLibvirtUri(parsed.uri) : '(invalid)' };
      }),
      uriDefault: uriDefault?.value ?? null,
    };
  }),

  importAliases: adminProcedure
    .input(z.object({ text: z.string().min(1, 'Paste the contents of a libvirt.conf.').max(200_000) }))
    .mutation(({ ctx, input }) =>
      auditRefusal(ctx, 'aliases.import', {}, () =>
        importAliases({ db: ctx.db, text: input.text, audit: auditContext(ctx) }),
      ),
    ),
});
