import { isTestDriverUri, parseLibvirtUri } from '../uri';

/**
 * Whether a migration can run peer-to-peer (`virsh migrate --p2p`): the source's libvirtd opens the connection to
 * the destination and drives the whole migration itself. Ferry prefers it because the job then lives in the
 * source libvirtd, not in Ferry's virsh client: measured on the lab (fixtures/migration/reattach/), kill -9 of a
 * `--p2p` virsh client leaves the migration running to success, while a client-driven one dies with its client.
 *
 * PURE (the migrate dialog imports it, and the runner asks the same rule). It is impossible when the source
 * cannot reach the destination by the URI Ferry knows: the libvirt test driver (it cannot migrate at all), a URI
 * without a hostname or with a loopback one (the source would connect to itself), or a `socket=` path on the
 * Ferry machine.
 */
export type PeerToPeerVerdict = { possible: true; reason: string } | { possible: false; reason: string };

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|::1|0:0:0:0:0:0:0:1)$/i;

export function peerToPeerRule(options: {
  source: { alias: string; uri: string };
  destination: { alias: string; uri: string };
}): PeerToPeerVerdict {
  const { source, destination } = options;
  if (isTestDriverUri(source.uri) || isTestDriverUri(destination.uri))
    return { possible: false, reason: 'the libvirt test driver cannot migrate' };
  // The dialog has display URIs, whose secret values read `…` (uri.ts); only the host and whether a socket is
  // named matter here, so a masked value is read as any other.
  const parsed = parseLibvirtUri(destination.uri.replaceAll('\u2026', '/masked'));
  if (!parsed.ok) return { possible: false, reason: `${destination.alias}'s URI cannot be read` };
  const { uri } = parsed;
  if (uri.hostname === undefined || uri.hostname === '')
    return {
      possible: false,
      reason: `${destination.alias}'s URI names no host, so ${source.alias}'s libvirtd would connect to itself`,
    };
  if (LOOPBACK.test(uri.hostname))
    return {
      possible: false,
      reason: `${destination.alias}'s URI names ${uri.hostname}, which on ${source.alias} is ${source.alias} itself`,
    };
  if (uri.params.socket !== undefined)
    return {
      possible: false,
      reason: `${destination.alias}'s URI names a socket path, which ${source.alias} cannot open`,
    };
  return {
    possible: true,
    reason: `${source.alias}'s libvirtd drives the migration (--p2p), so it goes on if Ferry restarts`,
  };
}
