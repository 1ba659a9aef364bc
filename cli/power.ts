import { createInterface } from 'node:readline/promises';
import { ACTION_LABELS, ACTION_WORDS, isDestructive, type PowerAction } from '../server/power/rules';
import type { Api } from './api';
import type { Command, CommandContext } from './commands';
import { CliError, EXIT } from './errors';
import { json, printable } from './output';

/**
 * `ferry start|shutdown|reboot|poweroff|suspend|resume <vm>`: one command per action, the words an admin already
 * types for virsh (poweroff is virsh's destroy, named for what it does). The VM is found by name in the live
 * inventory (`--host` when two hosts have one of that name) and acted on by host and UUID, through the same
 * procedure as the card's buttons. Shut down, reboot and power off ask first on a terminal; a script says --yes.
 */

const POLL_MS = 1_000;

/** `transient`: the VM had no persistent definition (a server before it was recorded leaves it out). */
type PowerView = { id: string; state: string; message: string | null; transient?: boolean };

function write(ctx: CommandContext, text: string) {
  ctx.io.out.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** A y/N question on the terminal (stderr, so stdout stays clean for a pipe). Only called with a TTY stdin. */
export async function ask(ctx: CommandContext, question: string): Promise<boolean> {
  const prompt = createInterface({ input: ctx.io.stdin, output: ctx.io.err, terminal: false });
  try {
    const answer = await prompt.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    prompt.close();
  }
}

async function findVm(api: Api, name: string, hostAlias: string | undefined) {
  const found = await api.trpc.power.locate.query({ vmName: name, hostAlias });
  if (hostAlias !== undefined && found.hostCount === 0) {
    throw new CliError(EXIT.failed, `No host "${printable(hostAlias)}" is registered (ferry hosts lists them).`);
  }
  if (found.matches.length === 0) {
    const where = hostAlias === undefined ? 'No host has' : `${printable(hostAlias)} has no`;
    const silent = found.unreachable.length ? ` (not answering: ${found.unreachable.join(', ')})` : '';
    throw new CliError(EXIT.failed, `${where} VM named "${printable(name)}"${silent}.`);
  }
  if (found.matches.length > 1) {
    throw new CliError(
      EXIT.usage,
      `"${printable(name)}" exists on ${found.matches.map((m) => m.hostAlias).join(' and ')}: say which with --host.`,
    );
  }
  return found.matches[0] as (typeof found.matches)[number];
}

async function waitForShutdown(api: Api, id: string): Promise<PowerView> {
  for (;;) {
    const row = await api.trpc.power.get.query({ id });
    if (row.state !== 'pending') return row;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function powerCommand(action: PowerAction): Command {
  const destructive = isDestructive(action);
  const label = ACTION_LABELS[action];
  const help = [
    '  --host <alias>   the host that has the VM (needed when two hosts have one of that name)',
    ...(destructive ? ['  --yes            do not ask first (needed without a terminal)'] : []),
    ...(action === 'shutdown'
      ? [
          '  --force          force the VM off if the guest ignores the ACPI request until the timeout',
          '  --detach         send the request and return without waiting for the guest',
        ]
      : []),
  ];
  return {
    summary: `${ACTION_WORDS[action]} a VM${action === 'poweroff' ? ' (pull the plug: virsh destroy)' : ''}${
      action === 'shutdown' ? ' (ACPI; waits, then offers a force off)' : ''
    }`,
    usage: `${action} <vm> [--host <alias>]${destructive ? ' [--yes]' : ''}${action === 'shutdown' ? ' [--force] [--detach]' : ''}`,
    help,
    options: {
      host: { type: 'string' },
      ...(destructive ? { yes: { type: 'boolean', short: 'y' } } : {}),
      ...(action === 'shutdown' ? { force: { type: 'boolean' }, detach: { type: 'boolean' } } : {}),
    },
    positionals: { min: 1, max: 1 },
    async run(ctx) {
      const name = ctx.positionals[0] ?? '';
      const hostAlias = typeof ctx.values.host === 'string' ? ctx.values.host : undefined;
      const isTerminal = ctx.io.stdin.isTTY === true && !ctx.isJson;
      if (destructive && ctx.values.yes !== true && !isTerminal) {
        throw new CliError(EXIT.usage, `${action} asks first; without a terminal pass --yes.`);
      }
      const api = await ctx.api();
      const vm = await findVm(api, name, hostAlias);
      const host = { id: vm.hostId, alias: vm.hostAlias };
      const where = `${printable(vm.vmName)} on ${host.alias}`;
      if (destructive && ctx.values.yes !== true && !(await ask(ctx, `${label} ${where}?`))) {
        ctx.io.err.write('Nothing was done.\n');
        return EXIT.failed;
      }

      const act = (next: PowerAction) =>
        api.trpc.power.act.mutate({ hostId: host.id, vmName: vm.vmName, vmUuid: vm.vmUuid, action: next });
      const report = (result: Record<string, unknown>, code: number) => {
        if (ctx.isJson) write(ctx, json({ vm: vm.vmName, host: host.alias, action, ...result }));
        return code;
      };

      const result = await act(action);
      if (result.state !== 'pending') {
        if (!ctx.isJson) write(ctx, printable(result.message));
        return report(
          { state: result.state, vmState: result.vmState, message: result.message, id: result.id },
          EXIT.ok,
        );
      }
      if (ctx.values.detach === true) {
        if (!ctx.isJson) write(ctx, `Shutdown of ${where} requested (${result.id}); the guest decides when.`);
        return report({ state: 'pending', id: result.id }, EXIT.ok);
      }
      if (!ctx.isJson) write(ctx, `Shutting down ${where} (ACPI)…`);
      const settled = await waitForShutdown(api, result.id);
      if (settled.state === 'succeeded') {
        if (!ctx.isJson) write(ctx, printable(settled.message ?? 'Shut down.'));
        // A transient VM is gone once it shut down: no state to report.
        const vmState = settled.transient === true ? null : 'shutoff';
        return report({ state: 'succeeded', vmState, message: settled.message, id: result.id }, EXIT.ok);
      }
      const message = settled.message ?? `The shutdown ended ${settled.state}.`;
      if (settled.state === 'timed-out') {
        const force = ctx.values.force === true || (isTerminal && (await ask(ctx, printable(message))));
        if (force) {
          const forced = await act('poweroff');
          if (!ctx.isJson) write(ctx, printable(forced.message));
          return report(
            { state: 'forced-off', vmState: forced.vmState, message: `${message} ${forced.message}`, id: result.id },
            EXIT.ok,
          );
        }
        if (!ctx.isJson) {
          ctx.io.err.write(
            `${printable(message)}\nForce it off with: ferry poweroff ${printable(vm.vmName)} --host ${host.alias} --yes\n`,
          );
        }
        return report({ state: 'timed-out', message, id: result.id }, EXIT.failed);
      }
      if (!ctx.isJson) ctx.io.err.write(`${printable(message)}\n`);
      return report({ state: settled.state, message, id: result.id }, EXIT.failed);
    },
  };
}

export const POWER_COMMANDS: Record<PowerAction, Command> = {
  start: powerCommand('start'),
  shutdown: powerCommand('shutdown'),
  reboot: powerCommand('reboot'),
  poweroff: powerCommand('poweroff'),
  suspend: powerCommand('suspend'),
  resume: powerCommand('resume'),
};
