import { formatLibvirtUri, parseLibvirtUri } from '../uri';

/**
 * Parameters that name files on the machine that opens the URI. PURE.
 * keyfile/known_hosts (ssh, libssh) and pkipath (tls: the directory of cacert.pem, clientcert.pem, clientkey.pem).
 */
const LOCAL_FILE_PARAMS: readonly string[] = ['keyfile', 'known_hosts', 'known_hosts_verify', 'pkipath'];

/**
 * Who opens `virsh migrate --desturi`: virsh itself (Ferry's box, or the source host when virsh runs there over
 * the ssh executor), or, with `--p2p` (and so `--tunnelled`), the SOURCE's libvirtd.
 */
export type DestinationOpener = 'ferry' | 'source-host';

export function destinationOpener(options: { sourceExecutorKind: string; isPeerToPeer: boolean }): DestinationOpener {
  return options.sourceExecutorKind === 'ssh' || options.isPeerToPeer ? 'source-host' : 'ferry';
}

/**
 * The destination URI as its opener must see it. Opened on the source host, the files Ferry's URI names (its ssh
 * key, its TLS client certificate under `pkipath`) do not exist there, and a source that did use Ferry's
 * certificate would prove nothing about itself: they are dropped, so the source's own defaults apply (the
 * libvirtd user's ~/.ssh, /etc/pki/libvirt/clientcert.pem and /etc/pki/CA/cacert.pem), as for any libvirt p2p
 * migration. Measured in the lab (`lab.sh up --secure`): `--p2p --tunnelled --desturi qemu+tls://10.77.77.12/system`
 * authenticates with hv1's own certificate, and fails with "Unable to read TLS confirmation" when hv2 does not
 * trust it.
 *
 *     qemu+tls://10.77.77.12/system?pkipath=/srv/ferry/pki  →  qemu+tls://10.77.77.12/system
 */
export function destinationUriFor(options: { uri: string; opener: DestinationOpener }): string {
  if (options.opener === 'ferry') return options.uri;
  const parsed = parseLibvirtUri(options.uri);
  if (!parsed.ok) return options.uri;
  const params = Object.fromEntries(
    Object.entries(parsed.uri.params).filter(([key]) => !LOCAL_FILE_PARAMS.includes(key)),
  );
  return formatLibvirtUri({ ...parsed.uri, params });
}
