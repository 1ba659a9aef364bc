'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { toast } from 'sonner';
import { plural } from '@/server/plural';
import { useTRPC } from '@/trpc/client';
import { toFieldErrors } from '../../_lib/trpc-errors';
import { Button, ErrorBox } from '../../_components/ui';
import { refreshAfterChange } from '@/trpc/query-client';

const EXAMPLE = `uri_aliases = [
  "hv1=qemu+ssh://root@hv1.example.com/system",
  "hv2=qemu+ssh://root@hv2.example.com/system",
]
uri_default = "qemu:///system"`;

export function AliasImport() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [text, setText] = useState('');
  const aliases = useQuery(trpc.host.aliases.queryOptions());
  const importMutation = useMutation(
    trpc.host.importAliases.mutationOptions({
      onSuccess: async (result) => {
        toast.success(`Imported ${plural(result.imported.length, 'alias', 'aliases')}`);
        setText('');
        await refreshAfterChange(queryClient, [trpc.host.aliases.queryKey()]);
      },
    }),
  );
  const { fields, form } = toFieldErrors(importMutation.error);
  const problems = importMutation.data?.errors ?? [];

  return (
    <div className="space-y-3">
      <label htmlFor="libvirt-conf" className="block text-sm font-medium text-slate-700">
        Paste a libvirt.conf
      </label>
      <textarea
        id="libvirt-conf"
        value={text}
        onChange={(e) => setText(e.target.value)}
        rows={6}
        placeholder={EXAMPLE}
        className="block w-full rounded-md border border-slate-300 p-2 font-mono text-xs"
      />
      {fields.text || form ? <ErrorBox title={fields.text ?? form ?? ''} /> : null}
      {problems.length > 0 ? (
        <ErrorBox title="Some lines were not imported">
          <ul>
            {problems.map((problem) => (
              <li key={`${problem.line}-${problem.message}`}>
                Line {problem.line}: {problem.message}
              </li>
            ))}
          </ul>
        </ErrorBox>
      ) : null}
      <Button
        variant="primary"
        onClick={() => importMutation.mutate({ text })}
        disabled={!text.trim() || importMutation.isPending}
      >
        Import aliases
      </Button>
      {aliases.data && aliases.data.aliases.length > 0 ? (
        <table className="mt-2 w-full text-sm" aria-label="Imported aliases">
          <thead>
            <tr className="text-left text-slate-500">
              <th className="py-1 font-medium">Alias</th>
              <th className="py-1 font-medium">URI</th>
            </tr>
          </thead>
          <tbody>
            {aliases.data.aliases.map((alias) => (
              <tr key={alias.name} className="border-t border-slate-100">
                <td className="py-1 font-mono">{alias.name}</td>
                <td className="py-1 font-mono text-xs text-slate-600">{alias.displayUri}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {aliases.data?.uriDefault ? (
        <p className="text-xs text-slate-500">uri_default: {aliases.data.uriDefault}</p>
      ) : null}
    </div>
  );
}
