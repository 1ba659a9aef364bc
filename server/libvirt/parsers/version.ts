import { ParseError } from './parse-error';
import { parseKeyValueLines, requireEntry } from './text';

export type VersionInfo = {
  /** The libvirt library virsh itself uses (on the Ferry box for remote URIs). */
  libraryVersion: string;
  /** libvirtd's version with `version --daemon`; the library is the daemon for in-process drivers like test. */
  daemonVersion: string | null;
  /** Driver name as libvirt spells it: QEMU, TEST, … */
  hypervisorType: string | null;
  /** e.g. "7.2.22" for QEMU 7.2.22; null if the driver does not say. */
  hypervisorVersion: string | null;
};

/**
 * Reads `virsh version [--daemon]`:
 *
 *     Running hypervisor: QEMU 7.2.22
 */
export function parseVersion(text: string): VersionInfo {
  const command = 'version';
  const entries = parseKeyValueLines({ command, text });
  const library = requireEntry(entries, { command, key: 'Using library' });
  const libraryMatch = /^libvirt (\S+)$/.exec(library.value);
  if (libraryMatch === null) {
    throw new ParseError({
      command,
      reason: 'expected "Using library: libvirt <version>"',
      line: library.line.text,
      lineNumber: library.line.number,
    });
  }
  const hypervisor = entries.get('Running hypervisor');
  const hypervisorMatch = hypervisor === undefined ? null : /^(\S+) (\S+)$/.exec(hypervisor.value);
  if (hypervisor !== undefined && hypervisorMatch === null) {
    throw new ParseError({
      command,
      reason: 'expected "Running hypervisor: <type> <version>"',
      line: hypervisor.line.text,
      lineNumber: hypervisor.line.number,
    });
  }
  return {
    libraryVersion: libraryMatch[1] as string,
    daemonVersion: entries.get('Running against daemon')?.value ?? null,
    hypervisorType: hypervisorMatch?.[1] ?? null,
    hypervisorVersion: hypervisorMatch?.[2] ?? null,
  };
}
