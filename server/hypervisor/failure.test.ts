import { describe, expect, it } from 'vitest';
import { VirshError } from './executor';
import { exitFailure, formatArgv } from './failure';

describe('error messages that reach the browser', () => {
  it('never show key files, known_hosts or socket paths of a connection URI', () => {
    const argv = [
      'virsh',
      '-c',
      'qemu+ssh://root@hv1/system?keyfile=/etc/ferry/secret_key&known_hosts=/etc/ferry/kh',
      'migrate',
      '--desturi',
      'qemu+ssh://root@hv2/system?keyfile=/etc/ferry/secret_key',
    ];
    const text = formatArgv(argv);
    expect(text).not.toContain('secret_key');
    expect(text).not.toContain('/etc/ferry/kh');
    expect(text).toContain('qemu+ssh://root@hv1/system');
    const error = exitFailure({ argv, exitCode: 1, stdout: '', stderr: "error: failed to get domain 'vm1'\n" });
    expect(error.message).not.toContain('secret_key');
    expect(error.message).toContain("failed to get domain 'vm1'");
  });

  it('hides the query of a URI it cannot parse rather than printing it', () => {
    expect(formatArgv(['virsh', '-c', 'bogus://x/?keyfile=/k'])).not.toContain('/k');
  });
});

describe('VirshError recognition', () => {
  it('recognises an error made by another bundled copy of the class, and nothing else', () => {
    const foreign = Object.assign(new Error('virsh failed'), {
      name: 'VirshError',
      argv: ['domstate'],
      stderr: 'error: x',
    });
    expect(foreign instanceof VirshError).toBe(true);
    expect(new Error('plain') instanceof VirshError).toBe(false);
    expect(Object.assign(new Error('named only'), { name: 'VirshError' }) instanceof VirshError).toBe(false);
    expect(new VirshError({ kind: 'exit', message: 'm', argv: [] }) instanceof VirshError).toBe(true);
  });
});
