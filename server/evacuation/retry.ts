/**
 * Whether a failed migration failed because of where it was going, so that the evacuation may try the next-best
 * host once. PURE. A failure of the VM itself (it stopped, libvirt refused its device) or of the source would
 * fail on any destination: retrying elsewhere would only repeat it.
 */

/** Preflight checks (preflight.ts, destinations.ts) that judge the destination. */
const DESTINATION_CHECKS = new Set([
  'destination-reachable',
  'destination-maintenance',
  'name-free',
  'storage',
  'memory',
  'cpu',
  'encryption',
]);

/** Classified libvirt failures (libvirt/migration/errors.ts) that only the destination causes. */
const DESTINATION_CODES = new Set(['name-clash', 'pool-not-found', 'disk-size-mismatch']);

/** Connection failures name their side in the message ("The destination host's SSH key is not trusted"). */
const CONNECTION_CODES = new Set([
  'unreachable',
  'libvirtd-down',
  'host-key',
  'auth',
  'tls-untrusted',
  'tls-misconfigured',
]);

export function isDestinationFailure(options: {
  errorCode: string | null;
  errorMessage: string | null;
  checklist: readonly { id: string; status: string }[];
}): boolean {
  const { errorCode, errorMessage, checklist } = options;
  if (errorCode === null) return false;
  if (errorCode === 'preflight')
    return checklist.some((check) => check.status === 'fail' && DESTINATION_CHECKS.has(check.id));
  if (DESTINATION_CODES.has(errorCode)) return true;
  if (CONNECTION_CODES.has(errorCode)) return /\bdestination\b/i.test(errorMessage ?? '');
  return false;
}

export function parseChecklist(text: string): { id: string; status: string }[] {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed)
      ? parsed.filter(
          (entry): entry is { id: string; status: string } =>
            typeof entry === 'object' && entry !== null && 'id' in entry && 'status' in entry,
        )
      : [];
  } catch {
    return [];
  }
}

/**
 * What an evacuation does with a failed job it may still retry: the next-best host after a destination failure,
 * the same host again after a Ferry restart interrupted the job before the VM moved (reattach.ts ends such a job
 * `failed`/`interrupted` only when the hosts said the VM is still on the source, so the same move is safe to
 * start again), else nothing. PURE.
 */
export function retryDecision(options: {
  errorCode: string | null;
  errorMessage: string | null;
  checklist: readonly { id: string; status: string }[];
  hasAlternative: boolean;
}): 'same-host' | 'next-host' | null {
  if (options.errorCode === 'interrupted') return 'same-host';
  if (options.hasAlternative && isDestinationFailure(options)) return 'next-host';
  return null;
}
