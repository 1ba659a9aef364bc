import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { formatBytes, formatDuration } from '../app/_lib/format';
import { VM_STATES } from '../server/libvirt/parsers/vm-state';
import type { Api } from './api';
import { CliError, EXIT } from './errors';
import { EVACUATION_COMMANDS } from './evacuation';
import { json, printable, table } from './output';
import { POWER_COMMANDS } from './power';
import { parseSince } from './since';
import { watchMigration, type WatchIo } from './watch';

export type OptionSpec = { type: 'string' | 'boolean'; short?: string; multiple?: boolean };
export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

export type CommandContext = {
  values: Values;
  positionals: string[];
  isJson: boolean;
  io: WatchIo;
  /** Connects (learns the namespace, loads the key) on first use: `--help` and usage errors need neither. */
  api: () => Promise<Api>;
};

export type Command = {
  summary: string;
  /** The usage line after `ferry`, e.g. `vms [--host h] [--state s]`. */
  usage: string;
  /** Option lines for --help, already aligned. */
  help: string[];
  options: Record<string, OptionSpec>;
  positionals: { min: number; max: number };
  run: (ctx: CommandContext) => Promise<number>;
};

const str = (values: Values, name: string): string | undefined => {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
};

function positiveInt(text: string | undefined, flag: string, fallback: number, max: number): number {
  if (text === undefined) return fallback;
  if (!/^\d{1,9}$/.test(text) || Number(text) < 1 || Number(text) > max) {
    throw new CliError(EXIT.usage, `${flag} takes a whole number from 1 to ${max}; "${text}" is not one.`);
  }
  return Number(text);
}

function write(ctx: CommandContext, text: string) {
  ctx.io.out.write(text.endsWith('\n') ? text : `${text}\n`);
}

const hosts: Command = {
  summary: 'list the registered hypervisors',
  usage: 'hosts',
  help: [],
  options: {},
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const api = await ctx.api();
    const list = await api.trpc.host.list.query();
    if (ctx.isJson) {
      write(ctx, json(list));
      return EXIT.ok;
    }
    write(
      ctx,
      table(
        ['ALIAS', 'URI', 'EXECUTOR', 'TLS', 'MIGRATION ADDRESS'],
        list.map((host) => [
          host.alias,
          host.displayUri,
          host.executorKind,
          host.tlsCapable ? 'yes' : 'no',
          host.migrationAddress,
        ]),
      ),
    );
    return EXIT.ok;
  },
};

const vms: Command = {
  summary: 'list VMs on every host (read live from the hosts)',
  usage: 'vms [--host <alias>] [--state <state>]',
  help: ['  --host <alias>    only this host', `  --state <state>   only VMs in this state: ${VM_STATES.join(', ')}`],
  options: { host: { type: 'string' }, state: { type: 'string' } },
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const host = str(ctx.values, 'host');
    const state = str(ctx.values, 'state');
    if (state !== undefined && !(VM_STATES as readonly string[]).includes(state)) {
      throw new CliError(EXIT.usage, `--state is one of ${VM_STATES.join(', ')}; "${state}" is not.`);
    }
    const api = await ctx.api();
    const fleet = await api.trpc.fleet.list.query();
    const snapshots = host === undefined ? fleet : fleet.filter((snapshot) => snapshot.host.alias === host);
    if (host !== undefined && snapshots.length === 0) {
      throw new CliError(EXIT.failed, `No host "${host}" is registered (ferry hosts lists them).`);
    }
    const rows = snapshots.flatMap((snapshot) =>
      snapshot.vms
        .filter((vm) => state === undefined || vm.state === state)
        .map((vm) => ({ host: snapshot.host.alias, ...vm })),
    );
    const failed = snapshots.filter((snapshot) => snapshot.status === 'error');
    if (ctx.isJson) {
      write(
        ctx,
        json({
          vms: rows,
          hostErrors: failed.map((snapshot) => ({ host: snapshot.host.alias, error: snapshot.error })),
        }),
      );
    } else {
      write(
        ctx,
        table(
          ['HOST', 'NAME', 'STATE', 'VCPUS', 'MEMORY', 'DISKS', 'UUID'],
          rows.map((vm) => [
            vm.host,
            vm.name,
            vm.state,
            vm.vcpus,
            formatBytes(vm.memoryBytes),
            vm.disks.length,
            vm.uuid,
          ]),
        ),
      );
      for (const snapshot of failed) {
        ctx.io.err.write(`${printable(snapshot.host.alias)}: ${printable(snapshot.error ?? 'error')}\n`);
      }
    }
    // A host that did not answer makes the list incomplete: a script must not take it for the whole fleet.
    return failed.length > 0 ? EXIT.failed : EXIT.ok;
  },
};

