import { child, children, parseXml } from '../libvirt/xml-lite';

/**
 * Devices in a domain's XML (`virsh dumpxml`) that libvirt refuses to live-migrate, one sentence each. PURE.
 *
 *     <hostdev mode='subsystem' type='pci' managed='yes'>…   → "Requested operation is not valid: domain has
 *     assigned non-USB host devices" (qemuMigrationSrcIsAllowedHostdev)
 *
 * The devices libvirt 9.0's qemuMigrationSrcIsAllowed refuses outright: host devices, SR-IOV interfaces
 * (`<interface type='hostdev'>`) and virtiofs shares. Devices that block only in some guest states (a 9p share
 * while mounted) are left to preflight and to libvirt's own answer.
 */
export function findMigrationBlockers(xml: string): string[] {
  const domain = parseXml(xml);
  const devices = child(domain, 'devices');
  const blockers: string[] = [];
  const hostdevs = children(devices, 'hostdev');
  if (hostdevs.length > 0) {
    const kinds = [...new Set(hostdevs.map((device) => device.attributes.type ?? 'host'))].join(', ');
    blockers.push(`a host device is passed through (${kinds} hostdev): libvirt cannot migrate it`);
  }
  if (children(devices, 'interface').some((nic) => nic.attributes.type === 'hostdev'))
    blockers.push('an SR-IOV network interface (type hostdev) is passed through: libvirt cannot migrate it');
  if (children(devices, 'filesystem').some((fs) => child(fs, 'driver')?.attributes.type === 'virtiofs'))
    blockers.push('a virtiofs share is mounted: QEMU cannot migrate virtiofs');
  return blockers;
}
