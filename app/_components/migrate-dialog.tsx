'use client';

import * as Dialog from '@radix-ui/react-dialog';
import { useMutation } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useMemo, useState } from 'react';
import {
  driverRule,
  encryptionRule,
  firstRefusal,
  maintenanceRule,
  nameFreeRule,
  reachableRule,
  sameHostRule,
  type RuleHost,
} from '@/server/libvirt/migration/destinations';
import {
  optionProblemsByField,
  type MigrationOptionFields,
  type MigrationOptionsInput,
  type StorageMode,
  type TimeoutAction,
} from '@/server/libvirt/migration/options';
import { peerToPeerRule } from '@/server/libvirt/migration/peer-to-peer';
import { isTestDriverUri } from '@/server/libvirt/uri';
import { plural } from '@/server/plural';
import { toast } from 'sonner';
import { useTRPC } from '@/trpc/client';
import { toFieldErrors } from '../_lib/trpc-errors';
import type { HostSnapshotView, VmView } from './fleet-view';
import { TestDriverNote } from './test-driver-note';
import { Button, ErrorBox } from './ui';
import { PreflightLeftovers } from './remove-leftover-button';

export type MigrateTarget = { vm: VmView; host: HostSnapshotView['host'] };

/**
 * The form speaks the options' own types (server/libvirt/migration/options.ts); only the two number fields are
 * kept as typed text until they are sent.
 */
type FormState = Omit<Required<MigrationOptionFields>, 'bandwidthMiBps' | 'timeoutSeconds'> & {
  destinationHostId: string;
  bandwidthMiBps: string;
  timeoutSeconds: string;
};

const CHECK_ICON = { pass: '✓', warn: '!', fail: '✗' } as const;
const CHECK_CLASS = { pass: 'text-emerald-700', warn: 'text-amber-700', fail: 'text-rose-700' } as const;

function ruleHost(host: HostSnapshotView['host']): RuleHost {
  return {
    id: host.id,
    alias: host.alias,
    uri: host.displayUri,
    hostUuid: host.hostUuid,
    tlsCapable: host.tlsCapable,
  };
}

/**
 * Why a host cannot take this VM, from what the fleet page already knows; null when it can. The rules are
 * preflight's own (destinations.ts): the server checks the same things again, with fresh answers.
 */
function unavailableReason(target: MigrateTarget, snapshot: HostSnapshotView): string | null {
  const source = ruleHost(target.host);
  const destination = ruleHost(snapshot.host);
  const refusal = firstRefusal([
    sameHostRule(source, destination),
    maintenanceRule(snapshot.host),
    reachableRule(destination, snapshot.status === 'error' ? (snapshot.error ?? 'error') : null),
    driverRule(source, destination),
    nameFreeRule({ destination, vm: target.vm, domains: snapshot.vms }),
  ]);
  return refusal?.short ?? null;
}

