import { z } from 'zod';
import { dateRangeFilterSchema, optionalChoices, filterUrlCodec, optionalText } from '../lists/url-filter';

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
  'settings.allow-list',
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
  'apikey.add',
  'apikey.remove',
  'api.request',
] as const;

export const AUDIT_PAGE_SIZE_DEFAULT = 50;
export const AUDIT_PAGE_SIZE_MAX = 200;
const ACTIONS_MAX = 20;

export const auditFilterSchema = dateRangeFilterSchema({
  actor: optionalText(100),
  actions: optionalChoices(
    z
      .array(
        z
          .string()
          .trim()
          .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'An action looks like host.add.'),
      )
      .max(ACTIONS_MAX, `Pick at most ${ACTIONS_MAX} actions.`),
  ),
  host: optionalText(64),
  vm: optionalText(255),
  result: z
    .union([z.enum(AUDIT_RESULTS), z.literal('')])
    .optional()
    .transform((value) => (value === '' ? undefined : value)),
  /** Words searched in details (word prefixes, all must appear). */
  q: optionalText(200),
});

/** Parsed filter; every field optional so code can also build one directly (`{}` is "everything"). */
export type AuditFilter = Partial<z.output<typeof auditFilterSchema>>;
export type AuditFilterInput = z.input<typeof auditFilterSchema>;

/** URL parameter names; `action` repeats for several actions. */
const auditUrl = filterUrlCodec<AuditFilterInput>({
  params: {
    from: 'from',
    to: 'to',
    actor: 'actor',
    actions: 'action',
    host: 'host',
    vm: 'vm',
    result: 'result',
    q: 'q',
  },
  lists: ['actions'],
});

/** Raw (unvalidated) filter values from a URL, for the schema to check. */
export const auditFilterFromSearchParams = auditUrl.read;
export const auditFilterToSearchParams = auditUrl.write;
