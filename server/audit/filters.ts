import { z } from 'zod';

/**
 * The audit filter, shared by the tRPC router, the export route and the page, so a copied link, an export
 * and the table all mean the same rows. Pure (zod only): the browser imports it to read and write the URL.
 */

export const AUDIT_RESULTS = ['ok', 'refused', 'failed'] as const;
export type AuditResultValue = (typeof AUDIT_RESULTS)[number];

/** What Ferry writes today; the filter accepts any action name so a new one is searchable before it is listed here. */
export const KNOWN_AUDIT_ACTIONS = [
  'host.add',
  'host.edit',
  'host.remove',
  'aliases.import',
  'migration.preflight',
  'migration.start',
  'migration.cancel',
  'migration.succeeded',
  'migration.failed',
  'migration.cancelled',
  'volume.create',
  'volume.delete',
  'auth.sign-in',
  'auth.sign-out',
  'auth.sign-out-everywhere',
  'auth.session-revoke',
  'account.password-change',
  'user.add',
  'user.role',
  'user.disable',
  'user.enable',
  'user.reset-password',
  'access.refused',
] as const;

export const AUDIT_PAGE_SIZE_DEFAULT = 50;
export const AUDIT_PAGE_SIZE_MAX = 200;
const ACTIONS_MAX = 20;

/** Form fields arrive as '' when cleared; '' means "no filter". */
export const optionalText = (max: number) =>
  z
    .string()
    .trim()
    .max(max, `At most ${max} characters.`)
    .optional()
    .transform((value) => (value === '' ? undefined : value));

/** A Date from tRPC (superjson) or an ISO string from a URL. */
export const optionalDate = z
  .union([z.date(), z.string()])
  .optional()
  .transform((value, ctx) => {
    if (value === undefined || value === '') return undefined;
    const date = value instanceof Date ? value : new Date(value);
    if (Number.isNaN(date.getTime())) {
      ctx.addIssue({ code: 'custom', message: 'Not a valid date and time.' });
      return z.NEVER;
    }
    return date;
  });

export const auditFilterSchema = z
  .object({
    from: optionalDate,
    to: optionalDate,
    actor: optionalText(100),
    actions: z
      .array(
        z
          .string()
          .trim()
          .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'An action looks like host.add.'),
      )
      .max(ACTIONS_MAX, `Pick at most ${ACTIONS_MAX} actions.`)
      .optional()
      .transform((value) => (value && value.length > 0 ? [...new Set(value)] : undefined)),
    host: optionalText(64),
    vm: optionalText(255),
    result: z
      .union([z.enum(AUDIT_RESULTS), z.literal('')])
      .optional()
      .transform((value) => (value === '' ? undefined : value)),
    /** Words searched in details (word prefixes, all must appear). */
    q: optionalText(200),
  })
  .refine((filter) => !filter.from || !filter.to || filter.from < filter.to, {
    message: '"From" must be before "to".',
    path: ['to'],
  });

/** Parsed filter; every field optional so code can also build one directly (`{}` is "everything"). */
export type AuditFilter = Partial<z.output<typeof auditFilterSchema>>;
export type AuditFilterInput = z.input<typeof auditFilterSchema>;

function readResult(value: string | null): AuditFilterInput['result'] {
  // An unknown value is passed on as-is for the schema to reject with a message, not silently dropped.
  return (value ?? undefined) as AuditFilterInput['result'];
}

/** URL parameter names; `action` repeats for several actions. */
const PARAM = {
  from: 'from',
  to: 'to',
  actor: 'actor',
  action: 'action',
  host: 'host',
  vm: 'vm',
  result: 'result',
  q: 'q',
} as const;

/** Raw (unvalidated) filter values from a URL, for the schema to check. */
export function auditFilterFromSearchParams(params: URLSearchParams): AuditFilterInput {
  const actions = params.getAll(PARAM.action).filter((value) => value.trim() !== '');
  return {
    from: params.get(PARAM.from) ?? undefined,
    to: params.get(PARAM.to) ?? undefined,
    actor: params.get(PARAM.actor) ?? undefined,
    actions: actions.length > 0 ? actions : undefined,
    host: params.get(PARAM.host) ?? undefined,
    vm: params.get(PARAM.vm) ?? undefined,
    result: readResult(params.get(PARAM.result)),
    q: params.get(PARAM.q) ?? undefined,
  };
}

/** The inverse of auditFilterFromSearchParams; dates travel as UTC ISO so a link means the same instant everywhere. */
export function auditFilterToSearchParams(filter: AuditFilterInput): URLSearchParams {
  const params = new URLSearchParams();
  const put = (key: string, value: string | Date | undefined | null) => {
    if (value === undefined || value === null) return;
    const text = value instanceof Date ? value.toISOString() : value.trim();
    if (text !== '') params.set(key, text);
  };
  put(PARAM.from, filter.from);
  put(PARAM.to, filter.to);
  put(PARAM.actor, filter.actor);
  for (const action of filter.actions ?? []) params.append(PARAM.action, action);
  put(PARAM.host, filter.host);
  put(PARAM.vm, filter.vm);
  put(PARAM.result, filter.result);
  put(PARAM.q, filter.q);
  return params;
}
