/** The roles, weakest first. Each includes everything the ones before it may do. */
export const ROLES = ['viewer', 'operator', 'admin'] as const;

export type Role = (typeof ROLES)[number];

/**
 * What a tRPC procedure or route handler declares it needs. `public` is for the few calls a signed-out browser
 * must make (sign-in, health); anything that declares nothing is refused.
 */
export type Access = 'public' | Role;

export const ROLE_RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function hasRole(role: Role, needed: Role): boolean {
  return ROLE_RANK[role] >= ROLE_RANK[needed];
}

/** The sentence a refusal carries: it names what was missing. */
export function missingRoleMessage(needed: Role, role: Role): string {
  return `This needs the ${needed} role; you are ${role}.`;
}
