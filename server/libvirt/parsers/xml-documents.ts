import { child, children, parseXml, path, textOf, type XmlElement } from '../xml-lite';
import { ParseError } from './parse-error';

function parseRoot(options: { command: string; xml: string; root: string }): XmlElement {
  let element: XmlElement;
  try {
    element = parseXml(options.xml);
  } catch (error) {
    throw new ParseError({
      command: options.command,
      reason: error instanceof Error ? error.message : String(error),
      cause: error,
    });
  }
  if (element.name !== options.root) {
    throw new ParseError({
      command: options.command,
      reason: `expected a <${options.root}> document, got <${element.name}>`,
    });
  }
  return element;
}

export type Capabilities = {
  /** null on the test driver, whose capabilities carry no <uuid>. */
  hostUuid: string | null;
  arch: string | null;
  /** null on the test driver; qemu names the host CPU model here (e.g. kvm64, Skylake-Client-IBRS). */
  cpuModel: string | null;
  cpuVendor: string | null;
  /** Sum of the NUMA cells' memory; null if the document has no topology. */
  memoryBytes: number | null;
};

/**
 * Reads `virsh capabilities`, only the host part:
 *
 *     <uuid>0a57a1f3-1892-46df-9b0c-3b4de28b1a5f</uuid>
 */
export function parseCapabilities(xml: string): Capabilities {
  const command = 'capabilities';
  const host = child(parseRoot({ command, xml, root: 'capabilities' }), 'host');
  if (host === undefined) throw new ParseError({ command, reason: 'no <host> element' });
  const cells = children(path(host, 'topology', 'cells'), 'cell');
  let memoryBytes: number | null = null;
  for (const cell of cells) {
    const memory = child(cell, 'memory');
    const kib = Number(textOf(memory));
    if (memory === undefined || !Number.isSafeInteger(kib) || (memory.attributes.unit ?? 'KiB') !== 'KiB') {
      throw new ParseError({ command, reason: `cell ${cell.attributes.id ?? '?'} has no <memory unit='KiB'>` });
    }
    memoryBytes = (memoryBytes ?? 0) + kib * 1024;
  }
  return {
    hostUuid: textOf(child(host, 'uuid')) || null,
    arch: textOf(path(host, 'cpu', 'arch')) || null,
    cpuModel: textOf(path(host, 'cpu', 'model')) || null,
    cpuVendor: textOf(path(host, 'cpu', 'vendor')) || null,
    memoryBytes,
  };
}

export type Sysinfo = {
  /** SMBIOS sections (bios, system, baseBoard…) as flat name → value maps; repeated sections keep the first. */
  sections: Record<string, Record<string, string>>;
};

/**
 * Reads `virsh sysinfo` (SMBIOS). The test driver answers with a fixed BIOS block; qemu answers only
 * where dmidecode can read /dev/mem, else virsh fails with "Host SMBIOS information is not available".
 *
 *     <entry name='vendor'>LENOVO</entry>
 */
export function parseSysinfo(xml: string): Sysinfo {
  const root = parseRoot({ command: 'sysinfo', xml, root: 'sysinfo' });
  const sections: Record<string, Record<string, string>> = {};
  for (const section of root.children) {
    if (sections[section.name] !== undefined) continue;
    const entries: Record<string, string> = {};
    for (const entry of children(section, 'entry')) {
      const name = entry.attributes.name;
      if (name !== undefined) entries[name] = textOf(entry) ?? '';
    }
    sections[section.name] = entries;
  }
  return { sections };
}

export type ComputerDevice = {
  /** The SMBIOS system UUID, which libvirt also uses as its host UUID by default (host_uuid_source=smbios). */
  hardwareUuid: string | null;
  vendor: string | null;
  version: string | null;
};

/**
 * Reads `virsh nodedev-dumpxml computer`:
 *
 *     <uuid>11111111-2222-3333-4444-555555555555</uuid>
 */
export function parseComputerDevice(xml: string): ComputerDevice {
  const command = 'nodedev-dumpxml computer';
  const device = parseRoot({ command, xml, root: 'device' });
  const system = children(device, 'capability').find((capability) => capability.attributes.type === 'system');
  if (system === undefined) throw new ParseError({ command, reason: "no <capability type='system'>" });
  const hardware = child(system, 'hardware');
  return {
    hardwareUuid: textOf(child(hardware, 'uuid')) || null,
    vendor: textOf(child(hardware, 'vendor')) || null,
    version: textOf(child(hardware, 'version')) || null,
  };
}
