import { initTRPC, TRPCError } from '@trpc/server';
import superjson from 'superjson';
import { z, ZodError } from 'zod';
import { db as defaultDb, type Db } from '../db';
import { env } from '../env';
import { bus as defaultBus, type EventBus } from '../events/bus';
import { UserError } from '../errors';
import { clientAddressFromHeaders } from '../net/edge-headers';
import { clipMessage, describeUnexpected, describeZodError, findUnsendableInput } from './error-shape';

/**
 * Who is calling. Until users and roles land every request acts as FERRY_DEFAULT_ACTOR with role admin;
 * procedures already take the actor from here so that change is confined to this file.
 */
export type Actor = {
  name: string;
  role: 'viewer' | 'operator' | 'admin';
};

export type Context = {
  db: Db;
  bus: EventBus;
  actor: Actor;
  clientAddress: string | null;
};

export function createContextInner(overrides: Partial<Context> = {}): Context {
  return {
    db: overrides.db ?? defaultDb,
    bus: overrides.bus ?? defaultBus,
    actor: overrides.actor ?? { name: env.FERRY_DEFAULT_ACTOR, role: 'admin' },
    clientAddress: overrides.clientAddress ?? null,
  };
}

export function createContextFromRequest(request: Request): Context {
  // Never X-Forwarded-For from the request itself: Ferry's server resolved the address (trusted proxies only).
  return createContextInner({ clientAddress: clientAddressFromHeaders(request.headers) });
}

const t = initTRPC.context<Context>().create({
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

/** NUL and lone surrogates are refused in every procedure's input before any schema or query sees them. */
const unsendableInput = t.middleware(async ({ getRawInput, next }) => {
  const problem = findUnsendableInput(await getRawInput());
  if (problem !== null) throw new TRPCError({ code: 'BAD_REQUEST', message: problem });
  return next();
});

const baseProcedure = t.procedure.use(userErrors).use(unsendableInput);

const ROLE_RANK: Record<Actor['role'], number> = { viewer: 0, operator: 1, admin: 2 };

function requireRole(minimum: Actor['role']) {
  return t.middleware(({ ctx, next }) => {
    if (ROLE_RANK[ctx.actor.role] < ROLE_RANK[minimum]) {
      throw new TRPCError({ code: 'FORBIDDEN', message: `This needs the ${minimum} role; you are ${ctx.actor.role}.` });
    }
    return next();
  });
}

/** Reads: any signed-in role. */
export const viewerProcedure = baseProcedure.use(requireRole('viewer'));
/** Migrations: start, cancel. */
export const operatorProcedure = baseProcedure.use(requireRole('operator'));
/** Host registry and settings. */
export const adminProcedure = baseProcedure.use(requireRole('admin'));
