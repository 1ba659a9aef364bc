import { applyEvents, EMPTY_VIEW, type MigrationView } from '../app/_lib/migration-view';
import { isFinalState } from '../server/migrations/types';
import { toCliError, type Api } from './api';
import { CliError, EXIT } from './errors';
import { printable } from './output';
import { createPhaseReporter, progressLine, resultLines, type Connection } from './progress';

export type WatchIo = {
  out: NodeJS.WriteStream;
  err: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
  isJson: boolean;
};

/** Exit code of an interrupt with no terminal to ask on (Ctrl-C in a script): the shell's 128 + SIGINT. */
export const EXIT_INTERRUPTED = 130;

type Ending = { kind: 'final'; view: MigrationView } | { kind: 'detached'; code: number };

/**
 * Ctrl-C while watching: on a terminal, ask. `c` cancels the migration (and keeps watching until it has
 * ended), `d` stops watching and leaves it running, anything else goes back to watching. A second Ctrl-C at
 * the prompt is "stop watching": the safe answer, it changes nothing on the server.
 */
function askOnInterrupt(io: WatchIo): Promise<'cancel' | 'detach' | 'resume'> {
  return new Promise((resolve) => {
    io.err.write('\nCtrl-C: [c] cancel the migration, [d] stop watching (it keeps running), [w] keep watching? ');
    io.stdin.setRawMode(true);
    io.stdin.resume();
    io.stdin.once('data', (chunk: Buffer) => {
      io.stdin.setRawMode(false);
      io.stdin.pause();
      const key = chunk.toString('utf8').toLowerCase();
      io.err.write(`${key === '\u0003' ? '^C' : printable(key.trim())}\n`);
      resolve(key.startsWith('c') ? 'cancel' : key.startsWith('d') || key === '\u0003' ? 'detach' : 'resume');
    });
  });
}

/**
 * Follows one migration on its event stream (the browser's subscription, migration.events) until it ends:
 * seeded from `migration.get` (everything so far), then live from the last event id, so nothing is missed or
 * shown twice. Returns the exit code: 0 when it ended as `goal`, 1 otherwise.
 */
export async function watchMigration(options: {
  api: Api;
  id: string;
  io: WatchIo;
  /** Merged into the one JSON document `--json` prints at the end (migrate adds its preflight). */
  jsonExtra?: Record<string, unknown>;
  /** The ending that exits 0: `succeeded` for migrate and watch, `cancelled` for `cancel --wait`. */
  goal?: 'succeeded' | 'cancelled';
}): Promise<number> {
  const { api, id, io } = options;
  const exitCodeOf = (state: string) => (state === (options.goal ?? 'succeeded') ? EXIT.ok : EXIT.failed);
  const row = await api.trpc.migration.get.query({ id });
  let view = applyEvents({ ...EMPTY_VIEW, state: row.state, percent: row.percent }, row.events);
  const title = printable(`${row.vmName} ${row.sourceAlias}→${row.destinationAlias}`);
  const isTerminal = !io.isJson && io.out.isTTY === true;
  const reportPhase = createPhaseReporter();
  let connection: Connection = 'live';
  let isPrompting = false;

  const render = () => {
    if (io.isJson || isPrompting) return;
    if (isTerminal) {
      io.out.write(`\r${progressLine({ view, title, width: io.out.columns || 80, connection })}\u001b[K`);
      return;
    }
    const line = reportPhase(view, new Date());
    if (line) io.out.write(`${line}\n`);
  };

  if (!isTerminal && !io.isJson) io.out.write(`Watching migration ${id}: ${title}\n`);
  render();

  const ending = isFinalState(view.state)
    ? ({ kind: 'final', view } as Ending)
    : await new Promise<Ending>((resolve, reject) => {
        let isDone = false;
        const finish = (value: Ending | Error) => {
          if (isDone) return;
          isDone = true;
          subscription.unsubscribe();
          process.off('SIGINT', onInterrupt);
          if (value instanceof Error) reject(value);
          else resolve(value);
        };
        const subscription = api.trpc.migration.events.subscribe(
          { id, lastEventId: String(view.lastEventId) },
          {
            onData: (tracked) => {
              view = applyEvents(view, [tracked.data]);
              render();
              if (isFinalState(view.state) && view.result) finish({ kind: 'final', view });
            },
            onConnectionStateChange: (state) => {
              const next: Connection = state.state === 'connecting' && state.error ? 'reconnecting' : 'live';
              if (next !== connection) {
                connection = next;
                render();
              }
            },
            onError: (error) => {
              const described = toCliError(error, api.lastStreamRefusal());
              finish(described instanceof Error ? described : new Error(String(described)));
            },
            onComplete: () => finish(new CliError(EXIT.failed, `The event stream of ${id} ended early.`)),
          },
        );
        const onInterrupt = () => {
          if (isPrompting) return;
          if (!io.stdin.isTTY) {
            io.err.write(`\nStopped watching; migration ${id} continues. (ferry watch ${id}, ferry cancel ${id})\n`);
            finish({ kind: 'detached', code: EXIT_INTERRUPTED });
            return;
          }
          isPrompting = true;
          void askOnInterrupt(io).then(async (answer) => {
            isPrompting = false;
            if (answer === 'detach') {
              io.err.write(`Stopped watching; migration ${id} continues. (ferry watch ${id}, ferry cancel ${id})\n`);
              finish({ kind: 'detached', code: EXIT.ok });
              return;
            }
            if (answer === 'cancel') {
              try {
                await api.trpc.migration.cancel.mutate({ id });
                io.err.write(`Cancel requested; waiting for migration ${id} to stop.\n`);
              } catch (error) {
                const described = toCliError(error);
                io.err.write(`Cancel refused: ${described instanceof Error ? described.message : 'error'}\n`);
              }
            }
            render();
          });
        };
        process.on('SIGINT', onInterrupt);
      });

  if (ending.kind === 'detached') return ending.code;
  const final = await api.trpc.migration.get.query({ id });
  if (io.isJson) {
    io.out.write(
      `${JSON.stringify({ ...options.jsonExtra, id, state: final.state, result: ending.view.result, durationMs: final.durationMs })}\n`,
    );
    return exitCodeOf(final.state);
  }
  if (isTerminal) io.out.write('\n');
  else {
    const line = reportPhase(ending.view, new Date());
    if (line) io.out.write(`${line}\n`);
  }
  const lines = resultLines({
    view: ending.view,
    vmName: final.vmName,
    source: final.sourceAlias,
    destination: final.destinationAlias,
    durationMs: final.durationMs,
  });
  io.out.write(`${lines.map(printable).join('\n')}\n`);
  return exitCodeOf(final.state);
}
