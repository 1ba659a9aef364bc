import { describeUnexpected } from '../api/error-shape';
import { HostTimeoutError } from '../hypervisor/deadline';
import { VirshError } from '../hypervisor/executor';
import { maskUriSecrets } from '../libvirt/uri';
import { redactErrorText } from '../redact';
import { RefusedUriError } from './uri-policy';

/**
 * A host's failure as a person (and so a browser) sees it: one line plus the detail, both redacted — no key paths,
 * no file contents quoted by libvirt's parse errors. `uri`, the host's stored URI, masks what ssh quotes of it
 * ("Warning: Identity file /etc/ferry/id_ed25519 not accessible"). Anything that is not a host failure is logged
 * and shown only by reference.
 */
export function describeHostError(error: unknown, uri?: string): { error: string; errorDetail: string | null } {
  const clean = (text: string) => redactErrorText(uri ? maskUriSecrets(text, uri) : text);
  if (error instanceof HostTimeoutError) return { error: error.message, errorDetail: null };
  if (error instanceof RefusedUriError) return { error: error.message, errorDetail: null };
  if (error instanceof VirshError) {
    const detail = clean(error.stderr.trim() || error.message);
    const firstLine = detail.split('\n').find((line) => line.trim() !== '') ?? detail;
    return { error: firstLine.replace(/^error:\s*/, ''), errorDetail: detail };
  }
  return { error: describeUnexpected(error), errorDetail: null };
}
