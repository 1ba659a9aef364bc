import 'server-only';
import { isSshTransport, parseLibvirtUri } from '../libvirt/uri';
import type { Executor, RunOptions } from './executor';
import { createLocalExecutor, DEFAULT_TIMEOUT_MS, DEFAULT_VIRSH_PATH, KILL_GRACE_MS } from './local-executor';
import type { SshMuxOptions } from './ssh-mux';
import { runMissingAlone, runOneShotBatch } from './virsh-batch';
import { findLineUnsafeArgument } from './virsh-line';
import { createVirshSession, type BatchItemResult, type SessionRunOptions, type VirshSession } from './virsh-session';

/**
 * Commands that must not run inside the shared session: they would change it for every later command
 * (`connect`, `cd`), end it (`quit`, `exit`), read our marker lines as their own input (`console`, the
 * editors), or hold it for minutes so that refreshes queue behind them (migrations, saves, block jobs,
 * event loops). They run as one-shot processes instead.
 */
const ONE_SHOT_COMMANDS = new Set([
  'connect',
  'cd',
  'quit',
  'exit',
  'console',
  'edit',
  'migrate',
  'event',
  'qemu-monitor-event',
  'save',
  'restore',
  'managedsave',
  'dump',
  'blockcopy',
  'blockcommit',
  'blockpull',
  'vol-upload',
  'vol-download',
  'vol-wipe',
]);

/** Whether `virsh <args>` can run in the interactive session with the same result as a one-shot process. */
export function canRunInSession(args: readonly string[]): boolean {
  const [command] = args;
  // Global options (`-r`, `--readonly`, `-q`) only exist on virsh's own command line.
  if (command === undefined || !/^[a-z][a-z0-9-]*$/.test(command)) return false;
  if (ONE_SHOT_COMMANDS.has(command) || command.endsWith('-edit')) return false;
  return findLineUnsafeArgument(args) === null;
}

export type SessionExecutor = Executor & {
  /**
   * Runs many commands with one write to the session, or, while no session process runs, as one
   * non-interactive `virsh -c <uri> 'cmd ; cmd …'` (virsh-batch.ts). Commands that cannot use the session run
   * one-shot afterwards. Never rejects; results are in the order of `commands`.
   */
  runBatch(commands: ReadonlyArray<readonly string[]>, options?: SessionRunOptions): Promise<BatchItemResult[]>;
  readonly session: VirshSession;
};

export type SessionExecutorOptions = {
  uri: string;
  virshPath?: string;
  defaultTimeoutMs?: number;
  killGraceMs?: number;
  /** For the one-shot commands' shared ssh connection (ssh-mux.ts); `false` turns it off. */
  sshMux?: SshMuxOptions | false;
};

/**
 * An Executor backed by one long-lived interactive virsh (see virsh-session.ts). Streaming commands (any call
 * with onStdout/onStderr, e.g. a migration's progress) and commands that cannot use the session (see
 * canRunInSession) run as one-shot processes, so they never block or disturb the session.
 */
export function createSessionExecutor(options: SessionExecutorOptions): SessionExecutor {
  const common = {
    uri: options.uri,
    virshPath: options.virshPath ?? DEFAULT_VIRSH_PATH,
    defaultTimeoutMs: options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS,
    killGraceMs: options.killGraceMs ?? KILL_GRACE_MS,
  };
  const session = createVirshSession(common);
  const oneShot = createLocalExecutor({ ...common, sshMux: options.sshMux });
  let isClosed = false;
  // Over the network a second connection costs more than readline's echo saves: a remote host keeps its session.
  const parsed = parseLibvirtUri(options.uri);
  const mayBatchOneShot = parsed.ok && !parsed.uri.isRemote && !isSshTransport(parsed.uri.transport);
  const isStreaming = (runOptions: RunOptions) =>
    runOptions.onStdout !== undefined || runOptions.onStderr !== undefined;

  return {
    description: `virsh session -c ${options.uri}`,
    session,
    run: (args, runOptions = {}) =>
      isStreaming(runOptions) || !canRunInSession(args) ? oneShot.run(args, runOptions) : session.run(args, runOptions),
    runBatch: async (commands, runOptions = {}) => {
      const inSession = commands.flatMap((args, index) => (canRunInSession(args) ? [index] : []));
      const results: BatchItemResult[] = new Array(commands.length);
      const sessionCommands = inSession.map((index) => commands[index]!);
      // The interactive session reads every byte through readline, which echoes it back: for a big batch that
      // costs more than a process start (bench live: 150 commands take ~95 ms in the session, ~10 ms in one
      // virsh given them as one argument). So a batch that would have to start the session anyway (a host's
      // first read, or a poll after the session ended) runs non-interactively and leaves the session unstarted.
      // Only while no session process runs: the test driver keeps its state per virsh process, so once a session
      // has changed something (started a VM), its reads must come from that process. Only for a host on this
      // machine: a remote one would pay a second connection (an ssh or TLS handshake) for it.
      const sessionResults =
        mayBatchOneShot && session.pid === null && !isClosed && sessionCommands.length >= 2
          ? await runOneShotBatch({ oneShot, uri: options.uri, commands: sessionCommands, runOptions })
          : await session.runBatch(sessionCommands, runOptions);
      inSession.forEach((commandIndex, resultIndex) => {
        results[commandIndex] = sessionResults[resultIndex]!;
      });
      return runMissingAlone({
        commands,
        results,
        run: (args) => oneShot.run(args, runOptions),
        argvOf: (args) => ['virsh', '-c', options.uri, ...args],
      });
    },
    close: async () => {
      isClosed = true;
      await Promise.all([session.close(), oneShot.close()]);
    },
  };
}
