/** Prisma's code for a unique-constraint violation, on SQLite (driver adapter) and PostgreSQL alike. */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'P2002';
}
