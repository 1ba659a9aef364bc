import { z } from 'zod';
import { describeUnsendableText } from '../text-safety';

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
    .refine((value) => describeUnsendableText(value) === null, 'Contains a NUL or a broken Unicode character.')
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
    const year = date.getUTCFullYear();
    if (year < 1 || year > 9999) {
      ctx.addIssue({ code: 'custom', message: 'A date must fall between the years 1 and 9999.' });
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

/**
 * A list's filter: a from/to time range (an empty range is refused with a message on "to") plus the list's own
 * fields.
 */
export function dateRangeFilterSchema<Shape extends z.ZodRawShape>(shape: Shape) {
  return z.object({ from: optionalDate, to: optionalDate, ...shape }).refine(
    (filter) => {
      // Generic over Shape, zod cannot see that from/to are still the dates declared above.
      const { from, to } = filter as { from?: Date; to?: Date };
      return !from || !to || from < to;
    },
    { message: '"From" must be before "to".', path: ['to'] },
  );
}

/**
 * Reading and writing one list's filter in the URL, from one table of field → parameter name.
 * `read` gives raw values for the schema to check: an unknown value is passed on as it is, for the schema to
 * reject with a message, not dropped. `write` is its inverse, in the table's order (equal filters give equal
 * links): dates travel as UTC ISO so a link means the same instant everywhere; empty values are left out.
 */
export function filterUrlCodec<Input extends Record<string, unknown>>(options: {
  params: { [Field in keyof Input]-?: string };
  /** Fields that hold several values: their parameter repeats. */
  lists: readonly (keyof Input)[];
}) {
  const fields = Object.keys(options.params) as (keyof Input & string)[];
  const isList = (field: keyof Input) => options.lists.includes(field);
  return {
    read(params: URLSearchParams): Input {
      const raw: Record<string, string | string[] | undefined> = {};
      for (const field of fields) {
        const name = options.params[field];
        if (!isList(field)) {
          raw[field] = params.get(name) ?? undefined;
          continue;
        }
        const values = params.getAll(name).filter((value) => value.trim() !== '');
        raw[field] = values.length > 0 ? values : undefined;
      }
      return raw as Input;
    },
    write(filter: Input): URLSearchParams {
      const params = new URLSearchParams();
      for (const field of fields) {
        const name = options.params[field];
        const value = filter[field];
        if (value === undefined || value === null) continue;
        if (Array.isArray(value)) {
          for (const item of value as string[]) params.append(name, item);
          continue;
        }
        const text = value instanceof Date ? value.toISOString() : String(value).trim();
        if (text !== '') params.set(name, text);
      }
      return params;
    },
  };
}
