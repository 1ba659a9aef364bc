import type { Role } from './roles';

/**
 * What each role may see beyond names and states. Viewers get no raw virsh text (libvirt quotes file contents
 * in its errors) and no host-key fingerprints; fingerprints are for admins, who pin them.
 */
export function mayReadRawOutput(role: Role): boolean {
  return role !== 'viewer';
}

export function mayReadFingerprints(role: Role): boolean {
  return role === 'admin';
}
