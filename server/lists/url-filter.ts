import { z } from 'zod';

/**
 * The pieces the list pages' filters share (audit log, migration history): zod fields for what a form or a
 * URL sends, and the URL reading and writing. Pure (zod only): the list pages import their filter modules in
 * the browser to read and write the URL, and the routers and export routes check the same schema.
 */

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

/** A list of choices: repeated values collapse, an empty list means "no filter". */
export function optionalChoices<S extends z.ZodArray<z.ZodType<string>>>(list: S) {
  return list
    .optional()
    .transform((value) => (value && value.length > 0 ? ([...new Set(value)] as z.output<S>) : undefined));
}

/** `.refine(...DATE_RANGE_RULE)` on a filter with from/to: an empty range is a mistake worth naming. */
export const DATE_RANGE_RULE: [
  check: (filter: { from?: Date; to?: Date }) => boolean,
  params: { message: string; path: string[] },
] = [
  (filter) => !filter.from || !filter.to || filter.from < filter.to,
  { message: '"From" must be before "to".', path: ['to'] },
];

/**
 * Raw (unvalidated) values from a URL for the schema to check: `single` names read once, `lists` names repeat.
 * Unknown values are passed on as they are, for the schema to reject with a message rather than dropped.
 */
export function readFilterParams<Single extends string, List extends string>(
  params: URLSearchParams,
  names: { single: readonly Single[]; lists: readonly List[] },
): Record<Single, string | undefined> & Record<List, string[] | undefined> {
  const raw: Record<string, string | string[] | undefined> = {};
  for (const name of names.single) raw[name] = params.get(name) ?? undefined;
  for (const name of names.lists) {
    const values = params.getAll(name).filter((value) => value.trim() !== '');
    raw[name] = values.length > 0 ? values : undefined;
  }
  return raw as Record<Single, string | undefined> & Record<List, string[] | undefined>;
}

/**
 * The inverse of readFilterParams, in the order given (a canonical link for equal filters): dates travel as
 * UTC ISO so a link means the same instant everywhere; empty values are left out.
 */
export function writeFilterParams(
  entries: readonly (readonly [string, string | Date | readonly string[] | undefined | null])[],
): URLSearchParams {
  const params = new URLSearchParams();
  for (const [name, value] of entries) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) {
      for (const item of value as readonly string[]) params.append(name, item);
      continue;
    }
    const text = value instanceof Date ? value.toISOString() : (value as string).trim();
    if (text !== '') params.set(name, text);
  }
  return params;
}
