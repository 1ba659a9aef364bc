/**
 * virsh's error text from a migration (or a domjobinfo/domjobabort around it) → what happened, in words an
 * admin can act on.
 *
 * PURE: no I/O.
 *
 * Every pattern was matched against real stderr from libvirt 9.0 (shared/virsh-samples/lab-cases-final.txt and
 * virsh against test:///default on this machine), except 'timeout', whose text is libvirt's
 * VIR_ERR_OPERATION_TIMEOUT format as seen in the wild. Where it matters the classifier says which side
 * failed: "failed to connect to the hypervisor" is virsh failing to open its own `-c` connection, i.e. the
 * SOURCE; connection errors without it come from the source reaching the DESTINATION.
 *
 * A Ferry-side timeout abort (timeoutAction 'abort') shows up as 'aborted' ("canceled by client"): only the
 * runner knows it was its own watchdog, so it should say so itself.
 */
import { NO_SUCH_DOMAIN_PATTERN } from '../virsh-errors';

export const MIGRATION_ERROR_CODES = [
  'unreachable',
  'auth',
  'host-key',
  'tls-untrusted',
  'tls-misconfigured',
  'libvirtd-down',
  'same-host',
  'name-clash',
  'not-running',
  'unsafe-storage',
  'pool-not-found',
  'disk-size-mismatch',
  'job-running',
  'no-such-domain',
  'no-active-job',
  'postcopy-too-early',
  'aborted',
  'timeout',
  'bad-uri',
  'unsupported',
  'unknown',
] as const;
export type MigrationErrorCode = (typeof MIGRATION_ERROR_CODES)[number];

export type ClassifiedVirshError = {
  code: MigrationErrorCode;
  /** One short line for a toast or a card header. */
  title: string;
  /** What went wrong, with the host/VM/disk virsh named. */
  cause: string;
  /** The one thing to do about it. */
  nextStep: string;
  /**
   * Which end failed, for connection problems: 'source' when virsh could not open its own `-c` connection
   * ("failed to connect to the hypervisor"), else 'destination'. null for codes where it does not apply.
   */
  side: 'source' | 'destination' | null;
  /** The stderr exactly as given. */
  raw: string;
};

type Context = {
  /** stderr without progress tokens and `error: ` prefixes, lines joined with '\n'. */
  message: string;
  side: 'source' | 'destination';
};

type Rule = {
  code: MigrationErrorCode;
  /** Whether the result names a side (connection problems) or not. */
  hasSide: boolean;
  pattern: RegExp;
  describe: (match: RegExpExecArray, context: Context) => { title: string; cause: string; nextStep: string };
};

const PROGRESS_TOKEN = /\rMigration: \[ *\d{1,3} %\]/g;

