'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { toast } from 'sonner';
import type { ExecutorKind } from '@/server/hypervisor/executor';
import { useTRPC } from '@/trpc/client';
import { refreshAfterChange } from '@/trpc/query-client';
import { toFieldErrors } from '../../_lib/trpc-errors';
import { Button, ErrorBox, Field, TextInput } from '../../_components/ui';

export type HostFormValues = {
  alias: string;
  reference: string;
  displayName: string;
  executorKind: ExecutorKind;
  tlsCapable: boolean;
  migrationAddress: string;
  confirmedFingerprint?: string;
};

const EMPTY: HostFormValues = {
  alias: '',
  reference: '',
  displayName: '',
  executorKind: 'local',
  tlsCapable: false,
  migrationAddress: '',
};

export function HostForm({
  hostId,
  initial,
  currentDisplayUri,
  onDone,
}: {
  hostId?: string;
  initial?: Partial<HostFormValues>;
  /** Editing: the stored URI's display form (no key paths), offered as "keep the current URI". */
  currentDisplayUri?: string;
  onDone?: () => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [values, setValues] = useState<HostFormValues>({ ...EMPTY, ...initial });
  const [keyConfirmed, setKeyConfirmed] = useState(Boolean(initial?.confirmedFingerprint));
  const [keepUri, setKeepUri] = useState(currentDisplayUri !== undefined);

  const inspect = useMutation(trpc.host.inspect.mutationOptions());
  const invalidate = () => refreshAfterChange(queryClient, [trpc.host.pathKey(), trpc.fleet.pathKey()]);
  const add = useMutation(
    trpc.host.add.mutationOptions({
      onSuccess: async (host) => {
        toast.success(`Host ${host.alias} added`);
        setValues(EMPTY);
        setKeyConfirmed(false);
        inspect.reset();
        await invalidate();
        onDone?.();
      },
    }),
  );
  const update = useMutation(
    trpc.host.update.mutationOptions({
      onSuccess: async (host) => {
        toast.success(`Host ${host.alias} saved`);
        await invalidate();
        onDone?.();
      },
    }),
  );
  const save = hostId ? update : add;
  const { fields, form } = toFieldErrors(save.error ?? inspect.error);
  const fingerprint = inspect.data?.hostKey?.fingerprint ?? initial?.confirmedFingerprint;

  function set<K extends keyof HostFormValues>(key: K, value: HostFormValues[K]) {
    setValues((previous) => ({ ...previous, [key]: value }));
  }

  function submit(event: React.FormEvent) {
    event.preventDefault();
    const data = {
      alias: values.alias,
      displayName: values.displayName || undefined,
      executorKind: values.executorKind,
      tlsCapable: values.tlsCapable,
      migrationAddress: values.migrationAddress || undefined,
      confirmedFingerprint: keyConfirmed && fingerprint ? fingerprint : undefined,
    };
    // Keeping the URI sends a marker, never the URI: the server holds the stored one (it may name key files).
    if (hostId)
      update.mutate({ id: hostId, data: { ...data, reference: keepUri ? { unchanged: true } : values.reference } });
    else add.mutate({ ...data, reference: values.reference });
  }

  const idPrefix = hostId ? `edit-${hostId}` : 'add';
  return (
    <form onSubmit={submit} className="space-y-4" aria-label={hostId ? 'Edit host' : 'Add host'} noValidate>
      {form ? <ErrorBox title={form} /> : null}
      <div className="grid gap-4 sm:grid-cols-2">
        <Field
          label="Alias"
          htmlFor={`${idPrefix}-alias`}
          error={fields.alias}
          hint="Short name: letters, digits, _ and -"
        >
          <TextInput
            id={`${idPrefix}-alias`}
            name="alias"
            value={values.alias}
            invalid={!!fields.alias}
            onChange={(e) => set('alias', e.target.value)}
            placeholder="hv1"
          />
        </Field>
        <Field label="Display name" htmlFor={`${idPrefix}-displayName`} error={fields.displayName}>
          <TextInput
            id={`${idPrefix}-displayName`}
            name="displayName"
            value={values.displayName}
            onChange={(e) => set('displayName', e.target.value)}
            placeholder="Rack 3, hypervisor 1"
          />
        </Field>
      </div>
      <Field
        label="libvirt URI or imported alias"
        htmlFor={`${idPrefix}-reference`}
        error={fields.reference}
        hint="e.g. qemu+ssh://root@hv1/system?keyfile=/etc/ferry/id_ed25519, qemu:///system, test:///default, or an alias imported from libvirt.conf"
      >
        {currentDisplayUri !== undefined ? (
          <label className="flex items-center gap-2 text-sm">
            <input
              type="checkbox"
              checked={keepUri}
              onChange={(e) => {
                setKeepUri(e.target.checked);
                inspect.reset();
                setKeyConfirmed(e.target.checked && Boolean(initial?.confirmedFingerprint));
              }}
            />
            <span>
              Keep the current URI <code className="text-xs text-slate-600">{currentDisplayUri}</code>
            </span>
          </label>
        ) : null}
        <div className="flex gap-2">
          <TextInput
            id={`${idPrefix}-reference`}
            name="reference"
            value={keepUri ? '' : values.reference}
            disabled={keepUri}
            invalid={!!fields.reference}
            onChange={(e) => {
              set('reference', e.target.value);
              inspect.reset();
              setKeyConfirmed(false);
            }}
            className="font-mono disabled:bg-slate-100"
            placeholder={keepUri ? 'kept as it is' : 'qemu+ssh://root@hv1/system'}
          />
          <Button
            onClick={() => inspect.mutate({ reference: values.reference })}
            disabled={keepUri || !values.reference || inspect.isPending}
          >
            {inspect.isPending ? 'Checking…' : 'Check'}
          </Button>
        </div>
      </Field>
      {inspect.data ? (
        <div className="rounded-md border border-slate-200 bg-slate-50 p-3 text-sm" data-testid="inspect-result">
          <p>
            {inspect.data.viaAlias ? (
              <>
                Alias <b>{inspect.data.viaAlias}</b> ·{' '}
              </>
            ) : null}
            {inspect.data.isRemote
              ? `Remote host ${inspect.data.hostname} over ${inspect.data.transport}`
              : 'Local connection'}
          </p>
          {inspect.data.hostKey ? (
            <label className="mt-2 flex items-center gap-2">
              <input type="checkbox" checked={keyConfirmed} onChange={(e) => setKeyConfirmed(e.target.checked)} />
              <span>
                I confirm the {inspect.data.hostKey.keyType} host key{' '}
                <code data-testid="fingerprint">{inspect.data.hostKey.fingerprint}</code>
              </span>
            </label>
          ) : null}
          {inspect.data.hostKeyError ? (
            <p className="mt-1 text-amber-800">Could not read the host key: {inspect.data.hostKeyError}</p>
          ) : null}
        </div>
      ) : null}
      {fields.confirmedFingerprint ? (
        <p role="alert" className="text-sm text-rose-700">
          {fields.confirmedFingerprint}
        </p>
      ) : null}
      <div className="grid gap-4 sm:grid-cols-3">
        <Field
          label="Executor"
          htmlFor={`${idPrefix}-executorKind`}
          error={fields.executorKind}
          hint="ssh: one pooled SSH connection running virsh on the host"
        >
          <select
            id={`${idPrefix}-executorKind`}
            value={values.executorKind}
            onChange={(e) => set('executorKind', e.target.value as HostFormValues['executorKind'])}
            className="block w-full rounded-md border border-slate-300 bg-white px-2 py-1.5 text-sm"
          >
            <option value="local">local virsh</option>
            <option value="ssh">pooled ssh</option>
          </select>
        </Field>
        <Field
          label="Migration address"
          htmlFor={`${idPrefix}-migrationAddress`}
          error={fields.migrationAddress}
          hint="Where migration data reaches this host"
        >
          <TextInput
            id={`${idPrefix}-migrationAddress`}
            value={values.migrationAddress}
            invalid={!!fields.migrationAddress}
            onChange={(e) => set('migrationAddress', e.target.value)}
            placeholder="10.0.0.11"
          />
        </Field>
        <label className="mt-6 flex items-center gap-2 text-sm">
          <input type="checkbox" checked={values.tlsCapable} onChange={(e) => set('tlsCapable', e.target.checked)} />
          Native TLS migration capable
        </label>
      </div>
      <div className="flex gap-2">
        <Button type="submit" variant="primary" disabled={save.isPending}>
          {save.isPending ? 'Saving…' : hostId ? 'Save host' : 'Add host'}
        </Button>
        {onDone && hostId ? (
          <Button variant="ghost" onClick={onDone}>
            Cancel
          </Button>
        ) : null}
      </div>
    </form>
  );
}
