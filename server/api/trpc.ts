import { initTRPC, TRPCError } from '@trpc/server';
import superjson from 'superjson';
import { z, ZodError } from 'zod';
import { anchorAfterAdminAction } from '../audit/anchors';
import { auditAccessRefusal } from '../auth/refusal';
import { hasRole, missingRoleMessage, type Access, type Role } from '../auth/roles';
import { readSessionToken, resolveSession } from '../auth/session';
import { db as defaultDb, type Db } from '../db';
import { bus as defaultBus, type EventBus } from '../events/bus';
import { UserError } from '../errors';
import { clientAddressFromHeaders } from '../net/edge-headers';
import { clipMessage, describeUnexpected, describeZodError, findUnsendableInput } from './error-shape';

/**
 * Who is calling: the signed-in user. `sessionId` is null for callers made in tests and scripts and for signed
 * API requests, which carry the fingerprint of the SSH key that signed them instead.
 */
export type Actor = {
  name: string;
  role: Role;
  userId?: string;
  sessionId?: string | null;
  keyFingerprint?: string | null;
};

/** What every call starts with; `actor` is null for a browser that is not signed in. */
export type RequestContext = {
  db: Db;
  bus: EventBus;
  actor: Actor | null;
  clientAddress: string | null;
  userAgent: string | null;
};

/** What a procedure that needs a role sees: the authorisation middleware has made sure someone is there. */
export type Context = RequestContext & { actor: Actor };

/** Every procedure declares what it needs; the authorisation middleware refuses one that declares nothing. */
export type Meta = { access?: Access };

export function createContextInner(overrides: Partial<RequestContext> = {}): RequestContext {
  return {
    db: overrides.db ?? defaultDb,
    bus: overrides.bus ?? defaultBus,
    actor: overrides.actor ?? null,
    clientAddress: overrides.clientAddress ?? null,
    userAgent: overrides.userAgent ?? null,
  };
}

/** The request's context: its session cookie resolved against the database (one indexed read). */
export async function createContextFromRequest(request: Request, options: { db?: Db } = {}): Promise<RequestContext> {
  const db = options.db ?? defaultDb;
  const user = await resolveSession({ db, token: readSessionToken(request.headers.get('cookie')) });
  return createContextInner({
    db,
    actor: user ? { name: user.name, role: user.role, userId: user.userId, sessionId: user.sessionId } : null,
    // Never X-Forwarded-For from the request itself: Ferry's server resolved the address (trusted proxies only).
    clientAddress: clientAddressFromHeaders(request.headers),
    userAgent: request.headers.get('user-agent'),
  });
}

const t = initTRPC
  .context<RequestContext>()
  .meta<Meta>()
  .create({
    transformer: superjson,
    errorFormatter({ shape, error, path }) {
      const zodError = error.cause instanceof ZodError ? error.cause : null;
      // Nothing unexpected leaves the server: Prisma's SQL, stacks and paths stay in the log under a reference.
      const message =
        error.code === 'INTERNAL_SERVER_ERROR'
          ? describeUnexpected(error.cause ?? error, `tRPC ${path ?? '?'}`)
          : zodError
            ? describeZodError(zodError)
            : clipMessage(shape.message);
      return {
        ...shape,
        message,
        data: {
          ...shape.data,
          stack: undefined,
          // Field-level messages for forms: { fieldErrors: { uri: ['…'] }, formErrors: [] }.
          zodError: zodError ? z.flattenError(zodError) : null,
          field: error.cause instanceof UserError ? error.cause.field : null,
        },
      };
    },
  });

export const createTRPCRouter = t.router;
export const createCallerFactory = t.createCallerFactory;

/** A UserError thrown by a service becomes a client error with its own code, not a 500. */
const userErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.cause instanceof UserError) {
    const cause = result.error.cause;
    return { ...result, error: new TRPCError({ code: cause.code, message: cause.message, cause }) };
  }
  return result;
});

/**
 * Deny by default, in one place for every query, mutation and subscription: a procedure without a declared
 * access is refused; one that needs a role refuses a signed-out caller (401) and a caller without the role
 * (403, naming the role, audited). It runs before input parsing, so a refused call learns nothing about inputs.
 */
const authorize = t.middleware(async ({ ctx, meta, path, next }) => {
  const access = meta?.access;
  if (access === 'public') return next();
  if (!access) {
    throw new TRPCError({ code: 'FORBIDDEN', message: `${path} declares no role, so nobody may call it.` });
  }
  if (!ctx.actor) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in first.' });
  if (!hasRole(ctx.actor.role, access)) {
    await auditAccessRefusal({
      db: ctx.db,
      actor: ctx.actor,
      clientAddress: ctx.clientAddress,
      target: path,
      needed: access,
    });
    throw new TRPCError({ code: 'FORBIDDEN', message: missingRoleMessage(access, ctx.actor.role) });
  }
  return next({ ctx: { actor: ctx.actor } });
});

/** NUL and lone surrogates are refused in every procedure's input before any schema or query sees them. */
const unsendableInput = t.middleware(async ({ getRawInput, next }) => {
  const problem = findUnsendableInput(await getRawInput());
  if (problem !== null) throw new TRPCError({ code: 'BAD_REQUEST', message: problem });
  return next();
});

/** Narrows the context type for role procedures; `authorize` has already refused a missing actor. */
const withActor = t.middleware(({ ctx, next }) => {
  if (!ctx.actor) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in first.' });
  return next({ ctx: { actor: ctx.actor } });
});

/** An admin change that went through has its audit row committed: log the chain head (server/audit/anchors.ts). */
const anchorAdminActions = t.middleware(async ({ ctx, type, next }) => {
  const result = await next();
  if (result.ok && type === 'mutation') anchorAfterAdminAction(ctx.db);
  return result;
});

const baseProcedure = t.procedure.use(authorize).use(userErrors).use(unsendableInput);

/** Signed-out callers: only what the sign-in page needs. */
export const publicProcedure = baseProcedure.meta({ access: 'public' });
/** Reads: any signed-in role. */
export const viewerProcedure = baseProcedure.meta({ access: 'viewer' }).use(withActor);
/** Migrations: start, cancel (later power actions and evacuations). */
export const operatorProcedure = baseProcedure.meta({ access: 'operator' }).use(withActor);
/** Hosts, users, settings, audit verification. */
export const adminProcedure = baseProcedure.meta({ access: 'admin' }).use(withActor).use(anchorAdminActions);