const history: Command = {
  summary: 'past and running migrations, newest first',
  usage: 'history [--vm <name>] [--host <alias>] [--state <state>] [--since <span|date>] [--limit <n>]',
  help: [
    '  --vm <name>         only this VM',
    '  --host <alias>      migrations from or to this host',
    '  --state <state>     queued, preflight, running, cancelling, succeeded, failed, cancelled (repeatable)',
    '  --since <when>      30m, 12h, 1d, 2w or a date such as 2026-12-01',
    '  --limit <n>         at most n migrations (default 50)',
  ],
  options: {
    vm: { type: 'string' },
    host: { type: 'string' },
    state: { type: 'string', multiple: true },
    since: { type: 'string' },
    limit: { type: 'string' },
  },
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const since = str(ctx.values, 'since');
    const limit = positiveInt(str(ctx.values, 'limit'), '--limit', 50, 100_000);
    const states = ctx.values.state as string[] | undefined;
    const filter = {
      vm: str(ctx.values, 'vm'),
      host: str(ctx.values, 'host'),
      from: since === undefined ? undefined : parseSince(since),
      states: states as ('queued' | 'succeeded')[] | undefined,
    };
    const api = await ctx.api();
    type Row = Awaited<ReturnType<typeof api.trpc.history.list.query>>['rows'][number];
    const rows: Row[] = [];
    let cursor: string | null = null;
    do {
      const page: { rows: Row[]; nextCursor: string | null } = await api.trpc.history.list.query({
        filter,
        cursor,
        limit: Math.min(200, limit - rows.length),
      });
      rows.push(...page.rows);
      cursor = page.nextCursor;
    } while (cursor !== null && rows.length < limit);
    if (ctx.isJson) {
      write(ctx, json(rows));
      return EXIT.ok;
    }
    write(
      ctx,
      table(
        ['CREATED', 'VM', 'FROM', 'TO', 'STATE', 'DURATION', 'BY', 'ID'],
        rows.map((row) => [
          row.createdAt.toISOString().replace('T', ' ').slice(0, 19),
          row.vmName,
          row.sourceAlias,
          row.destinationAlias,
          row.state,
          row.durationMs === null ? null : formatDuration(row.durationMs),
          row.actor,
          row.id,
        ]),
      ),
    );
    return EXIT.ok;
  },
};

const audit: Command = {
  summary: 'export the audit log (streamed: any size, constant memory)',
  usage: 'audit [--since <span|date>] [--format csv|jsonl] [--actor <name>] [--action <a>] [--result r] [--vm v]',
  help: [
    '  --since <when>       30m, 12h, 1d, 2w or a date such as 2026-12-01',
    '  --format csv|jsonl   csv by default; --json means jsonl',
    '  --actor <name>       only rows by this user',
    '  --action <action>    e.g. migration.start (repeatable)',
    '  --result <result>    ok, refused or failed',
    '  --host <alias>, --vm <name>, --search <words>',
  ],
  options: {
    since: { type: 'string' },
    format: { type: 'string' },
    actor: { type: 'string' },
    action: { type: 'string', multiple: true },
    result: { type: 'string' },
    host: { type: 'string' },
    vm: { type: 'string' },
    search: { type: 'string' },
  },
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const format = str(ctx.values, 'format') ?? (ctx.isJson ? 'jsonl' : 'csv');
    if (format !== 'csv' && format !== 'jsonl') {
      throw new CliError(EXIT.usage, `--format is csv or jsonl; "${format}" is neither.`);
    }
    if (ctx.isJson && format !== 'jsonl') throw new CliError(EXIT.usage, '--json exports jsonl; drop --format csv.');
    // The audit page's own URL parameters (server/audit/filters.ts), so a filter means the same rows here.
    const params = new URLSearchParams({ format });
    const since = str(ctx.values, 'since');
    if (since !== undefined) params.set('from', parseSince(since).toISOString());
    for (const [flag, param] of [
      ['actor', 'actor'],
      ['result', 'result'],
      ['host', 'host'],
      ['vm', 'vm'],
      ['search', 'q'],
    ] as const) {
      const value = str(ctx.values, flag);
      if (value !== undefined) params.set(param, value);
    }
    for (const action of (ctx.values.action as string[] | undefined) ?? []) params.append('action', action);
    const api = await ctx.api();
    const response = await api.get(`/api/audit/export?${params.toString()}`);
    if (!response.body) throw new CliError(EXIT.failed, 'Ferry sent an empty export.');
    // Chunk by chunk with backpressure: a slow pipe slows the server's keyset reads instead of filling memory.
    try {
      await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), ctx.io.out, {
        end: false,
      });
    } catch (error) {
      // `ferry audit | head` closes the pipe early: that reader has what it wanted.
      if ((error as NodeJS.ErrnoException).code !== 'EPIPE') throw error;
    }
    return EXIT.ok;
  },
};

