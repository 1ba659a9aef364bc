import { describe, expect, it } from 'vitest';
import { destinationOpener, destinationUriFor } from './destination-uri';

const SSH = 'qemu+ssh://root@10.77.77.12/system?keyfile=/srv/ferry/keys/id_ed25519&no_tty=1';
const TLS = 'qemu+tls://10.77.77.12/system?pkipath=/srv/ferry/pki';

describe('the destination URI as whoever opens it sees it', () => {
  it('is opened by Ferry for a local-executor migration without --p2p, files and all', () => {
    const opener = destinationOpener({ sourceExecutorKind: 'local', isPeerToPeer: false });
    expect(opener).toBe('ferry');
    expect(destinationUriFor({ uri: TLS, opener })).toBe(TLS);
    expect(destinationUriFor({ uri: SSH, opener })).toBe(SSH);
  });

  it("drops Ferry's certificate directory when the source's libvirtd opens a qemu+tls destination (--p2p)", () => {
    const opener = destinationOpener({ sourceExecutorKind: 'local', isPeerToPeer: true });
    expect(opener).toBe('source-host');
    expect(destinationUriFor({ uri: TLS, opener })).toBe('qemu+tls://10.77.77.12/system');
  });

  it("drops Ferry's key file but keeps harmless parameters when virsh runs on the source (ssh executor)", () => {
    const opener = destinationOpener({ sourceExecutorKind: 'ssh', isPeerToPeer: false });
    expect(destinationUriFor({ uri: SSH, opener })).toBe('qemu+ssh://root@10.77.77.12/system?no_tty=1');
  });

  it('leaves a URI it cannot parse to virsh, which reports it', () => {
    expect(destinationUriFor({ uri: 'not a uri', opener: 'source-host' })).toBe('not a uri');
  });
});
