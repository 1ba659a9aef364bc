import { Info } from 'lucide-react';

/**
 * Said first in the Migrate dialog when the VM lives on a libvirt test-driver host (the demo host): nothing below
 * can work, so the dialog says why and how to get two real hypervisors instead of letting a preflight fail.
 */
export function TestDriverNote({ hostAlias }: { hostAlias: string }) {
  return (
    <div
      role="note"
      data-testid="test-driver-note"
      className="mt-3 flex gap-2 rounded-md border border-sky-200 bg-sky-50 p-3 text-sm text-sky-900"
    >
      <Info className="mt-0.5 h-4 w-4 shrink-0" aria-hidden />
      <div className="space-y-1">
        <p className="font-medium">
          {hostAlias} runs libvirt&apos;s test driver, which cannot migrate: it answers every read but refuses to send a
          VM anywhere.
        </p>
        <p>
          To try a real live migration, start two real hypervisors on this machine and register them here in one command
          (as root):{' '}
          <code className="rounded bg-white px-1 font-mono text-xs whitespace-nowrap">
            npm run lab:up -- --register
          </code>
          . Then migrate <span className="font-mono">vm1</span> from hv1 to hv2.
        </p>
      </div>
    </div>
  );
}
