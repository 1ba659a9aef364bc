import { describe, expect, it } from 'vitest';
import { redactErrorText } from './redact';

describe('redactErrorText on what real virsh 9.0 prints', () => {
  it('drops the quoted line of a test:/// parse error and the file path', () => {
    const stderr = [
      'error: failed to connect to the hypervisor',
      "error: /tmp/fake-shadow:1: Start tag expected, '<' not found",
      'root:$y$j9T$secret:19000:0:99999:7:::',
      '^',
    ].join('\n');
    const out = redactErrorText(stderr);
    expect(out).not.toContain('secret');
    expect(out).not.toContain('fake-shadow');
    expect(out).toContain("…:1: Start tag expected, '<' not found");
  });

  it('drops the source line and caret of a tag mismatch', () => {
    const stderr = [
      'error: failed to connect to the hypervisor',
      'error: /tmp/fake2.xml:1: Opening and ending tag mismatch: x line 1 and y',
      '<node><x>secretline</y></node>',
      '-----------------------^',
    ].join('\n');
    expect(redactErrorText(stderr)).toBe(
      'error: failed to connect to the hypervisor\nerror: …:1: Opening and ending tag mismatch: x line 1 and y',
    );
  });

  it('masks key paths in URIs and in ssh warnings', () => {
    const text =
      'error: Disconnected from qemu+ssh://root@10.77.77.11/system?keyfile=/root/.lab/keys/id_ed25519 due to end of file';
    expect(redactErrorText(text)).toBe(
      'error: Disconnected from qemu+ssh://root@10.77.77.11/system?keyfile=… due to end of file',
    );
    const ssh = 'error: Cannot recv data: Warning: Identity file /root/k/id_ed25519 not accessible: No such file';
    expect(redactErrorText(ssh)).toBe('error: Cannot recv data: Warning: Identity file … not accessible: No such file');
  });

  it('keeps the path of an invalid test URI out', () => {
    expect(redactErrorText("cannot open test:///etc/shadow's data")).not.toContain('shadow');
  });

  it('leaves plain messages alone', () => {
    const text = 'error: Requested operation is not valid: domain is already running';
    expect(redactErrorText(text)).toBe(text);
  });
});
