import { summarizeStderr } from '../hypervisor/failure';
import { NO_SUCH_DOMAIN_PATTERN } from '../libvirt/virsh-errors';
import { redactErrorText } from '../redact';
import { ACTION_WORDS, type PowerAction } from './rules';

/**
 * libvirt's refusal of a power action → one sentence a person can act on. PURE. Each rule matches what virsh
 * really writes (libvirt 9.0, qemu and test drivers; captured in errors.test.ts), e.g.
 * `error: Failed to suspend domain 'test'` + `error: internal error: domain 'test' not running`.
 * The raw text stays in the server log; what leaves is `cause` (and `code` for scripts).
 */
export type PowerFailureCode =
  | 'already-running'
  | 'not-running'
  | 'not-paused'
  | 'busy'
  | 'unsupported'
  | 'no-such-vm'
  | 'read-only'
  | 'stuck-process'
  | 'start-failed'
  | 'unknown';

export type PowerFailure = { code: PowerFailureCode; cause: string };

type Rule = { code: PowerFailureCode; pattern: RegExp; cause: (action: string, vm: string) => string };

const RULES: readonly Rule[] = [
  {
    code: 'no-such-vm',
    pattern: NO_SUCH_DOMAIN_PATTERN,
    cause: (_a, vm) => `"${vm}" is no longer on this host (it was undefined or migrated away): refresh the page.`,
  },
  {
    // virsh's own check (`Domain is already active`) and qemu's (`domain is already running`).
    code: 'already-running',
    pattern: /Domain is already active|domain is already (running|active)/i,
    cause: (_a, vm) => `"${vm}" is already running.`,
  },
  {
    // qemu: `Requested operation is not valid: domain is not running`; test driver: `domain 'x' not running`.
    code: 'not-running',
    pattern: /domain is not running|domain '[^']*' not running|domain is not active/i,
    cause: (action, vm) => `Cannot ${action} "${vm}": it is not running (any more).`,
  },
  {
    code: 'not-paused',
    pattern: /domain is not paused|domain '[^']*' not paused/i,
    cause: (_a, vm) => `Cannot resume "${vm}": it is not paused.`,
  },
  {
    code: 'busy',
    pattern: /cannot acquire state change lock|Timed out during operation/i,
    cause: (action, vm) =>
      `libvirt is busy with another job on "${vm}" (a migration, snapshot or backup holds its lock): ` +
      `try to ${action} it again once that has finished.`,
  },
  {
    // test driver: `unsupported flags (0x1) in function testDomainShutdownFlags`; qemu without the mode:
    // `Operation not supported: …`, `argument unsupported: …`,
    // `this function is not supported by the connection driver`.
    code: 'unsupported',
    pattern: /unsupported flags|Operation not supported|argument unsupported|not supported by the connection driver/i,
    cause: (action, vm) => `This host's libvirt driver cannot ${action} "${vm}" the way Ferry asks (ACPI).`,
  },
  {
    code: 'read-only',
    pattern: /read only access prevents|operation forbidden/i,
    cause: (action) => `Ferry's connection to this host is read-only: it may not ${action} VMs there.`,
  },
  {
    // destroy of a qemu process stuck in uninterruptible I/O (libvirt: `Failed to terminate process … with SIGKILL`).
    code: 'stuck-process',
    pattern: /Failed to terminate process|Device or resource busy/i,
    cause: (_a, vm) =>
      `"${vm}"'s QEMU process did not die (probably stuck on storage I/O): try force off again in a moment.`,
  },
];

/** A start refused for the guest's own configuration (missing disk, no memory, …): libvirt's words, redacted. */
const START_FAILURE = /^(Failed to start domain[^:]*: )/;

export function classifyPowerFailure(options: { action: PowerAction; vmName: string; stderr: string }): PowerFailure {
  const { action, vmName, stderr } = options;
  const words = ACTION_WORDS[action];
  for (const rule of RULES) {
    if (rule.pattern.test(stderr)) return { code: rule.code, cause: rule.cause(words, vmName) };
  }
  // What libvirt says next reaches a browser: paths and URIs in it are masked (redact.ts).
  const summary = redactErrorText(summarizeStderr(stderr));
  if (action === 'start' && START_FAILURE.test(summary)) {
    return {
      code: 'start-failed',
      cause: `libvirt could not start "${vmName}": ${summary.replace(START_FAILURE, '')}`,
    };
  }
  return {
    code: 'unknown',
    cause: `libvirt refused to ${words} "${vmName}"${summary ? `: ${summary}` : '.'}`,
  };
}