export function MigrateDialog({
  target,
  fleet,
  onClose,
}: {
  target: MigrateTarget;
  fleet: HostSnapshotView[];
  onClose: () => void;
}) {
  const trpc = useTRPC();
  const router = useRouter();
  const candidates = useMemo(
    () =>
      fleet
        .filter((s) => s.host.id !== target.host.id)
        .map((s) => ({ snapshot: s, reason: unavailableReason(target, s) })),
    [fleet, target],
  );
  const firstAvailable = candidates.find((c) => c.reason === null);
  const isRunning = target.vm.state === 'running' || target.vm.state === 'paused';
  const [form, setForm] = useState<FormState>(() => {
    const destination = firstAvailable?.snapshot.host;
    return {
      destinationHostId: destination?.id ?? '',
      mode: isRunning ? 'live' : 'offline',
      persistent: true,
      undefineSource: isRunning,
      storage: 'copy-all',
      tunnelled: false,
      tls: Boolean(destination?.tlsCapable && target.host.tlsCapable),
      compressed: false,
      autoConverge: false,
      postcopy: false,
      bandwidthMiBps: '',
      timeoutSeconds: '',
      timeoutAction: 'suspend',
      precreateVolumes: false,
      deleteSourceVolumes: false,
      unsafe: false,
      confirmUnsafe: false,
    };
  });
  const destination = fleet.find((s) => s.host.id === form.destinationHostId)?.host;
  // CloudStack's rule: native TLS when both hosts are TLS-capable, until the admin chooses the transport himself.
  const [isEncryptionChosen, setEncryptionChosen] = useState(false);
  const encryption = destination
    ? encryptionRule({
        source: ruleHost(target.host),
        destination: ruleHost(destination),
        migration: { tls: form.tls, tunnelled: form.tunnelled },
      })
    : null;

  const options: MigrationOptionsInput = {
    mode: form.mode,
    persistent: form.persistent,
    undefineSource: form.undefineSource,
    storage: form.mode === 'offline' ? 'shared' : form.storage,
    tunnelled: form.tunnelled,
    tls: form.tls,
    compressed: form.compressed,
    autoConverge: form.autoConverge,
    postcopy: form.postcopy,
    bandwidthMiBps: form.bandwidthMiBps ? Number(form.bandwidthMiBps) : undefined,
    timeoutSeconds: form.timeoutSeconds ? Number(form.timeoutSeconds) : undefined,
    timeoutAction: form.timeoutSeconds ? form.timeoutAction : undefined,
    precreateVolumes: form.precreateVolumes,
    deleteSourceVolumes: form.deleteSourceVolumes,
    unsafe: form.unsafe,
    confirmUnsafe: form.confirmUnsafe,
  };
  const problems = optionProblemsByField(options);
  const hasProblems = Object.keys(problems).length > 0;
  const request = {
    vmName: target.vm.name,
    vmUuid: target.vm.uuid,
    sourceHostId: target.host.id,
    destinationHostId: form.destinationHostId,
    options,
  };

  const preflight = useMutation(trpc.migration.preflight.mutationOptions());
  const start = useMutation(
    trpc.migration.start.mutationOptions({
      onSuccess: ({ id, existing, queuePosition }) => {
        if (existing) toast.info(`${target.vm.name} is already being migrated there; showing that migration.`);
        else if (queuePosition)
          toast.info(`Queued: ${queuePosition === 1 ? 'next' : `position ${queuePosition}`} in line.`);
        onClose();
        router.push(`/migrations/${id}`);
      },
    }),
  );
  const { fields, form: formError } = toFieldErrors(start.error ?? preflight.error);
  const needsUnsafeConfirm = form.unsafe || (form.mode === 'offline' && form.undefineSource);
  // The runner asks the same rule with the full URIs; display URIs keep host and socket, which is all it reads.
  const peerToPeer = destination
    ? peerToPeerRule({
        source: { alias: target.host.alias, uri: target.host.displayUri },
        destination: { alias: destination.alias, uri: destination.displayUri },
      })
    : null;

  function set<K extends keyof FormState>(key: K, value: FormState[K]) {
    setForm((previous) => ({ ...previous, [key]: value }));
    preflight.reset();
  }

  function chooseDestination(host: HostSnapshotView['host']) {
    setForm((previous) => ({
      ...previous,
      destinationHostId: host.id,
      tls: isEncryptionChosen ? previous.tls : host.tlsCapable && target.host.tlsCapable,
    }));
    preflight.reset();
  }

  function chooseEncryption(key: 'tls' | 'tunnelled', value: boolean) {
    setEncryptionChosen(true);
    set(key, value);
  }

  return (
    <Dialog.Root open onOpenChange={(open) => (open ? undefined : onClose())}>
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 bg-slate-900/40" />
        <Dialog.Content className="fixed left-1/2 top-1/2 max-h-[92vh] w-[min(44rem,95vw)] -translate-x-1/2 -translate-y-1/2 overflow-y-auto rounded-lg bg-white p-5 shadow-xl">
          <Dialog.Title className="text-lg font-semibold">
            Migrate <span className="font-mono">{target.vm.name}</span> from {target.host.alias}
          </Dialog.Title>
          <Dialog.Description className="mt-1 text-sm text-slate-500">
            {target.vm.state} · {target.vm.vcpus === null ? '? vCPUs' : plural(target.vm.vcpus, 'vCPU')} ·{' '}
            {plural(target.vm.disks.length, 'disk')}
          </Dialog.Description>
          {isTestDriverUri(target.host.displayUri) ? <TestDriverNote hostAlias={target.host.alias} /> : null}

          <div className="mt-4 space-y-4 text-sm">
            <fieldset>
              <legend className="mb-1 font-medium">Destination</legend>
              {candidates.length === 0 ? <p className="text-slate-500">No other host is registered.</p> : null}
              <div className="space-y-1">
                {candidates.map(({ snapshot, reason }) => (
                  <label key={snapshot.host.id} className={`flex items-center gap-2 ${reason ? 'text-slate-400' : ''}`}>
                    <input
                      type="radio"
                      name="destination"
                      value={snapshot.host.id}
                      disabled={reason !== null}
                      checked={form.destinationHostId === snapshot.host.id}
                      onChange={() => chooseDestination(snapshot.host)}
                    />
                    <span className="font-medium">{snapshot.host.alias}</span>
                    <span className="text-xs">{reason ?? snapshot.host.displayUri}</span>
                  </label>
                ))}
              </div>
              {fields.destinationHostId ? (
                <p role="alert" className="text-rose-700">
                  {fields.destinationHostId}
                </p>
              ) : null}
            </fieldset>

            <fieldset className="grid gap-2 sm:grid-cols-2">
              <legend className="mb-1 font-medium">Options</legend>
              <label className="flex items-center gap-2">
                <span className="w-20">Mode</span>
                <select
                  aria-label="Mode"
                  value={form.mode}
                  onChange={(e) => set('mode', e.target.value as FormState['mode'])}
                  className="rounded border border-slate-300 px-2 py-1"
                >
                  <option value="live">live</option>
                  <option value="offline">offline</option>
                </select>
              </label>
              <label className="flex items-center gap-2">
                <span className="w-20">Storage</span>
                <select
                  aria-label="Storage"
                  value={form.mode === 'offline' ? 'shared' : form.storage}
                  disabled={form.mode === 'offline'}
                  onChange={(e) => set('storage', e.target.value as StorageMode)}
                  className="rounded border border-slate-300 px-2 py-1"
                >
                  <option value="copy-all">copy all storage</option>
                  <option value="copy-inc">copy storage incrementally</option>
                  <option value="shared">shared storage</option>
                </select>
              </label>
              <Check
                label="Persistent on destination"
                checked={form.persistent}
                onChange={(v) => set('persistent', v)}
              />
              <Check
                label="Undefine on source"
                checked={form.undefineSource}
                onChange={(v) => set('undefineSource', v)}
              />
              <Check
                label="Tunnelled (--p2p --tunnelled)"
                checked={form.tunnelled}
                onChange={(v) => chooseEncryption('tunnelled', v)}
              />
              <Check label="Native TLS (--tls)" checked={form.tls} onChange={(v) => chooseEncryption('tls', v)} />
              <Check label="Compressed" checked={form.compressed} onChange={(v) => set('compressed', v)} />
              <Check label="Auto-converge" checked={form.autoConverge} onChange={(v) => set('autoConverge', v)} />
              <Check label="Allow post-copy" checked={form.postcopy} onChange={(v) => set('postcopy', v)} />
              <Check
                label="Pre-create destination volumes"
                checked={form.precreateVolumes}
                onChange={(v) => set('precreateVolumes', v)}
              />
              <Check
                label="Delete source volumes after success"
                checked={form.deleteSourceVolumes}
                onChange={(v) => set('deleteSourceVolumes', v)}
              />
              <Check label="Unsafe (--unsafe)" checked={form.unsafe} onChange={(v) => set('unsafe', v)} />
              <label className="flex items-center gap-2">
                <span className="w-28">Bandwidth MiB/s</span>
                <input
                  aria-label="Bandwidth limit (MiB/s)"
                  inputMode="numeric"
                  value={form.bandwidthMiBps}
                  onChange={(e) => set('bandwidthMiBps', e.target.value)}
                  className="w-20 rounded border border-slate-300 px-2 py-1"
                  placeholder="∞"
                />
              </label>
              <label className="flex items-center gap-2">
                <span className="w-16">Timeout</span>
                <input
                  aria-label="Timeout (seconds)"
                  inputMode="numeric"
                  value={form.timeoutSeconds}
                  onChange={(e) => set('timeoutSeconds', e.target.value)}
                  className="w-16 rounded border border-slate-300 px-2 py-1"
                  placeholder="s"
                />
                <select
                  aria-label="Timeout action"
                  value={form.timeoutAction}
                  onChange={(e) => set('timeoutAction', e.target.value as TimeoutAction)}
                  className="rounded border border-slate-300 px-1 py-1"
                >
                  <option value="suspend">then suspend</option>
                  <option value="postcopy">then post-copy</option>
                  <option value="abort">then abort</option>
                </select>
              </label>
            </fieldset>
            {hasProblems ? (
              <ul aria-label="Option problems" className="space-y-1 text-rose-700">
                {Object.entries(problems).map(([field, message]) => (
                  <li key={field} role="alert" data-field={field}>
                    {message}
                  </li>
                ))}
              </ul>
            ) : null}

            {peerToPeer && !form.tunnelled ? (
              <p
                role="note"
                data-testid="p2p-note"
                data-p2p={peerToPeer.possible ? 'yes' : 'no'}
                className={
                  peerToPeer.possible
                    ? 'text-slate-600'
                    : 'rounded-md border border-amber-200 bg-amber-50 p-2 text-amber-900'
                }
              >
                {peerToPeer.possible
                  ? `Peer-to-peer: ${peerToPeer.reason}.`
                  : `Not peer-to-peer: ${peerToPeer.reason}; this migration stops if Ferry stops.`}
              </p>
            ) : null}
            {encryption ? (
              <p
                role="note"
                aria-label="Encryption"
                data-status={encryption.status}
                className={
                  encryption.status === 'pass'
                    ? 'rounded-md border border-emerald-200 bg-emerald-50 p-2 text-emerald-900'
                    : 'rounded-md border border-amber-200 bg-amber-50 p-2 text-amber-900'
                }
              >
                {encryption.reason}
                {!form.tls && !form.tunnelled && destination?.migrationAddress
                  ? ` (QEMU connects to ${destination?.migrationAddress}.)`
                  : ''}
              </p>
            ) : null}
            {needsUnsafeConfirm ? (
              <label className="flex items-center gap-2 rounded-md border border-rose-200 bg-rose-50 p-2 text-rose-900">
                <input
                  type="checkbox"
                  checked={form.confirmUnsafe}
                  onChange={(e) => set('confirmUnsafe', e.target.checked)}
                />
                {form.unsafe
                  ? 'I understand --unsafe skips libvirt’s safety checks and may corrupt disks.'
                  : 'I understand offline migration with undefine leaves the disks behind on the source.'}
              </label>
            ) : null}

            {formError || fields.options || fields.vmName ? (
              <ErrorBox title={formError ?? fields.options ?? fields.vmName ?? ''} />
            ) : null}

            {preflight.data ? (
              <ul aria-label="Preflight checklist" className="space-y-1 rounded-md border border-slate-200 p-2">
                {preflight.data.checks.map((check) => (
                  <li
                    key={check.id}
                    data-check={check.id}
                    data-status={check.status}
                    className={CHECK_CLASS[check.status]}
                  >
                    <span className="inline-block w-4 font-bold">{CHECK_ICON[check.status]}</span> <b>{check.label}</b>:{' '}
                    {check.reason}
                  </li>
                ))}
              </ul>
            ) : null}
            {preflight.data ? (
              <PreflightLeftovers disks={preflight.data.facts.disks} onRemoved={() => preflight.mutate(request)} />
            ) : null}
          </div>

          <div className="mt-5 flex items-center justify-end gap-2">
            <Dialog.Close asChild>
              <Button variant="ghost">Close</Button>
            </Dialog.Close>
            <Button
              onClick={() => preflight.mutate(request)}
              disabled={!form.destinationHostId || hasProblems || preflight.isPending}
            >
              {preflight.isPending ? 'Checking…' : 'Run preflight'}
            </Button>
            <Button
              variant="primary"
              onClick={() => start.mutate(request)}
              disabled={
                !form.destinationHostId ||
                hasProblems ||
                start.isPending ||
                !preflight.data?.ok ||
                (needsUnsafeConfirm && !form.confirmUnsafe)
              }
              title={preflight.data?.ok ? undefined : 'Run the preflight first; every check must pass or warn.'}
            >
              {start.isPending ? 'Starting…' : 'Start migration'}
            </Button>
          </div>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

function Check({ label, checked, onChange }: { label: string; checked: boolean; onChange: (value: boolean) => void }) {
  return (
    <label className="flex items-center gap-2">
      <input type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} />
      {label}
    </label>
  );
}
