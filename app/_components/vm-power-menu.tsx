'use client';

import * as Dialog from '@radix-ui/react-dialog';
import { useQuery, useQueryClient, type MutationOptions, type QueryClient, type QueryKey } from '@tanstack/react-query';
import type { inferRouterOutputs } from '@trpc/server';
import { createContext, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { toast } from 'sonner';
import type { AppRouter } from '@/server/api/root';
import type { VmState } from '@/server/libvirt/parsers/vm-state';
import { ACTION_LABELS, allowedActions, isDestructive, type PowerAction } from '@/server/power/rules';
import { useTRPC } from '@/trpc/client';
import { useIsOperator } from './remove-leftover-button';
import { Button } from './ui';

/** While a shutdown is pending the cards ask every second; otherwise now and then, for another person's actions. */
const PENDING_POLL_MS = 1_000;
const IDLE_POLL_MS = 15_000;

/**
 * One timer for the whole page, however many cards share the query (a per-card refetchInterval would be one
 * timer per card: thousands on a big fleet). The first card to mount starts it, the last to unmount stops it.
 */
let pollMembers = 0;
let pollTimer: ReturnType<typeof setInterval> | null = null;

function joinPowerPoll(queryClient: QueryClient, queryKey: QueryKey): () => void {
  pollMembers += 1;
  if (pollMembers === 1) {
    // A tick every second asks again only when it is due, so a shutdown begun just now is followed at once.
    pollTimer = setInterval(() => {
      const state = queryClient.getQueryState<{ state: string }[]>(queryKey);
      if (!state || state.fetchStatus === 'fetching') return;
      const isPending = state.data?.some((row) => row.state === 'pending') ?? false;
      if (isPending || Date.now() - state.dataUpdatedAt >= IDLE_POLL_MS)
        void queryClient.invalidateQueries({ queryKey });
    }, PENDING_POLL_MS);
  }
  return () => {
    pollMembers -= 1;
    if (pollMembers === 0 && pollTimer) {
      clearInterval(pollTimer);
      pollTimer = null;
    }
  };
}

const CONFIRM_TEXT: Record<PowerAction, string> = {
  start: '',
  suspend: '',
  resume: '',
  shutdown:
    'Ferry asks the guest to shut down (ACPI). A guest that ignores it stays up; Ferry then offers a force off.',
  reboot: 'Ferry asks the guest to reboot (ACPI). Its programs are stopped and started again.',
  poweroff: 'This pulls the plug: the guest gets no chance to save anything. Unsaved data is lost.',
};

export type VmPowerTarget = { host: { id: string; alias: string }; vm: { name: string; uuid: string; state: VmState } };

type PowerRow = inferRouterOutputs<AppRouter>['power']['open'][number];
type PowerShared = { isOperator: boolean; open: readonly PowerRow[] };
const NO_ROWS: readonly PowerRow[] = [];
const PowerContext = createContext<PowerShared | null>(null);

/**
 * What every power menu on the page shares, read once for the page instead of once per card (a filter that brings
 * 30 new cards into view then mounts no queries): whether the user is an operator, and the open shutdowns.
 */
export function PowerMenuProvider({ children }: { children: ReactNode }) {
  const isOperator = useIsOperator();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const open = useQuery({ ...trpc.power.open.queryOptions(), enabled: isOperator });
  const openKey = useMemo(() => trpc.power.open.queryKey(), [trpc]);
  useEffect(() => (isOperator ? joinPowerPoll(queryClient, openKey) : undefined), [isOperator, queryClient, openKey]);
  const value = useMemo(() => ({ isOperator, open: open.data ?? NO_ROWS }), [isOperator, open.data]);
  return <PowerContext.Provider value={value}>{children}</PowerContext.Provider>;
}

/**
 * The power actions of one VM card: only those that apply to the VM's state, for operators (viewers see none;
 * the server checks again). Shut down, reboot and force off ask first. A shutdown shows "shutting down…" until the
 * server, which follows it in the database, reports the guest off, or that it ignored ACPI with a force-off offer.
 * Needs a PowerMenuProvider above it.
 */
export function VmPowerMenu(props: VmPowerTarget) {
  const shared = useContext(PowerContext);
  if (!shared) throw new Error('VmPowerMenu needs a PowerMenuProvider above it');
  if (!shared.isOperator) return null;
  return <OperatorPowerMenu {...props} open={shared.open} />;
}

function OperatorPowerMenu({ host, vm, open }: VmPowerTarget & { open: readonly PowerRow[] }) {
  const { id: hostId, alias: hostAlias } = host;
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState<PowerAction | null>(null);
  const [error, setError] = useState<string | null>(null);
  /** The action on its way to the server (its button says "…", all are disabled). */
  const [sending, setSending] = useState<PowerAction | null>(null);
  const mine = open.filter((row) => row.vmUuid === vm.uuid && row.hostId === hostId).at(-1) ?? null;

  const refreshCards = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: trpc.fleet.pathKey() }),
      queryClient.invalidateQueries({ queryKey: trpc.power.open.queryKey() }),
    ]);

  // When this VM's shutdown ends (off, or ignored), its card's state is read again.
  const lastState = useRef(mine?.state);
  useEffect(() => {
    if (lastState.current === 'pending' && mine?.state !== 'pending') void refreshCards();
    lastState.current = mine?.state;
  });

  // Mutations are built when clicked, not observed per card (no observer for each of thousands of cards); they go
  // through the mutation cache, so a session that ended still sends the page to sign-in.
  const mutate = <TData, TError, TVariables>(
    options: MutationOptions<TData, TError, TVariables>,
    variables: TVariables,
  ): Promise<TData> => queryClient.getMutationCache().build(queryClient, options).execute(variables);

  const run = async (action: PowerAction) => {
    setError(null);
    setSending(action);
    try {
      const result = await mutate(trpc.power.act.mutationOptions(), {
        hostId,
        vmName: vm.name,
        vmUuid: vm.uuid,
        action,
      });
      if (result.state !== 'pending') toast.success(result.message);
      // The state the host reported right after the action, on the card at once; the refetch then confirms it.
      const vmState = result.vmState;
      if (vmState) {
        queryClient.setQueryData(trpc.fleet.list.queryKey(), (fleet) =>
          fleet?.map((snapshot) =>
            snapshot.host.id !== hostId
              ? snapshot
              : {
                  ...snapshot,
                  vms: snapshot.vms.map((row) => (row.uuid === vm.uuid ? { ...row, state: vmState } : row)),
                },
          ),
        );
      }
      await refreshCards();
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
      await refreshCards();
    } finally {
      setSending(null);
    }
  };
  const dismiss = async (id: string) => {
    try {
      await mutate(trpc.power.dismiss.mutationOptions(), { id });
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    }
    await queryClient.invalidateQueries({ queryKey: trpc.power.open.queryKey() });
  };

  const choose = (action: PowerAction) => (isDestructive(action) ? setConfirming(action) : void run(action));
  const isPending = mine?.state === 'pending';
  const actions = allowedActions(vm.state);

  return (
    <div className="mt-3 space-y-2" data-power-for={vm.name}>
      {isPending ? (
        <p role="status" data-power-status="pending" className="text-xs font-medium text-amber-800">
          Shutting down…
        </p>
      ) : null}
      {mine && !isPending ? (
        <div
          role="alert"
          data-power-status={mine.state}
          className="rounded-md border border-amber-200 bg-amber-50 p-2 text-xs text-amber-900"
        >
          <p>{mine.message}</p>
          <div className="mt-1.5 flex gap-2">
            {mine.state === 'timed-out' && actions.includes('poweroff') ? (
              <Button variant="danger" disabled={sending !== null} onClick={() => void run('poweroff')}>
                Force off now
              </Button>
            ) : null}
            <Button variant="ghost" onClick={() => void dismiss(mine.id)}>
              Dismiss
            </Button>
          </div>
        </div>
      ) : null}
      {error ? (
        <p role="alert" data-power-error className="text-xs text-rose-700">
          {error}
        </p>
      ) : null}
      <div role="group" aria-label={`Power actions for ${vm.name}`} className="flex flex-wrap gap-1.5">
        {actions
          .filter((action) => !(isPending && action !== 'poweroff'))
          .map((action) => (
            <Button
              key={action}
              variant={action === 'poweroff' ? 'danger' : 'secondary'}
              className="px-2 py-1 text-xs"
              disabled={sending !== null}
              onClick={() => choose(action)}
              aria-label={`${ACTION_LABELS[action]} ${vm.name}`}
            >
              {sending === action ? `${ACTION_LABELS[action]}…` : ACTION_LABELS[action]}
            </Button>
          ))}
      </div>
      {confirming ? (
        <ConfirmPower
          action={confirming}
          vmName={vm.name}
          hostAlias={hostAlias}
          onCancel={() => setConfirming(null)}
          onConfirm={() => {
            setConfirming(null);
            void run(confirming);
          }}
        />
      ) : null}
    </div>
  );
}

function ConfirmPower(props: {
  action: PowerAction;
  vmName: string;
  hostAlias: string;
  onCancel: () => void;
  onConfirm: () => void;
}) {
  const label = ACTION_LABELS[props.action];
  return (
    <Dialog.Root open onOpenChange={(isOpen) => (isOpen ? undefined : props.onCancel())}>
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 bg-slate-900/40" />
        <Dialog.Content className="fixed left-1/2 top-1/2 w-[min(28rem,95vw)] -translate-x-1/2 -translate-y-1/2 rounded-lg bg-white p-5 shadow-xl">
          <Dialog.Title className="text-lg font-semibold">
            {label} {props.vmName} on {props.hostAlias}?
          </Dialog.Title>
          <Dialog.Description className="mt-2 text-sm text-slate-600">{CONFIRM_TEXT[props.action]}</Dialog.Description>
          <div className="mt-4 flex justify-end gap-2">
            <Button onClick={props.onCancel}>Cancel</Button>
            <Button variant={props.action === 'poweroff' ? 'danger' : 'primary'} onClick={props.onConfirm}>
              {label}
            </Button>
          </div>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
