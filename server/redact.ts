import { displayLibvirtUri, parseLibvirtUri } from './libvirt/uri';

/**
 * Text from virsh, ssh or libvirt that may reach a browser, made safe to show.
 *
 * What real virsh 9.0 prints that must not leave the server:
 * - libxml2 parse errors for `test:///<file>` quote the file and point at it:
 *   `error: /etc/shadow:1: Start tag expected, '<' not found` then the line itself, then `^`.
 * - connection URIs with key paths: `error: Disconnected from qemu+ssh://root@hv1/system?keyfile=/root/k due to …`.
 * - ssh's own words: `Warning: Identity file /root/k/id_ed25519 not accessible`.
 * URIs keep driver, host and path; file paths become `…`; quoted file lines and caret lines are dropped.
 */
const URI_IN_TEXT = /\b[a-z][a-z0-9]*(?:\+[a-z0-9]+)?:\/\/[^\s'"<>]*/gi;
/** `path:line: message` as libxml2 writes it; the next lines are the quoted source and a caret. */
const XML_PARSE_ERROR = /^(?:error:\s*)?(\/[^:\s]*):(\d+):\s/;
const CARET_LINE = /^[\s-]*\^\s*$/;
const ABSOLUTE_PATH = /(^|[\s'"=(:])\/(?:[^\s'"/:]+\/)*[^\s'"/:]*/g;

function redactUri(text: string): string {
  const trailing = /[.,;:)]+$/.exec(text)?.[0] ?? '';
  const core = text.slice(0, text.length - trailing.length);
  const parsed = parseLibvirtUri(core);
  if (parsed.ok) {
    // A test-driver file's path is what an attacker probes with; the error names it only as "test:///…".
    const shown =
      parsed.uri.driver === 'test' && parsed.uri.path !== '/default' ? 'test:///…' : displayLibvirtUri(parsed.uri);
    return shown + trailing;
  }
  const query = core.indexOf('?');
  const base = query < 0 ? core : `${core.slice(0, query)}?…`;
  // An unparseable test:///<file> or similar keeps only its scheme: its path is the secret.
  return base.replace(/^([a-z0-9+]+:\/\/[^/]*)\/.*$/i, '$1/…') + trailing;
}

export function redactErrorText(text: string): string {
  const lines = text.split('\n');
  const kept: string[] = [];
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] ?? '';
    const parseError = XML_PARSE_ERROR.exec(line);
    if (parseError) {
      kept.push(line.replace(parseError[1] ?? '', '…'));
      // libxml2 follows with the offending source line and a caret line; both quote the file.
      while (index + 1 < lines.length && !/^error:/.test(lines[index + 1] ?? '')) index++;
      continue;
    }
    if (CARET_LINE.test(line)) continue;
    kept.push(line);
  }
  const uris: string[] = [];
  const masked = kept.join('\n').replace(URI_IN_TEXT, (uri) => {
    uris.push(redactUri(uri));
    return `\uE000${uris.length - 1}\uE000`;
  });
  return masked
    .replace(ABSOLUTE_PATH, (_match, lead: string) => `${lead}…`)
    .replace(/\uE000(\d+)\uE000/g, (_match, index: string) => uris[Number(index)] ?? '…');
}
