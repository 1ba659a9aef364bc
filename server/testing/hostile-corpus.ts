/**
 * Hostile text for every input Ferry takes: shell metacharacters, option injection, libvirt URI parameters that
 * run programs or touch files, file paths, huge and odd Unicode strings, NUL and lone surrogates. Entries that
 * would act on the machine act on `canary` (a path that must never come to exist) or run `canaryScript` (a
 * program that would create it), so a test can tell whether anything ran.
 */
export function hostileCorpus(options: { canary: string; canaryScript: string; sshPort: number }): string[] {
  const { canary, canaryScript, sshPort } = options;
  const ssh = `127.0.0.1:${sshPort}`;
  return [
    // Shell metacharacters and command substitution.
    `$(touch ${canary})`,
    `\`touch ${canary}\``,
    `x; touch ${canary}`,
    `x && touch ${canary} #`,
    `x | touch ${canary}`,
    `'"; touch ${canary}; echo "'`,
    `x\ntouch ${canary}`,
    `>${canary}`,
    // Option injection (virsh, ssh, nc).
    `--connect=test:///default`,
    `-oProxyCommand=touch ${canary}`,
    `--help`,
    `-c`,
    // URIs and parameters that run programs or touch files.
    `qemu+ext:///system?command=${canaryScript}`,
    `qemu+ssh://root@${ssh}/system?command=${canaryScript}`,
    `test+ssh://root@${ssh}/default?netcat=${canaryScript}`,
    `qemu+libssh://root@${ssh}/system?known_hosts=${canary}&known_hosts_verify=auto`,
    `qemu+libssh2://root@${ssh}/system?known_hosts=${canary}&known_hosts_verify=auto`,
    `qemu:///embed?root=${canary}`,
    `test://${canary}`,
    `test:///etc/shadow`,
    `test:///etc/passwd`,
    `qemu+ssh://root@${ssh}/system?keyfile=/dev/zero`,
    `qemu+ssh://root@${ssh}/system?keyfile=/etc/shadow`,
    `qemu+ssh://root@${ssh}/system?socket=/a;touch%20${canary}`,
    `qemu+ssh://-oProxyCommand=touch%20${canary}/system`,
    // File paths.
    `/etc/shadow`,
    `../../../../etc/passwd`,
    `/dev/zero`,
    `file:///etc/shadow`,
    // Huge, odd and broken text.
    'x'.repeat(70_000),
    '𝔉𝔢𝔯𝔯𝔶 🚢 日本語',
    'evil\u202Egnp.exe',
    'ad\u200Bmin',
    '\uFEFFbom',
    'nul\u0000byte',
    'lone\uD800surrogate',
    'low\uDC00first',
    '',
    ' ',
    '%00%0a%27',
    '{"__proto__":{"polluted":true}}',
    "' OR 1=1 --",
    '"; DROP TABLE "Host"; --',
    'NaN',
    '99999-12-31T00:00:00Z',
    '+275760-09-13T00:00:00.000Z',
    '0001-01-01T00:00:00Z',
    '-1',
    '1e400',
    '9'.repeat(20),
    'abc',
  ];
}
