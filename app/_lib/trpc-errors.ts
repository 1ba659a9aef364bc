import type { TRPCClientErrorLike } from '@trpc/client';
import type { AppRouter } from '@/server/api/root';

export type FieldErrors = Record<string, string>;

/** Turns a tRPC error into per-field messages (from zod or a UserError's field) plus a form-level message. */
export function toFieldErrors(error: TRPCClientErrorLike<AppRouter> | null | undefined): {
  fields: FieldErrors;
  form: string | null;
} {
  if (!error) return { fields: {}, form: null };
  const fields: FieldErrors = {};
  const zodFields = error.data?.zodError?.fieldErrors as Record<string, string[] | undefined> | undefined;
  if (zodFields) {
    for (const [key, messages] of Object.entries(zodFields)) {
      if (messages?.[0]) fields[key.split('.').pop() ?? key] = messages[0];
    }
  }
  const field = error.data?.field;
  if (field) fields[field] = error.message;
  const hasFields = Object.keys(fields).length > 0;
  return { fields, form: hasFields ? null : error.message };
}
