import { child, children, parseXml, textOf } from './xml-lite';

export type DomainDisk = {
  target: string;
  device: string;
  type: string;
  sourcePath: string | null;
  format: string | null;
  readonly: boolean;
  shareable: boolean;
};

export type DomainFacts = {
  name: string;
  uuid: string | null;
  type: string;
  memoryBytes: number;
  vcpus: number;
  /** 'host-passthrough' | 'host-model' | 'custom' | null (no <cpu> element: hypervisor default) */
  cpuMode: string | null;
  cpuModel: string | null;
  disks: DomainDisk[];
};

const KIB = 1024;
const UNIT_FACTORS: Record<string, number> = {
  b: 1,
  bytes: 1,
  KiB: KIB,
  k: KIB,
  KB: 1000,
  MiB: KIB ** 2,
  M: KIB ** 2,
  MB: 1000 ** 2,
  GiB: KIB ** 3,
  G: KIB ** 3,
  GB: 1000 ** 3,
  TiB: KIB ** 4,
  T: KIB ** 4,
};

/**
 * Reads `virsh dumpxml <vm>`:
 *   <domain type='qemu'><name>vm1</name><uuid>…</uuid><memory unit='KiB'>65536</memory>
 *     <vcpu placement='static'>1</vcpu>…
 */
export type CopiedDisk = DomainDisk & { sourcePath: string };

/**
 * The disks a storage-copying migration writes on the destination: writable, unshared disks with a source path
 * (preflight's storage check, and the evacuation plan's room per pool).
 */
export function copiedDisks(domain: DomainFacts): CopiedDisk[] {
  return domain.disks.filter(
    (disk): disk is CopiedDisk =>
      disk.device === 'disk' &&
      typeof disk.sourcePath === 'string' &&
      disk.sourcePath !== '' &&
      !disk.readonly &&
      !disk.shareable,
  );
}

export function parseDomainXml(xml: string): DomainFacts {
  const domain = parseXml(xml);
  if (domain.name !== 'domain') throw new Error(`expected <domain>, got <${domain.name}>`);
  const name = textOf(child(domain, 'name'));
  if (!name) throw new Error('domain XML has no <name>');
  const memory = child(domain, 'memory');
  const factor = UNIT_FACTORS[memory?.attributes.unit ?? 'KiB'] ?? KIB;
  const cpu = child(domain, 'cpu');
  return {
    name,
    uuid: textOf(child(domain, 'uuid')) ?? null,
    type: domain.attributes.type ?? 'unknown',
    memoryBytes: Number(textOf(memory) ?? 0) * factor,
    vcpus: Number(textOf(child(domain, 'vcpu')) ?? 1),
    cpuMode: cpu ? (cpu.attributes.mode ?? 'custom') : null,
    cpuModel: textOf(child(cpu, 'model')) ?? null,
    disks: children(child(domain, 'devices'), 'disk').map((disk) => {
      const source = child(disk, 'source');
      return {
        target: child(disk, 'target')?.attributes.dev ?? '?',
        device: disk.attributes.device ?? 'disk',
        type: disk.attributes.type ?? 'file',
        sourcePath: source?.attributes.file ?? source?.attributes.dev ?? null,
        format: child(disk, 'driver')?.attributes.type ?? null,
        readonly: child(disk, 'readonly') !== undefined,
        shareable: child(disk, 'shareable') !== undefined,
      };
    }),
  };
}
