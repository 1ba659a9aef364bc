/**
 * virsh's words when a domain it was asked about does not exist (any more), as libvirt 9.0 writes them:
 * `error: failed to get domain 'vm1'` (virsh's own lookup) or
 * `error: Domain not found: no domain with matching name 'vm1'` (the driver's VIR_ERR_NO_DOMAIN).
 * Group 1 is the name virsh looked up, group 2 the driver's detail.
 */
export const NO_SUCH_DOMAIN_PATTERN = /failed to get domain '([^']*)'|Domain not found: ?(.*)/;