type HostRow = { id: string; alias: string };

function findHost(hostList: HostRow[], alias: string, flag: string): HostRow {
  const host = hostList.find((candidate) => candidate.alias === alias);
  if (!host) {
    throw new CliError(
      EXIT.failed,
      `${flag} ${alias}: no such host; registered: ${hostList.map((h) => h.alias).join(', ') || 'none'}.`,
    );
  }
  return host;
}

const STORAGE_BY_FLAG = { all: 'copy-all', inc: 'copy-inc', none: 'shared' } as const;
const CHECK_MARK = { pass: '✓', warn: '!', fail: '✗' } as const;

const migrate: Command = {
  summary: 'preflight, then live-migrate a VM and show its progress',
  usage: 'migrate <vm> --to <host> [--from <host>] [options]',
  help: [
    '  --to <host>                destination host alias (required)',
    '  --from <host>              source host alias (default: the host that has the VM)',
    '  --copy-storage all|inc|none  copy every disk (default), only the top image, or none (shared storage)',
    '  --bandwidth <MiB/s>        limit the migration bandwidth',
    '  --tls                      encrypt QEMU’s migration stream with TLS',
    '  --tunnelled                send the stream through libvirtd’s connection (p2p)',
    '  --offline                  move the definition of a shut-off VM (needs --copy-storage none)',
    '  --postcopy                 allow switching to post-copy',
    '  --auto-converge, --compressed',
    '  --keep-source              keep the VM defined on the source',
    '  --transient                do not define the VM persistently on the destination',
    '  --timeout <s> [--timeout-action abort|suspend|postcopy]',
    '  --unsafe --confirm-unsafe  skip libvirt’s safety checks (both flags needed)',
    '  --preflight-only           run the checks and stop',
    '  --detach                   start it and print its id without watching',
  ],
  options: {
    to: { type: 'string' },
    from: { type: 'string' },
    'copy-storage': { type: 'string' },
    bandwidth: { type: 'string' },
    tls: { type: 'boolean' },
    tunnelled: { type: 'boolean' },
    offline: { type: 'boolean' },
    postcopy: { type: 'boolean' },
    'auto-converge': { type: 'boolean' },
    compressed: { type: 'boolean' },
    'keep-source': { type: 'boolean' },
    transient: { type: 'boolean' },
    timeout: { type: 'string' },
    'timeout-action': { type: 'string' },
    unsafe: { type: 'boolean' },
    'confirm-unsafe': { type: 'boolean' },
    'preflight-only': { type: 'boolean' },
    detach: { type: 'boolean' },
  },
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const { values } = ctx;
    const vmName = ctx.positionals[0] ?? '';
    const to = str(values, 'to');
    if (!to) throw new CliError(EXIT.usage, 'migrate needs --to <host>.');
    const copyStorage = str(values, 'copy-storage') ?? 'all';
    if (!(copyStorage in STORAGE_BY_FLAG)) {
      throw new CliError(EXIT.usage, `--copy-storage is all, inc or none; "${copyStorage}" is none of them.`);
    }
    const timeoutAction = str(values, 'timeout-action');
    if (timeoutAction !== undefined && !['abort', 'suspend', 'postcopy'].includes(timeoutAction)) {
      throw new CliError(EXIT.usage, `--timeout-action is abort, suspend or postcopy; "${timeoutAction}" is not.`);
    }
    const bandwidth = str(values, 'bandwidth');
    const timeout = str(values, 'timeout');
    const options = {
      mode: values.offline ? ('offline' as const) : ('live' as const),
      storage: STORAGE_BY_FLAG[copyStorage as keyof typeof STORAGE_BY_FLAG],
      persistent: !values.transient,
      undefineSource: !values['keep-source'],
      tls: values.tls === true,
      tunnelled: values.tunnelled === true,
      postcopy: values.postcopy === true,
      autoConverge: values['auto-converge'] === true,
      compressed: values.compressed === true,
      unsafe: values.unsafe === true,
      confirmUnsafe: values['confirm-unsafe'] === true,
      bandwidthMiBps: bandwidth === undefined ? undefined : positiveInt(bandwidth, '--bandwidth', 0, 1_048_576),
      timeoutSeconds: timeout === undefined ? undefined : positiveInt(timeout, '--timeout', 0, 7 * 24 * 3600),
      timeoutAction: timeoutAction as 'abort' | 'suspend' | 'postcopy' | undefined,
    };

    const api = await ctx.api();
    const hostList = await api.trpc.host.list.query();
    const destination = findHost(hostList, to, '--to');
    let source: HostRow;
    let vmUuid: string | undefined;
    const from = str(values, 'from');
    if (from !== undefined) {
      source = findHost(hostList, from, '--from');
    } else {
      // Which host has the VM: the same live inventory the fleet page shows.
      const fleet = await api.trpc.fleet.list.query();
      const holders = fleet.filter((snapshot) => snapshot.vms.some((vm) => vm.name === vmName));
      if (holders.length === 0) {
        const silent = fleet.filter((snapshot) => snapshot.status === 'error').map((snapshot) => snapshot.host.alias);
        throw new CliError(
          EXIT.failed,
          `No host has a VM named "${printable(vmName)}"${silent.length ? ` (not answering: ${silent.join(', ')})` : ''}.`,
        );
      }
      if (holders.length > 1) {
        throw new CliError(
          EXIT.usage,
          `"${printable(vmName)}" exists on ${holders.map((s) => s.host.alias).join(' and ')}: say which with --from.`,
        );
      }
      const holder = holders[0] as (typeof holders)[number];
      source = holder.host;
      vmUuid = holder.vms.find((vm) => vm.name === vmName)?.uuid;
    }
    const request = { vmName, vmUuid, sourceHostId: source.id, destinationHostId: destination.id, options };

    // The migrate dialog's preflight, through the same procedure: the same checks, audited the same way.
    const report = await api.trpc.migration.preflight.mutate(request);
    const preflight = { ok: report.ok, checks: report.checks };
    if (!ctx.isJson) {
      write(ctx, `Preflight ${printable(vmName)} ${source.alias} → ${destination.alias}:`);
      for (const check of report.checks) {
        write(ctx, `  ${CHECK_MARK[check.status]} ${printable(check.label)}: ${printable(check.reason)}`);
      }
    }
    if (!report.ok) {
      if (ctx.isJson) write(ctx, JSON.stringify({ preflight, started: false }));
      else ctx.io.err.write('Preflight failed: nothing was started.\n');
      return EXIT.failed;
    }
    if (values['preflight-only']) {
      if (ctx.isJson) write(ctx, JSON.stringify({ preflight, started: false }));
      return EXIT.ok;
    }
    const { id } = await api.trpc.migration.start.mutate(request);
    if (values.detach) {
      write(ctx, ctx.isJson ? JSON.stringify({ preflight, started: true, id }) : `Started migration ${id}.`);
      return EXIT.ok;
    }
    if (!ctx.isJson) write(ctx, `Started migration ${id} (Ctrl-C to cancel or stop watching).`);
    return watchMigration({ api, id, io: ctx.io, jsonExtra: { preflight, started: true } });
  },
};

const watch: Command = {
  summary: 'follow a running migration until it ends',
  usage: 'watch <migration-id>',
  help: [],
  options: {},
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const api = await ctx.api();
    return watchMigration({ api, id: ctx.positionals[0] ?? '', io: ctx.io });
  },
};

const cancel: Command = {
  summary: 'cancel a running migration',
  usage: 'cancel <migration-id> [--wait]',
  help: ['  --wait   follow it until it has stopped'],
  options: { wait: { type: 'boolean' } },
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const id = ctx.positionals[0] ?? '';
    const api = await ctx.api();
    const result = await api.trpc.migration.cancel.mutate({ id });
    if (ctx.values.wait) {
      if (!ctx.isJson) write(ctx, `Cancel requested for migration ${id}.`);
      return watchMigration({ api, id, io: ctx.io, goal: 'cancelled' });
    }
    write(ctx, ctx.isJson ? json(result) : `Cancel requested for migration ${id} (${result.state}).`);
    return EXIT.ok;
  },
};

export const COMMANDS: Record<string, Command> = {
  hosts,
  vms,
  history,
  audit,
  migrate,
  watch,
  cancel,
  ...POWER_COMMANDS,
  ...EVACUATION_COMMANDS,
};
