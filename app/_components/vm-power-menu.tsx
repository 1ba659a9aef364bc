'use client';

import * as Dialog from '@radix-ui/react-dialog';
import { useQuery, useQueryClient, type MutationOptions, type QueryClient } from '@tanstack/react-query';
import type { inferRouterOutputs } from '@trpc/server';
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
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
const NO_ROWS: readonly PowerRow[] = [];

/** What one card's buttons show while an action is on its way, or after it failed. */
type CardUi = { sending: PowerAction | null; error: string | null };
const IDLE: CardUi = { sending: null, error: null };

type PowerShared = {
  isOperator: boolean;
  open: readonly PowerRow[];
  /** Per card (`${hostId}\n${vmUuid}`), only for cards with something to show. */
  ui: ReadonlyMap<string, CardUi>;
  choose: (target: VmPowerTarget, action: PowerAction) => void;
  run: (target: VmPowerTarget, action: PowerAction) => void;
  dismiss: (target: VmPowerTarget, id: string) => void;
};
const PowerContext = createContext<PowerShared | null>(null);

function messageOf(failure: unknown): string {
  return failure instanceof Error ? failure.message : String(failure);
}

function cardKey(target: VmPowerTarget): string {
  return `${target.host.id}\n${target.vm.uuid}`;
}

/**
 * The power actions of every card on the page, kept here once instead of in each card: whether the user is an
 * operator, the open shutdowns (one poll for the page), what each card is sending or failed with, and the one
 * confirmation dialog. A card's menu is then a plain render of buttons (no hooks besides this context), so a
 * filter that brings 30 new cards into view mounts no queries, state or effects for them.
 */
export function PowerMenuProvider({ children }: { children: ReactNode }) {
  const isOperator = useIsOperator();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const open = useQuery({ ...trpc.power.open.queryOptions(), enabled: isOperator });
  const [ui, setUi] = useState<ReadonlyMap<string, CardUi>>(() => new Map());
  const [confirming, setConfirming] = useState<{ target: VmPowerTarget; action: PowerAction } | null>(null);

  // The open shutdowns: a tick every second asks again only when it is due (a pending shutdown: every second;
  // otherwise now and then, for another person's actions), so a shutdown begun just now is followed at once.
  const openKey = useMemo(() => trpc.power.open.queryKey(), [trpc]);
  useEffect(() => {
    if (!isOperator) return;
    const timer = setInterval(() => {
      const state = queryClient.getQueryState<PowerRow[]>(openKey);
      if (!state || state.fetchStatus === 'fetching') return;
      const isPending = state.data?.some((row) => row.state === 'pending') ?? false;
      if (isPending || Date.now() - state.dataUpdatedAt >= IDLE_POLL_MS)
        void queryClient.invalidateQueries({ queryKey: openKey });
    }, PENDING_POLL_MS);
    return () => clearInterval(timer);
  }, [isOperator, queryClient, openKey]);

  const refreshCards = useCallback(
    () =>
      Promise.all([
        queryClient.invalidateQueries({ queryKey: trpc.fleet.pathKey() }),
        queryClient.invalidateQueries({ queryKey: openKey }),
      ]),
    [queryClient, trpc, openKey],
  );

  // When a shutdown ends (off, or ignored), the cards' states are read again.
  const rows = open.data ?? NO_ROWS;
  const pendingBefore = useRef<ReadonlySet<string>>(new Set());
  useEffect(() => {
    const pending = new Set(rows.filter((row) => row.state === 'pending').map((row) => row.id));
    const hasEnded = [...pendingBefore.current].some((id) => !pending.has(id));
    pendingBefore.current = pending;
    if (hasEnded) void refreshCards();
  }, [rows, refreshCards]);

  const setCard = useCallback((key: string, next: CardUi) => {
    setUi((current) => {
      const copy = new Map(current);
      if (next.sending === null && next.error === null) copy.delete(key);
      else copy.set(key, next);
      return copy;
    });
  }, []);

  const run = useCallback(
    (target: VmPowerTarget, action: PowerAction) => {
      const key = cardKey(target);
      const { host, vm } = target;
      setCard(key, { sending: action, error: null });
      void (async () => {
        let error: string | null = null;
        try {
          const result = await mutate(queryClient, trpc.power.act.mutationOptions(), {
            hostId: host.id,
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
                snapshot.host.id !== host.id
                  ? snapshot
                  : {
                      ...snapshot,
                      vms: snapshot.vms.map((row) => (row.uuid === vm.uuid ? { ...row, state: vmState } : row)),
                    },
              ),
            );
          }
        } catch (failure) {
          error = messageOf(failure);
        }
        setCard(key, { sending: null, error });
        await refreshCards();
      })();
    },
    [queryClient, trpc, setCard, refreshCards],
  );

  const choose = useCallback(
    (target: VmPowerTarget, action: PowerAction) =>
      isDestructive(action) ? setConfirming({ target, action }) : run(target, action),
    [run],
  );

  const dismiss = useCallback(
    (target: VmPowerTarget, id: string) => {
      void (async () => {
        try {
          await mutate(queryClient, trpc.power.dismiss.mutationOptions(), { id });
        } catch (failure) {
          setCard(cardKey(target), { sending: null, error: messageOf(failure) });
        }
        await queryClient.invalidateQueries({ queryKey: openKey });
      })();
    },
    [queryClient, trpc, openKey, setCard],
  );

  const value = useMemo(
    () => ({ isOperator, open: rows, ui, choose, run, dismiss }),
    [isOperator, rows, ui, choose, run, dismiss],
  );
  return (
    <PowerContext.Provider value={value}>
      {children}
      {confirming ? (
        <ConfirmPower
          action={confirming.action}
          vmName={confirming.target.vm.name}
          hostAlias={confirming.target.host.alias}
          onCancel={() => setConfirming(null)}
          onConfirm={() => {
            setConfirming(null);
            run(confirming.target, confirming.action);
          }}
        />
      ) : null}
    </PowerContext.Provider>
  );
}

