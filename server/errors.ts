/**
 * A problem with what the user asked for, explained in one sentence and, where it belongs to one form field,
 * naming that field so the UI can show it inline. Routers turn it into a BAD_REQUEST / CONFLICT / NOT_FOUND.
 */
export type UserErrorCode = 'BAD_REQUEST' | 'CONFLICT' | 'NOT_FOUND' | 'PRECONDITION_FAILED';

export class UserError extends Error {
  readonly code: UserErrorCode;
  readonly field: string | null;

  constructor(options: { message: string; code?: UserErrorCode; field?: string }) {
    super(options.message);
    this.name = 'UserError';
    this.code = options.code ?? 'BAD_REQUEST';
    this.field = options.field ?? null;
  }

  /** Recognised across the several copies of this module that Next.js bundles (see VirshError). */
  static [Symbol.hasInstance](value: unknown): boolean {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as { name?: unknown }).name === 'UserError' &&
      'code' in value
    );
  }
}
