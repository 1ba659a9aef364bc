import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { foreignJobSentence } from './foreign-job';
import { parseDomJobInfo } from './migration/jobinfo';
import { parseDomStateReason } from './migration/reattach';

/**
 * Captured on the lab while `virsh migrate --p2p --live --copy-storage-all --bandwidth 2` moved vm1 from hv1 to hv2,
 * 4 s in: what each host answers about vm1. hv2's domjobinfo failed (the stderr file); so did a suspend there, after
 * 30.8 s, with "cannot acquire state change lock (held by monitor=remoteDispatchDomainMigratePrepare3Params)". A
 * suspend on hv1 went through at once, in the middle of the migration.
 */
const capture = (name: string) => readFileSync(new URL(`./fixtures/virsh/${name}`, import.meta.url), 'utf8');

const source = {
  state: parseDomStateReason(capture('qemu-domstate-reason-outgoing-lab-vm1.txt')),
  job: parseDomJobInfo(capture('qemu-domjobinfo-outgoing-lab-vm1.txt')),
};
const destination = { state: parseDomStateReason(capture('qemu-domstate-reason-incoming-lab-vm1.txt')), job: null };
const ask = (where: typeof source | typeof destination, hostAlias: string) =>
  foreignJobSentence({ hostAlias, ...where });

describe('a VM that libvirt holds in a job Ferry did not start', () => {
  it('refuses on the source, where domjobinfo names the outgoing migration', () => {
    expect(source.state).toEqual({ state: 'running', reason: 'booted' });
    expect(ask(source, 'hv1')).toBe(
      'libvirt on hv1 is running a job on it that Ferry did not start (outgoing migration). ' +
        'Wait for it to end, or abort it (virsh domjobabort on hv1).',
    );
  });

  it('refuses on the destination, which has no job statistics but says paused (migrating)', () => {
    expect(capture('qemu-domjobinfo-incoming-lab-vm1.stderr.txt')).toMatch(/available only on the source host/);
    expect(ask(destination, 'hv2')).toBe(
      'it is paused (migrating) on hv2, held by a migration that Ferry did not start. ' +
        "Wait for it to end, or abort it (virsh domjobabort on the migration's source host).",
    );
  });

  it('names the host for a job that is not a migration, and says "a job" when virsh names no operation', () => {
    expect(
      foreignJobSentence({ hostAlias: 'hv3', state: { state: 'paused', reason: 'creating snapshot' }, job: null }),
    ).toBe(
      'it is paused (creating snapshot) on hv3, held by a snapshot that Ferry did not start. ' +
        'Wait for it to end, or abort it (virsh domjobabort on hv3).',
    );
    const unnamed = parseDomJobInfo('Job type:         Bounded\nTime elapsed:     10 ms\n');
    expect(foreignJobSentence({ hostAlias: 'hv3', state: null, job: unnamed })).toBe(
      'libvirt on hv3 is running a job on it that Ferry did not start. ' +
        'Wait for it to end, or abort it (virsh domjobabort on hv3).',
    );
  });

  it('lets the action through when no job holds the VM', () => {
    const idle = parseDomJobInfo('Job type:         None        \n\n');
    const free = [
      { state: { state: 'running', reason: 'booted' }, job: idle },
      // After a migration, and after one was cancelled: the job is over.
      { state: { state: 'running', reason: 'migrated' }, job: idle },
      { state: { state: 'running', reason: 'migration canceled' }, job: null },
      { state: { state: 'paused', reason: 'user' }, job: null },
      { state: { state: 'paused', reason: 'I/O error' }, job: null },
      // The test driver: no reason it knows, no domjobinfo.
      { state: { state: 'running', reason: 'unknown' }, job: null },
      { state: null, job: null },
    ];
    for (const where of free) {
      expect(foreignJobSentence({ hostAlias: 'hv1', ...where })).toBeNull();
    }
  });
});