/**
 * Mutations are built when clicked, not observed per card (no observer for each of thousands of cards); they go
 * through the mutation cache, so a session that ended still sends the page to sign-in.
 */
function mutate<TData, TError, TVariables>(
  queryClient: QueryClient,
  options: MutationOptions<TData, TError, TVariables>,
  variables: TVariables,
): Promise<TData> {
  return queryClient.getMutationCache().build(queryClient, options).execute(variables);
}

/**
 * The power actions of one VM card: only those that apply to the VM's state, for operators (viewers see none;
 * the server checks again). Shut down, reboot and force off ask first. A shutdown shows "shutting down…" until the
 * server, which follows it in the database, reports the guest off, or that it ignored ACPI with a force-off offer.
 * A plain render of what the PowerMenuProvider above it holds for this card.
 */
export function VmPowerMenu(target: VmPowerTarget) {
  const shared = useContext(PowerContext);
  if (!shared) throw new Error('VmPowerMenu needs a PowerMenuProvider above it');
  if (!shared.isOperator) return null;
  const { vm } = target;
  const { sending, error } = shared.ui.get(cardKey(target)) ?? IDLE;
  let mine: PowerRow | null = null;
  for (const row of shared.open) if (row.vmUuid === vm.uuid && row.hostId === target.host.id) mine = row;
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
        <OutcomeNote
          row={mine}
          canForce={mine.state === 'timed-out' && actions.includes('poweroff')}
          isSending={sending !== null}
          onForce={() => shared.run(target, 'poweroff')}
          onDismiss={(id) => shared.dismiss(target, id)}
        />
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
              onClick={() => shared.choose(target, action)}
              aria-label={`${ACTION_LABELS[action]} ${vm.name}`}
            >
              {sending === action ? `${ACTION_LABELS[action]}…` : ACTION_LABELS[action]}
            </Button>
          ))}
      </div>
    </div>
  );
}

/** How a shutdown ended when it did not just turn the guest off (ignored ACPI: a force-off offer), until dismissed. */
function OutcomeNote(props: {
  row: PowerRow;
  canForce: boolean;
  isSending: boolean;
  onForce: () => void;
  onDismiss: (id: string) => void;
}) {
  return (
    <div
      role="alert"
      data-power-status={props.row.state}
      className="rounded-md border border-amber-200 bg-amber-50 p-2 text-xs text-amber-900"
    >
      <p>{props.row.message}</p>
      <div className="mt-1.5 flex gap-2">
        {props.canForce ? (
          <Button variant="danger" disabled={props.isSending} onClick={props.onForce}>
            Force off now
          </Button>
        ) : null}
        <Button variant="ghost" onClick={() => props.onDismiss(props.row.id)}>
          Dismiss
        </Button>
      </div>
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
