import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '../server/api/root';
import { EXIT } from './errors';
import { printable, table } from './output';

/**
 * What `ferry evacuate`, `bring-back` and `evacuation` print: the plan as a table, one line per change of a
 * VM's row while following, and the closing summary with each failure's cause. Pure: the commands do the I/O.
 */

type Outputs = inferRouterOutputs<AppRouter>['evacuation'];
export type EvacuationPlan = Outputs['plan'];
export type EvacuationView = Outputs['get'];
type ViewItem = EvacuationView['items'][number];

/** Evacuation states after which nothing changes (server/evacuation/run.ts: not an open state). */
export const ENDED_STATES: readonly string[] = ['finished', 'cancelled'];

/** Item states that were never going to move (the plan said so, or the admin left the VM out). */
const STAYING_STATES: readonly string[] = ['unmovable', 'excluded'];

const clock = (at: Date) => at.toISOString().slice(11, 19);

function title(kind: string, alias: string, isStartOfSentence = true): string {
  const noun = kind === 'bring-back' ? 'Bring-back to' : 'Evacuation of';
  return `${isStartOfSentence ? noun : noun.toLowerCase()} ${alias}`;
}

function destinationCell(item: EvacuationPlan['items'][number]): string {
  switch (item.kind) {
    case 'move':
      return item.destination?.alias ?? '?';
    case 'excluded':
      return 'stays (excluded)';
    case 'unmovable':
      return 'stays';
    default: {
      const exhaustive: never = item.kind;
      return String(exhaustive);
    }
  }
}

/** The dry run: a header with the counts, then VM, from, to and why (or why not). */
export function planText(plan: EvacuationPlan): string {
  const alias = printable(plan.host.alias);
  if (plan.items.length === 0) {
    if (plan.kind === 'evacuate') return `${alias} has no VMs: nothing to evacuate.`;
    return `Nothing to bring back to ${alias}: ${plan.fromEvacuationId ? 'its last evacuation moved no VM away' : 'it was never evacuated'}.`;
  }
  const moving = plan.items.filter((item) => item.kind === 'move').length;
  const staying = plan.items.length - moving;
  const header = `Plan: ${plan.kind === 'bring-back' ? `bring back to ${alias}` : `evacuate ${alias}`}: ${moving} of ${
    plan.items.length
  } VM${plan.items.length === 1 ? '' : 's'} move${staying > 0 ? `, ${staying} stay${staying === 1 ? 's' : ''}` : ''}.${
    plan.kind === 'evacuate' && plan.host.inMaintenance ? ` ${alias} is already in maintenance.` : ''
  }`;
  const rows = plan.items.map((item) => [
    item.vmName,
    item.sourceAlias,
    destinationCell(item),
    item.reasons.join('; '),
  ]);
  return `${header}\n${table(['VM', 'FROM', 'TO', 'WHY'], rows)}`;
}

/** A row's state as a person follows it: a submitted row is as far as its migration job is. */
export function rowStatus(item: ViewItem): string {
  return item.state === 'submitted' && item.job ? item.job.state : item.state;
}

function rowNote(item: ViewItem): string | null {
  if (item.state === 'succeeded') return null;
  return item.error ?? (STAYING_STATES.includes(item.state) ? (item.reasons[0] ?? null) : null);
}

/** `20:41:07 vm1 hv1 → hv2 running`, with the cause or note after a colon when the row has one. */
export function rowLine(item: ViewItem, at: Date): string {
  const note = rowNote(item);
  return printable(
    `${clock(at)} ${item.vmName} ${item.sourceAlias} → ${item.destinationAlias ?? '-'} ${rowStatus(item)}${note ? `: ${note}` : ''}`,
  );
}

/**
 * For following an evacuation by polling: the lines for what changed since the last view (every row the first
 * time), plus a line when the evacuation itself changes state: before its rows, or after them once it ended.
 */
export function createRowReporter(): (view: EvacuationView, at: Date) => string[] {
  const seen = new Map<string, string>();
  let lastState: string | null = null;
  return (view, at) => {
    const rows: string[] = [];
    for (const item of view.items) {
      const key = JSON.stringify([rowStatus(item), item.destinationAlias, rowNote(item)]);
      if (seen.get(item.id) === key) continue;
      seen.set(item.id, key);
      rows.push(rowLine(item, at));
    }
    if (view.state === lastState) return rows;
    lastState = view.state;
    const line = `${clock(at)} ${printable(title(view.kind, view.hostAlias, false))} ${view.state} ${view.percent}%`;
    return ENDED_STATES.includes(view.state) ? [...rows, line] : [line, ...rows];
  };
}

export type Outcome = {
  /** 0 when it finished and every VM it was to move has moved; 1 otherwise. */
  code: number;
  summary: string;
  /** One line per VM that was to move and did not, with its cause. */
  failures: string[];
  /** One line per VM the plan left where it was, with the reason. */
  staying: string[];
};

/** How an ended (or, for a status, an open) evacuation went. */
export function outcome(view: EvacuationView): Outcome {
  const moving = view.items.filter((item) => !STAYING_STATES.includes(item.state));
  const moved = moving.filter((item) => item.state === 'succeeded').length;
  const failed = moving.filter((item) => item.state === 'failed').length;
  const notMoved = moving.filter((item) => ['cancelled', 'dropped'].includes(item.state)).length;
  const counts = [
    `${moved} of ${moving.length} moved`,
    ...(failed > 0 ? [`${failed} failed`] : []),
    ...(notMoved > 0 ? [`${notMoved} cancelled`] : []),
  ];
  const isComplete = view.state === 'finished' && moved === moving.length;
  return {
    code: isComplete ? EXIT.ok : EXIT.failed,
    summary: printable(`${title(view.kind, view.hostAlias)} ${view.state}: ${counts.join(', ')}.`),
    failures: moving
      .filter((item) => ['failed', 'cancelled', 'dropped'].includes(item.state))
      .map((item) =>
        printable(
          `${item.vmName} (${item.sourceAlias} → ${item.destinationAlias ?? '-'}) ${item.state}: ${item.error ?? 'no cause was recorded'}`,
        ),
      ),
    staying: view.items
      .filter((item) => STAYING_STATES.includes(item.state))
      .map((item) => printable(`${item.vmName} stays on ${item.sourceAlias}: ${rowNote(item) ?? item.state}`)),
  };
}

/** `ferry evacuation <id>`: who, when, how far, and every row. */
export function statusText(view: EvacuationView): string {
  const { counts } = view;
  const header = printable(
    `${title(view.kind, view.hostAlias)} (${view.id}) by ${view.actor}, started ${view.createdAt
      .toISOString()
      .replace('T', ' ')
      .slice(0, 19)}: ${view.state}, ${view.percent}%`,
  );
  const detail = `${counts.succeeded} moved, ${counts.running} running, ${counts.queued} queued, ${counts.pending} pending, ${counts.failed} failed of ${counts.moving} to move`;
  const rows = view.items.map((item) => [
    item.vmName,
    item.sourceAlias,
    item.destinationAlias,
    rowStatus(item),
    item.state === 'submitted' && item.job ? `${item.job.percent}%` : null,
    rowNote(item),
  ]);
  return `${header}\n${detail}\n${table(['VM', 'FROM', 'TO', 'STATE', 'DONE', 'NOTE'], rows)}`;
}