// Order matters: the first match wins. Specific migration-job messages come before the generic transport
// ones, and "libvirtd down" before "unreachable" because a refused libvirt *socket* also says "Connection refused".
const RULES: readonly Rule[] = [
  {
    code: 'aborted',
    hasSide: false,
    pattern: /canceled by client/,
    describe: () => ({
      title: 'Migration cancelled',
      cause: 'The migration was cancelled (domjobabort) before it finished. The VM keeps running on the source.',
      nextStep:
        'Check the destination for a half-copied disk left behind by the cancelled copy and delete it before retrying.',
    }),
  },
  {
    code: 'job-running',
    hasSide: false,
    pattern: /another migration job is already running for domain '([^']*)'/,
    describe: (match) => ({
      title: 'Another migration is already running',
      cause: `VM "${match[1]}" is already being migrated; libvirt allows one migration job per VM at a time.`,
      nextStep: 'Wait for the running migration to finish (or cancel it) and try again.',
    }),
  },
  {
    code: 'host-key',
    hasSide: true,
    pattern:
      /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed|No \S+ host key is known for|SSH host key for '[^']*' \([^)]*\) was not accepted/,
    describe: (match, { side }) => ({
      title: `The ${side} host's SSH key is not trusted`,
      cause:
        match[0] === 'REMOTE HOST IDENTIFICATION HAS CHANGED'
          ? `The ${side} host presented a different SSH host key than the one recorded in known_hosts. Either it was reinstalled or someone is intercepting the connection.`
          : `SSH refused to connect to the ${side} host because its host key is not in known_hosts (connections run non-interactively, so nobody can accept it).`,
      nextStep:
        side === 'destination'
          ? "Verify the destination's host key fingerprint out of band, then record it in the known_hosts of whoever opens the destination URI: the machine running virsh (Ferry), or the source's libvirtd for a peer-to-peer/tunnelled migration."
          : "Verify the source host's key fingerprint out of band, then record it in Ferry's known_hosts for that host.",
    }),
  },
  // TLS before 'auth': libvirt words a certificate its peer does not trust as "authentication failed: Failed to
  // verify peer's certificate", which is no login problem. Captured with `lab.sh up --secure` and
  // e2e/lab/capture-tls-fixtures.sh (fixtures/migration/failures/tls-*.json).
  {
    code: 'tls-untrusted',
    hasSide: true,
    pattern:
      /Unable to read TLS confirmation|Cannot (?:read from|write to) TLS channel|Failed to verify peer's certificate/,
    describe: (match, { side }) => {
      if (match[0] === "Failed to verify peer's certificate")
        return side === 'source'
          ? {
              title: "Ferry does not trust the host's TLS certificate",
              cause:
                "The host's libvirtd presented a server certificate that is not signed by a CA in Ferry's CA file (cacert.pem under the URI's pkipath, or /etc/pki/CA/cacert.pem), or that does not name the host's address.",
              nextStep:
                "Put the CA that signed the host's /etc/pki/libvirt/servercert.pem into Ferry's cacert.pem, or re-issue the server certificate with the host's name and IP in its subjectAltName.",
            }
          : {
              title: "The source does not trust the destination's TLS certificate",
              cause:
                "The destination's libvirtd presented a server certificate the source does not accept: not signed by a CA in the source's /etc/pki/CA/cacert.pem, or not naming the destination's address.",
              nextStep:
                "Issue the destination's server certificate from the CA the source trusts, with the destination's name and IP in its subjectAltName.",
            };
      if (match[0] === 'Unable to read TLS confirmation')
        return side === 'source'
          ? {
              title: "The host does not trust Ferry's TLS certificate",
              cause:
                "The host's libvirtd cut the TLS handshake: Ferry's client certificate (clientcert.pem under the URI's pkipath) is not signed by a CA in the host's /etc/pki/CA/cacert.pem, or its name is not in tls_allowed_dn_list.",
              nextStep:
                "Issue Ferry's client certificate from the CA the host trusts (or add Ferry's CA to the host's cacert.pem) and retry.",
            }
          : {
              title: "The destination does not trust the source's TLS certificate",
              cause:
                "The destination's libvirtd cut the TLS handshake when the source's libvirtd connected (peer-to-peer): the source's client certificate (/etc/pki/libvirt/clientcert.pem) is not signed by a CA the destination trusts (/etc/pki/CA/cacert.pem), or its name is not in tls_allowed_dn_list.",
              nextStep:
                "Issue the source's libvirt client certificate from the CA the destination trusts, or add the source's CA to the destination's cacert.pem.",
            };
      return {
        title: "The destination does not trust the source's TLS certificate",
        cause:
          "The destination's QEMU cut the encrypted migration connection during the TLS handshake: the source QEMU's client certificate (client-cert.pem in migrate_tls_x509_cert_dir, /etc/pki/qemu by default) is not signed by a CA in the destination's ca-cert.pem. The VM keeps running on the source.",
        nextStep:
          "Issue the source's QEMU client certificate from the CA the destination trusts (or add that CA to the destination's ca-cert.pem), or migrate without native TLS.",
      };
    },
  },
  {
    code: 'tls-misconfigured',
    hasSide: false,
    pattern:
      /Our own certificate (\S+) failed validation against (\S+): ([^\n]*?)\.?$|Unable to access credentials (\S+): ([^\n]*)/m,
    describe: (match) =>
      match[1] !== undefined
        ? {
            title: 'A host cannot use its own TLS certificate',
            cause: `${match[1]} is not valid against the CA file next to it, ${match[2]} (${match[3] ?? 'no reason given'}): libvirt refuses to present it. The path is as the host that opened the connection sees it.`,
            nextStep: `Install a certificate signed by the CA in ${match[2]} (or that CA's certificate), then retry.`,
          }
        : {
            title: 'A host is not set up for TLS migration',
            cause: `QEMU found no TLS credentials at ${match[4] ?? 'its certificate directory'} (${match[5] ?? 'no detail'}): that host has no migration certificates, so it is not TLS-capable.`,
            nextStep:
              'Install ca-cert.pem, server-cert.pem/-key.pem and client-cert.pem/-key.pem in the directory named by migrate_tls_x509_cert_dir (qemu.conf) on both hosts, or migrate without native TLS and untick "Native TLS migration capable" for that host.',
          },
  },
  {
    code: 'auth',
    hasSide: true,
    pattern: /(?:(\S+)@(\S+): )?Permission denied \([^)]*\)|authentication failed|Authentication failed/,
    describe: (match, { side }) => ({
      title: `Login to the ${side} host was refused`,
      cause:
        match[1] !== undefined
          ? `SSH login as "${match[1]}" on ${match[2] ?? 'the host'} was refused: the key offered is not authorized for that user.`
          : `The ${side} host refused the login: the credentials offered are not accepted.`,
      nextStep:
        side === 'destination'
          ? "Add the public half of the key named in the destination URI (keyfile=) to that user's authorized_keys on the destination, or fix the user in the URI."
          : "Check the user and key file in the source host's connection settings.",
    }),
  },
  {
    code: 'libvirtd-down',
    hasSide: true,
    pattern:
      /virt-ssh-helper: cannot connect to '([^']*)'|Failed to connect socket to '([^']*)'|nc: unix connect failed/,
    describe: (match, { side }) => ({
      title: `libvirt is not running on the ${side} host`,
      cause: `The ${side} host answered SSH, but nothing listens on libvirt's socket${(match[1] ?? match[2]) ? ` (${match[1] ?? match[2]})` : ''}.`,
      nextStep: `Start libvirt on the ${side} host (systemctl start libvirtd, or virtqemud.socket with modular daemons) and retry.`,
    }),
  },
  {
    code: 'unreachable',
    hasSide: true,
    pattern:
      /No route to host|Connection refused|Name or service not known|Could not resolve hostname|Temporary failure in name resolution|Connection timed out|Network is unreachable/,
    describe: (_match, { message, side }) => {
      const host =
        /connect to host (\S+) port (\d+)/.exec(message) ?? /Could not resolve hostname ([^:\s]+)/.exec(message);
      const where = host !== null ? `${host[1]}${host[2] !== undefined ? ` port ${host[2]}` : ''}` : `the ${side} host`;
      const reason = /No route to host|Network is unreachable/.test(message)
        ? 'the network has no route to it (host down, wrong address or firewall)'
        : /Connection refused/.test(message)
          ? 'nothing accepts connections on that port (SSH not running, or a firewall rejects it)'
          : /Connection timed out/.test(message)
            ? 'the connection attempt timed out (host down or packets dropped by a firewall)'
            : 'its name does not resolve';
      return {
        title: `Cannot reach the ${side} host`,
        cause: `Could not connect to ${where}: ${reason}.`,
        nextStep:
          side === 'destination'
            ? "Check the destination address and port in its URI, and that both Ferry and the source host can reach it (the source sends the VM's data there directly)."
            : 'Check that the source host is up and that Ferry can reach it over SSH.',
      };
    },
  },
  {
    code: 'same-host',
    hasSide: false,
    pattern: /Attempt to migrate guest to the same host( \S+)?/,
    describe: (match) => ({
      title: 'Source and destination are the same machine',
      cause: `libvirt sees the same host UUID on both ends${match[1] !== undefined ? ` (${match[1].trim()})` : ''}: either the destination URI points back at the source, or both hosts share a cloned host UUID (/etc/machine-id or SMBIOS).`,
      nextStep:
        'Pick a different destination; if it really is another machine, give it a unique host UUID (host_uuid in libvirtd.conf) and restart libvirt there.',
    }),
  },
  {
    code: 'name-clash',
    hasSide: false,
    pattern: /domain '([^']*)' already exists with uuid (\S+)|domain '([^']*)' is already active/,
    describe: (match) =>
      match[1] !== undefined
        ? {
            title: 'The destination already has a VM with this name',
            cause: `The destination already defines a different VM called "${match[1]}" (uuid ${match[2]}).`,
            nextStep: 'Rename or remove the VM on the destination, or migrate to another host.',
          }
        : {
            title: 'This VM is already running on the destination',
            cause: `"${match[3]}" (same UUID) is already active on the destination, possibly from an earlier migration that did not clean up.`,
            nextStep:
              'Find out which copy is current before touching either; then shut down and undefine the stale one.',
          },
  },
  {
    code: 'not-running',
    hasSide: false,
    pattern: /domain is not running/,
    describe: () => ({
      title: 'The VM is not running',
      cause: 'A live migration needs a running VM, and this one is shut off or paused.',
      nextStep:
        'Start the VM, or use an offline migration (moves only the definition; its disks must be on shared storage).',
    }),
  },
  {
    code: 'unsafe-storage',
    hasSide: false,
    pattern: /Unsafe migration: ?(.*)/,
    describe: (match) => ({
      title: 'libvirt refused an unsafe migration',
      cause: `libvirt judged the migration unsafe for the disks: ${match[1]?.trim() || 'no detail given'}. Usually the disks are not on shared storage and no storage copy was requested.`,
      nextStep:
        'Choose storage "copy-all" (or put the disks on storage both hosts share); use --unsafe only if you know the disks are safe.',
    }),
  },
  {
    code: 'pool-not-found',
    hasSide: false,
    pattern: /Storage pool not found: ?(?:no storage pool with matching target path '([^']*)')?/,
    describe: (match) => ({
      title: 'No storage pool for the disks on the destination',
      cause: `The destination has no storage pool ${match[1] !== undefined ? `for ${match[1]}` : 'where the disks should go'}, so libvirt cannot create the copies of the disks there.`,
      nextStep: `Define and start a storage pool on the destination${match[1] !== undefined ? ` with target path ${match[1]}` : ''}, or pre-create the volumes.`,
    }),
  },
  {
    code: 'disk-size-mismatch',
    hasSide: false,
    pattern:
      /migration of disk (\S+) failed: Source and target image have different sizes|Source and target image have different sizes/,
    describe: (match) => ({
      title: 'A destination disk has the wrong size',
      cause: `The volume waiting on the destination${match[1] !== undefined ? ` for disk ${match[1]}` : ''} is not exactly the size of the source disk, so the copy cannot start.`,
      nextStep:
        "Delete (or resize) that volume on the destination so it matches the source disk's capacity exactly, then retry.",
    }),
  },
  {
    code: 'no-such-domain',
    hasSide: false,
    pattern: NO_SUCH_DOMAIN_PATTERN,
    // virsh looks the VM up on its own -c connection before anything else: for a migration, the source.
    describe: (match) => ({
      title: 'VM not found',
      cause: `The source host has no VM ${match[1] !== undefined ? `"${match[1]}"` : `(${match[2] ?? ''})`}: it may have been renamed, removed or already migrated.`,
      nextStep: 'Refresh the fleet view to see where the VM is now.',
    }),
  },
  {
    code: 'no-active-job',
    hasSide: false,
    pattern: /no job is active on the domain/,
    describe: () => ({
      title: 'No migration is running',
      cause: 'There is no job to cancel or inspect: the migration has already finished, failed or not started yet.',
      nextStep: 'Refresh the migration to see its final state.',
    }),
  },
  {
    code: 'postcopy-too-early',
    hasSide: false,
    pattern: /post-copy can only be started while outgoing migration is in progress/,
    describe: () => ({
      title: 'Too early (or too late) for post-copy',
      cause:
        'libvirt switches to post-copy only while the memory of the VM is being sent; while the disks are still being copied, or once the migration has ended, there is nothing to switch.',
      nextStep: 'Wait until the disk copy is done and the memory phase shows on the progress, then switch again.',
    }),
  },
  {
    code: 'timeout',
    hasSide: false,
    pattern: /Timed out during operation: ?(.*)/,
    describe: (match) => ({
      title: 'libvirt timed out',
      cause: `libvirt gave up waiting: ${match[1]?.trim() || 'no detail given'}. Usually another operation holds the VM (a stuck job or an unresponsive QEMU monitor).`,
      nextStep:
        "Check the VM's running job (domjobinfo) and retry once it is idle; if it never clears, the VM's QEMU process may be hung.",
    }),
  },
  {
    code: 'bad-uri',
    hasSide: false,
    pattern: /unexpected qemu URI path '([^']*)'|no connection driver available for URI|Unable to parse URI/,
    describe: (match) => ({
      title: 'The destination URI is wrong',
      cause:
        match[1] !== undefined
          ? `The destination URI has path "${match[1]}", but QEMU's system driver is "/system".`
          : 'libvirt cannot use the destination URI as written.',
      nextStep: "Fix the destination host's URI, e.g. qemu+ssh://root@host/system.",
    }),
  },
  {
    code: 'unsupported',
    hasSide: false,
    pattern:
      /this function is not supported by the connection driver: ?(\S*)|Operation not supported: ?(.*)|argument unsupported: ?(.*)/,
    describe: (match) => ({
      title: 'Not supported by this hypervisor',
      cause: `The hypervisor driver cannot do this: ${(match[1] || match[2] || match[3] || 'no detail given').trim()}.`,
      nextStep:
        'Check that both hosts run the QEMU/KVM driver and that the chosen options are supported by their libvirt version.',
    }),
  },
];

