'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { toast } from 'sonner';
import { hasRole, isRole } from '@/server/auth/roles';
import { useTRPC } from '@/trpc/client';
import { Button } from './ui';
import { refreshAfterChange } from '@/trpc/query-client';

/** Whether the signed-in person may remove leftovers (operators and admins); the server checks again. */
export function useIsOperator(): boolean {
  const trpc = useTRPC();
  const status = useQuery(trpc.account.status.queryOptions());
  const role = status.data?.signedIn?.role;
  return isRole(role) && hasRole(role, 'operator');
}

/**
 * One click removes a volume Ferry recorded as its own leftover. The server looks at the host first and refuses
 * (with the reason) a volume that changed or that a domain uses; the toast says which.
 */
export function RemoveLeftoverButton(props: { id: string; name: string; hostAlias: string; onRemoved?: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const remove = useMutation(
    trpc.volumes.removeLeftover.mutationOptions({
      onSuccess: async (removed) => {
        toast.success(
          removed.result === 'deleted'
            ? `Removed ${props.name} from ${removed.hostAlias}`
            : `${props.name} was already gone from ${removed.hostAlias}`,
        );
        await refreshAfterChange(queryClient, [trpc.volumes.pathKey()]);
        props.onRemoved?.();
      },
      onError: async (error) => {
        toast.error(error.message);
        await refreshAfterChange(queryClient, [trpc.volumes.pathKey()]);
      },
    }),
  );
  return (
    <Button
      variant="danger"
      disabled={remove.isPending}
      onClick={() => remove.mutate({ id: props.id })}
      aria-label={`Remove ${props.name} from ${props.hostAlias}`}
    >
      {remove.isPending ? 'Removing…' : 'Remove'}
    </Button>
  );
}

/**
 * Under the migrate dialog's checklist: one remove button per destination volume that blocks the migration and
 * that Ferry recorded as its own leftover. Volumes Ferry did not create get none (preflight only names them).
 */
export function PreflightLeftovers(props: {
  disks: readonly { path: string; leftover: { id: string; name: string; hostAlias: string } | null }[];
  onRemoved: () => void;
}) {
  const isOperator = useIsOperator();
  const leftovers = props.disks.flatMap((disk) => (disk.leftover ? [{ ...disk.leftover, path: disk.path }] : []));
  if (leftovers.length === 0 || !isOperator) return null;
  return (
    <ul
      aria-label="Leftover volumes in the way"
      className="space-y-1 rounded-md border border-amber-300 bg-amber-50 p-2"
    >
      {leftovers.map((leftover) => (
        <li key={leftover.id} data-leftover={leftover.name} className="flex items-center gap-2 text-sm text-amber-900">
          <span className="font-mono">{leftover.path}</span> on {leftover.hostAlias}, left by Ferry
          <span className="ml-auto">
            <RemoveLeftoverButton {...leftover} onRemoved={props.onRemoved} />
          </span>
        </li>
      ))}
    </ul>
  );
}
