import { child, parseXml, path, textOf } from './xml-lite';

export type PoolFacts = {
  name: string;
  type: string;
  targetPath: string | null;
  capacityBytes: number;
  allocationBytes: number;
  availableBytes: number;
};

function bytesOf(element: ReturnType<typeof child>): number {
  const value = Number(textOf(element) ?? 'NaN');
  const unit = element?.attributes.unit ?? 'bytes';
  const factor =
    unit === 'bytes' || unit === 'B'
      ? 1
      : unit === 'KiB'
        ? 1024
        : unit === 'MiB'
          ? 1024 ** 2
          : unit === 'GiB'
            ? 1024 ** 3
            : NaN;
  return value * factor;
}

/**
 * Reads `virsh pool-dumpxml <pool>`:
 *   <pool type='dir'><name>default</name>…<available unit='bytes'>107374182400</available>…
 *     <target><path>/var/lib/libvirt/images</path>
 */
export function parsePoolXml(xml: string): PoolFacts {
  const pool = parseXml(xml);
  if (pool.name !== 'pool') throw new Error(`expected <pool>, got <${pool.name}>`);
  const name = textOf(child(pool, 'name'));
  if (!name) throw new Error('pool XML has no <name>');
  return {
    name,
    type: pool.attributes.type ?? 'unknown',
    targetPath: textOf(path(pool, 'target', 'path')) ?? null,
    capacityBytes: bytesOf(child(pool, 'capacity')),
    allocationBytes: bytesOf(child(pool, 'allocation')),
    availableBytes: bytesOf(child(pool, 'available')),
  };
}

/** Reads `virsh pool-list --name` / `virsh list --name`: one name per line, blank lines ignored. */
export function parseNameList(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

/** The pool whose target directory is exactly the disk's directory: where libvirt creates the destination volume. */
export function poolForPath(pools: readonly PoolFacts[], filePath: string): PoolFacts | undefined {
  const directory = dirname(filePath);
  return pools.find((pool) => pool.targetPath !== null && normalizeDir(pool.targetPath) === directory);
}

export function dirname(filePath: string): string {
  const index = filePath.lastIndexOf('/');
  return index <= 0 ? '/' : normalizeDir(filePath.slice(0, index));
}

export function basename(filePath: string): string {
  return filePath.slice(filePath.lastIndexOf('/') + 1);
}

function normalizeDir(directory: string): string {
  const trimmed = directory.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}