/**
 * Classifies virsh stderr, e.g.
 *
 *     error: Cannot recv data: ssh: connect to host 10.77.77.99 port 22: No route to host: Connection reset by peer
 *
 * Progress text (`\rMigration: [ 18 %]`) before the error is ignored. Anything unrecognised is 'unknown', with
 * virsh's own words as the cause.
 */
export function classifyVirshError(stderr: string): ClassifiedVirshError {
  const lines = stderr
    .replace(PROGRESS_TOKEN, '')
    .split('\n')
    .map((line) => line.replace(/\r$/, '').trim())
    .filter((line) => line !== '')
    .map((line) => (line.startsWith('error: ') ? line.slice('error: '.length) : line));
  const message = lines.join('\n');
  const context: Context = {
    message,
    side: /failed to connect to the hypervisor/.test(message) ? 'source' : 'destination',
  };

  for (const rule of RULES) {
    const match = rule.pattern.exec(message);
    if (match !== null)
      return {
        code: rule.code,
        ...rule.describe(match, context),
        side: rule.hasSide ? context.side : null,
        raw: stderr,
      };
  }
  return {
    code: 'unknown',
    title: message === '' ? 'virsh failed without saying why' : 'virsh reported an error Ferry does not recognise',
    cause: message === '' ? 'virsh exited with an error but printed no message.' : message,
    nextStep:
      'Read the raw output below; check the libvirt logs on both hosts (journalctl -u libvirtd) for the full story.',
    side: null,
    raw: stderr,
  };
}
