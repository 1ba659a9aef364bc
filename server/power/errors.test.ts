import { describe, expect, it } from 'vitest';
import { classifyPowerFailure } from './errors';

/**
 * The test driver's lines are stderr exactly as virsh 9.0 wrote it with `virsh -c test:///default` (service.test.ts
 * meets them again live). The qemu driver's (lock, already running, missing disk, read-only) follow libvirt 9.0's
 * message formats (virerror.c's VIR_ERR_OPERATION_TIMEOUT, _INVALID, _OPERATION_DENIED texts).
 */
const CAPTURED = {
  testSuspendTwice: "error: Failed to suspend domain 'test'\nerror: internal error: domain 'test' not running\n",
  testResumeRunning: "error: Failed to resume domain 'test'\nerror: internal error: domain 'test' not paused\n",
  testStartActive: 'error: Domain is already active\n',
  testDestroyOff:
    "error: Failed to destroy domain 'test'\nerror: Requested operation is not valid: domain is not running\n",
  testShutdownAcpi:
    "error: Failed to shutdown domain 'test'\nerror: unsupported flags (0x1) in function testDomainShutdownFlags\n",
  qemuLock:
    "error: Failed to suspend domain 'vm1'\nerror: Timed out during operation: cannot acquire state change lock " +
    '(held by monitor=remoteDispatchDomainMigratePerform3Params)\n',
  qemuStartRunning:
    "error: Failed to start domain 'vm1'\nerror: Requested operation is not valid: domain is already running\n",
  noDomain: "error: failed to get domain '0f1e0000-7a5b-4c1b-9e00-0000000000a1'\n",
  qemuStartMissingDisk:
    "error: Failed to start domain 'vm1'\nerror: Cannot access storage file '/var/lib/libvirt/images/vm1.qcow2': " +
    'No such file or directory\n',
  readOnly:
    "error: Failed to destroy domain 'vm1'\nerror: operation forbidden: read only access prevents virDomainDestroy\n",
};

describe('classifyPowerFailure', () => {
  it.each([
    ['testSuspendTwice', 'suspend', 'not-running', 'Cannot suspend "test": it is not running (any more).'],
    ['testResumeRunning', 'resume', 'not-paused', 'Cannot resume "test": it is not paused.'],
    ['testStartActive', 'start', 'already-running', '"test" is already running.'],
    ['testDestroyOff', 'poweroff', 'not-running', 'Cannot force off "test": it is not running (any more).'],
    [
      'testShutdownAcpi',
      'shutdown',
      'unsupported',
      'This host\'s libvirt driver cannot shut down "test" the way Ferry asks (ACPI).',
    ],
    ['qemuStartRunning', 'start', 'already-running', '"test" is already running.'],
    [
      'readOnly',
      'poweroff',
      'read-only',
      "Ferry's connection to this host is read-only: it may not force off VMs there.",
    ],
  ] as const)('%s → %s', (sample, action, code, cause) => {
    expect(classifyPowerFailure({ action, vmName: 'test', stderr: CAPTURED[sample] })).toEqual({ code, cause });
  });

  it('names a held state-change lock as another job on the VM', () => {
    const failure = classifyPowerFailure({ action: 'suspend', vmName: 'vm1', stderr: CAPTURED.qemuLock });
    expect(failure.code).toBe('busy');
    expect(failure.cause).toContain('libvirt is busy with another job on "vm1"');
  });

  it('reports a VM that vanished between the check and the action', () => {
    const failure = classifyPowerFailure({ action: 'resume', vmName: 'vm1', stderr: CAPTURED.noDomain });
    expect(failure).toEqual({
      code: 'no-such-vm',
      cause: '"vm1" is no longer on this host (it was undefined or migrated away): refresh the page.',
    });
  });

  it("keeps libvirt's reason for a failed start but no file path", () => {
    const failure = classifyPowerFailure({ action: 'start', vmName: 'vm1', stderr: CAPTURED.qemuStartMissingDisk });
    expect(failure.code).toBe('start-failed');
    expect(failure.cause).toMatch(/^libvirt could not start "vm1": Cannot access storage file/);
    expect(failure.cause).toContain('No such file or directory');
    expect(failure.cause).not.toContain('/var/lib');
  });

  it('falls back to libvirt’s own summary, on one line', () => {
    const failure = classifyPowerFailure({
      action: 'reboot',
      vmName: 'vm1',
      stderr: "error: Failed to reboot domain 'vm1'\nerror: internal error: something new\n",
    });
    expect(failure).toEqual({
      code: 'unknown',
      cause: 'libvirt refused to reboot "vm1": Failed to reboot domain \'vm1\': internal error: something new',
    });
  });
});
