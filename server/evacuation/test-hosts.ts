/**
 * Made-up test-driver hosts for the evacuation tests: a node with one CPU, its memory, an NFS pool holding volumes
 * for the named guests, and guests with one disk each under /guest.
 *
 * The test driver's disks report 1 TiB, more than its pools hold: the destinations already see the disks (volumes
 * at the same paths in an NFS pool), i.e. shared storage, so nothing needs copying.
 */

const CPU = `<cpu><mhz>2000</mhz><model>i686</model><nodes>1</nodes><sockets>1</sockets><cores>4</cores><threads>1</threads></cpu>`;

const volume = (name: string) =>
  `<volume type='file'><name>${name}.img</name><capacity>1073741824</capacity><allocation>0</allocation></volume>`;

const pool = (volumes: string[]) =>
  `<pool type='netfs'><name>guest</name><source><host name='nfs.example'/><dir path='/export'/><format type='nfs'/></source>
  <target><path>/guest</path></target>${volumes.map(volume).join('')}</pool>`;

/** A running guest with 256 MiB, one vCPU and its disk at /guest/<name>.img. */
export const testGuest = (name: string, uuid: string) => `<domain type='test'><name>${name}</name>
  <uuid>${uuid}</uuid><memory>262144</memory><vcpu>1</vcpu><os><type>hvm</type></os>
  <devices><disk type='file' device='disk'><source file='/guest/${name}.img'/><target dev='vda'/></disk></devices></domain>`;

/** A host with `memoryKib` of memory, volumes for `volumes` (guest names) in its pool, and `domains`. */
export const testNode = (memoryKib: number, volumes: string[], ...domains: string[]) =>
  `<node>${CPU}<memory>${memoryKib}</memory>${pool(volumes)}${domains.join('')}</node>`;
