import { toCliError, type Api } from './api';
import type { Command, CommandContext, Values } from './commands';
import { CliError, EXIT } from './errors';
import {
  createRowReporter,
  ENDED_STATES,
  outcome,
  planText,
  statusText,
  type EvacuationPlan,
  type EvacuationView,
} from './evacuation-format';
import { buildOverrides, parseMove, type HostRef, type Override } from './evacuation-overrides';
import { json, printable, table } from './output';
import { ask } from './power';
import { EXIT_INTERRUPTED } from './watch';

/**
 * `ferry evacuate <host>`, `ferry bring-back <host>`, `ferry evacuation <id>` and `ferry maintenance end|status
 * <host>`: the host page's evacuation box from a shell, through the same procedures (the same plan, checks and
 * audit rows). The plan is printed first; starting asks on a terminal, a script says --yes. Following polls the
 * evacuation every second like its page does and prints a line whenever a VM's row changes state.
 */

const POLL_MS = 1_000;
/** Polls in a row that may fail to reach Ferry (a restart, a blip) before following gives up: about 30 s. */
const MAX_MISSED_POLLS = 30;

type Kind = 'evacuate' | 'bring-back';

function write(ctx: CommandContext, text: string) {
  ctx.io.out.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** A repeatable string option's values (parseArgs gives an array once `multiple` is set). */
function strings(values: Values, name: string): string[] {
  const value = values[name];
  if (Array.isArray(value)) return value.filter((entry): entry is string => typeof entry === 'string');
  return typeof value === 'string' ? [value] : [];
}

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;

async function resolveHost(api: Api, alias: string): Promise<{ host: HostRef; hosts: HostRef[] }> {
  const hosts = await api.trpc.host.list.query();
  const host = hosts.find((candidate) => candidate.alias === alias);
  if (!host) throw new CliError(EXIT.failed, `No host "${printable(alias)}" is registered (ferry hosts lists them).`);
  return { host, hosts };
}

/**
 * Polls `evacuation.get` until the evacuation has ended and returns its last view, or null after Ctrl-C (the
 * evacuation carries on in Ferry either way: following is only reading).
 */
async function follow(ctx: CommandContext, api: Api, id: string): Promise<EvacuationView | null> {
  const report = createRowReporter();
  let isInterrupted = false;
  let wake: (() => void) | null = null;
  const onInterrupt = () => {
    isInterrupted = true;
    wake?.();
  };
  process.on('SIGINT', onInterrupt);
  try {
    let missed = 0;
    for (;;) {
      try {
        const view = await api.trpc.evacuation.get.query({ id });
        missed = 0;
        if (!ctx.isJson) for (const line of report(view, new Date())) write(ctx, line);
        if (ENDED_STATES.includes(view.state)) return view;
      } catch (error) {
        const described = toCliError(error);
        const isBlip = described instanceof CliError && described.exitCode === EXIT.unreachable;
        if (!isBlip || ++missed > MAX_MISSED_POLLS) {
          ctx.io.err.write(
            `Stopped following; evacuation ${id} carries on in Ferry (ferry evacuation ${id} --follow).\n`,
          );
          throw described;
        }
      }
      if (!isInterrupted) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, POLL_MS);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      if (isInterrupted) {
        ctx.io.err.write(
          `\nStopped following; evacuation ${id} carries on (ferry evacuation ${id} --follow, or --cancel).\n`,
        );
        return null;
      }
    }
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

/** The closing summary of a followed evacuation, and its exit code (`goal: 'cancelled'` for `--cancel --follow`). */
function finish(options: {
  ctx: CommandContext;
  view: EvacuationView;
  jsonExtra: Record<string, unknown>;
  goal?: 'moved' | 'cancelled';
}): number {
  const { ctx, view } = options;
  const result = outcome(view);
  const code = options.goal === 'cancelled' ? (view.state === 'cancelled' ? EXIT.ok : EXIT.failed) : result.code;
  if (ctx.isJson) {
    write(ctx, json({ ...options.jsonExtra, evacuation: view }));
    return code;
  }
  write(ctx, result.summary);
  for (const line of result.staying) write(ctx, `  ${line}`);
  for (const line of result.failures) ctx.io.err.write(`${line}\n`);
  return code;
}

function planCommand(kind: Kind): Command {
  const isEvacuate = kind === 'evacuate';
  const noun = isEvacuate ? 'evacuation' : 'bring-back';
  return {
    summary: isEvacuate
      ? 'plan draining a host, then put it in maintenance and move its VMs off'
      : 'plan moving an evacuated host’s VMs back to it, then move them',
    usage: `${kind} <host> [--plan] [--exclude <vm>]…${isEvacuate ? ' [--to <vm>=<host>]…' : ''} [--yes] [--detach]`,
    help: [
      '  --plan, --dry-run   print the plan and stop: nothing changes',
      `  --exclude <vm>      leave this VM where it is (repeatable)`,
      ...(isEvacuate ? ['  --to <vm>=<host>    send this VM to that host instead of Ferry’s pick (repeatable)'] : []),
      '  -y, --yes           do not ask before starting (needed without a terminal)',
      `  --detach            start it, print its id and return (follow it with ferry evacuation <id> --follow)`,
    ],
    options: {
      plan: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      exclude: { type: 'string', multiple: true },
      ...(isEvacuate ? { to: { type: 'string', multiple: true } } : {}),
      yes: { type: 'boolean', short: 'y' },
      detach: { type: 'boolean' },
    },
    positionals: { min: 1, max: 1 },
    async run(ctx) {
      const alias = ctx.positionals[0] ?? '';
      const isPlanOnly = ctx.values.plan === true || ctx.values['dry-run'] === true;
      const exclude = strings(ctx.values, 'exclude');
      const moves = strings(ctx.values, 'to').map(parseMove);
      const isTerminal = ctx.io.stdin.isTTY === true && !ctx.isJson;
      if (!isPlanOnly && ctx.values.yes !== true && !isTerminal) {
        throw new CliError(
          EXIT.usage,
          `${kind} asks first; without a terminal pass --yes (or --plan for the plan only).`,
        );
      }

      const api = await ctx.api();
      const { host, hosts } = await resolveHost(api, alias);
      const getPlan = (overrides: Override[]): Promise<EvacuationPlan> =>
        isEvacuate
          ? api.trpc.evacuation.plan.query({ hostId: host.id, overrides })
          : api.trpc.evacuation.planBringBack.query({ hostId: host.id, excluded: overrides.map((o) => o.vmUuid) });
      // The names are looked up on the plan as Ferry sees it now; the plan with the changes is computed again by
      // the server, which says for each pinned VM whether its host can take it.
      let plan = await getPlan([]);
      let overrides: Override[] = [];
      if (exclude.length > 0 || moves.length > 0) {
        overrides = buildOverrides({ items: plan.items, hosts, source: host, exclude, moves });
        plan = await getPlan(overrides);
      }
      if (!ctx.isJson) write(ctx, planText(plan));
      const movable = plan.items.filter((item) => item.kind === 'move').length;
      if (isPlanOnly || movable === 0) {
        if (ctx.isJson) write(ctx, json({ plan, started: false }));
        else if (!isPlanOnly && plan.items.length > 0) ctx.io.err.write('Nothing was started: no VM can move.\n');
        return isPlanOnly ? EXIT.ok : EXIT.failed;
      }

      const where = printable(host.alias);
      const question = isEvacuate
        ? `Put ${where} in maintenance and move ${plural(movable, 'VM')} off it?`
        : `Move ${plural(movable, 'VM')} back to ${where}?`;
      if (ctx.values.yes !== true && !(await ask(ctx, question))) {
        ctx.io.err.write('Nothing was done.\n');
        return EXIT.failed;
      }
      const { id } = isEvacuate
        ? await api.trpc.evacuation.start.mutate({ hostId: host.id, overrides })
        : await api.trpc.evacuation.startBringBack.mutate({
            hostId: host.id,
            excluded: overrides.map((o) => o.vmUuid),
          });
      if (ctx.values.detach === true) {
        write(
          ctx,
          ctx.isJson
            ? json({ plan, started: true, id })
            : `Started ${noun} ${id}; follow it with: ferry evacuation ${id} --follow`,
        );
        return EXIT.ok;
      }
      if (!ctx.isJson) write(ctx, `Started ${noun} ${id} (Ctrl-C stops following; it carries on).`);
      const view = await follow(ctx, api, id);
      if (!view) return EXIT_INTERRUPTED;
      return finish({ ctx, view, jsonExtra: { plan, started: true, id } });
    },
  };
}

const ACTIONS = ['pause', 'resume', 'cancel'] as const;

const evacuation: Command = {
  summary: 'show, follow, pause, resume or cancel an evacuation or bring-back',
  usage: 'evacuation <id> [--follow] [--pause | --resume | --cancel]',
  help: [
    '  --follow   print a line whenever a VM’s row changes, until it ends (exit 0: every VM moved)',
    '  --pause    submit no more migrations (queued and running ones go on)',
    '  --resume   submit again after a pause',
    '  --cancel   drop what has not been submitted and cancel the running migrations',
  ],
  options: {
    follow: { type: 'boolean' },
    pause: { type: 'boolean' },
    resume: { type: 'boolean' },
    cancel: { type: 'boolean' },
  },
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const id = ctx.positionals[0] ?? '';
    const actions = ACTIONS.filter((action) => ctx.values[action] === true);
    if (actions.length > 1) {
      throw new CliError(EXIT.usage, `Give one of --pause, --resume and --cancel, not ${actions.length}.`);
    }
    const action = actions[0];
    const isFollowing = ctx.values.follow === true;
    const api = await ctx.api();
    if (action !== undefined) {
      let result: { id: string; state: string };
      let sentence: string;
      switch (action) {
        case 'pause':
          result = await api.trpc.evacuation.pause.mutate({ id });
          sentence = `Paused evacuation ${id}: no more migrations are submitted; queued and running ones go on.`;
          break;
        case 'resume':
          result = await api.trpc.evacuation.resume.mutate({ id });
          sentence = `Resumed evacuation ${id}.`;
          break;
        case 'cancel':
          result = await api.trpc.evacuation.cancel.mutate({ id });
          sentence = `Cancel requested for evacuation ${id}: what was not submitted is dropped, running migrations are cancelled.`;
          break;
        default: {
          const exhaustive: never = action;
          throw new Error(`unknown action ${String(exhaustive)}`);
        }
      }
      if (!isFollowing) {
        write(ctx, ctx.isJson ? json(result) : sentence);
        return EXIT.ok;
      }
      if (!ctx.isJson) write(ctx, sentence);
    }
    if (isFollowing) {
      const view = await follow(ctx, api, id);
      if (!view) return EXIT_INTERRUPTED;
      return finish({ ctx, view, jsonExtra: { id }, goal: action === 'cancel' ? 'cancelled' : 'moved' });
    }
    const view = await api.trpc.evacuation.get.query({ id });
    write(ctx, ctx.isJson ? json(view) : statusText(view));
    return EXIT.ok;
  },
};

const maintenance: Command = {
  summary: 'a host’s maintenance: show it (with its latest evacuations) or end it',
  usage: 'maintenance status|end <host>',
  help: [
    '  status <host>   in maintenance or not, its latest evacuations, and how many VMs can be brought back',
    '  end <host>      end maintenance (refused while its evacuation runs); then: ferry bring-back <host>',
  ],
  options: {},
  positionals: { min: 2, max: 2 },
  async run(ctx) {
    const [verb, alias = ''] = ctx.positionals;
    if (verb !== 'status' && verb !== 'end') {
      throw new CliError(
        EXIT.usage,
        `maintenance takes status or end, then a host alias; "${printable(verb ?? '')}" is neither.`,
      );
    }
    const api = await ctx.api();
    const { host } = await resolveHost(api, alias);
    const where = printable(host.alias);
    const bringBack = (movedAway: number) =>
      `Its last evacuation moved ${plural(movedAway, 'VM')} away; bring them back with: ferry bring-back ${where}`;
    if (verb === 'end') {
      const result = await api.trpc.evacuation.endMaintenance.mutate({ hostId: host.id });
      if (ctx.isJson) write(ctx, json({ host: host.alias, inMaintenance: false, movedAway: result.movedAway }));
      else {
        write(ctx, `${where} is out of maintenance.`);
        if (result.movedAway > 0) write(ctx, bringBack(result.movedAway));
      }
      return EXIT.ok;
    }
    const summary = await api.trpc.evacuation.forHost.query({ hostId: host.id });
    if (ctx.isJson) {
      write(ctx, json({ host: host.alias, ...summary }));
      return EXIT.ok;
    }
    write(
      ctx,
      summary.inMaintenance
        ? `${where} is in maintenance${summary.maintenanceSince ? ` since ${summary.maintenanceSince.toISOString().replace('T', ' ').slice(0, 19)}` : ''}.`
        : `${where} is not in maintenance.`,
    );
    if (!summary.inMaintenance && summary.movedAway > 0) write(ctx, bringBack(summary.movedAway));
    if (summary.recent.length > 0) {
      write(
        ctx,
        table(
          ['STARTED', 'KIND', 'STATE', 'BY', 'ID'],
          summary.recent.map((row) => [
            row.createdAt.toISOString().replace('T', ' ').slice(0, 19),
            row.kind,
            row.state,
            row.actor,
            row.id,
          ]),
        ),
      );
    }
    return EXIT.ok;
  },
};

export const EVACUATION_COMMANDS: Record<string, Command> = {
  evacuate: planCommand('evacuate'),
  'bring-back': planCommand('bring-back'),
  evacuation,
  maintenance,
};
