import type { MigrationEvent, PreflightCheck, JobSample, MigrationResultSummary } from '@/server/migrations/types';

export type MigrationView = {
  state: string;
  percent: number;
  /** Every distinct progress value seen, in order (the bar may go back when a memory iteration restarts). */
  progress: { percent: number; at: string }[];
  samples: (JobSample & { at: string })[];
  checks: PreflightCheck[];
  log: string;
  result: MigrationResultSummary | null;
  lastEventId: number;
};

export const EMPTY_VIEW: MigrationView = {
  state: 'queued',
  percent: 0,
  progress: [],
  samples: [],
  checks: [],
  log: '',
  result: null,
  lastEventId: 0,
};

/** Folds migration events into what the page shows. Events at or below lastEventId are ignored (replays). */
export function applyEvents(view: MigrationView, events: readonly MigrationEvent[]): MigrationView {
  let next = view;
  for (const event of events) {
    if (event.id <= next.lastEventId) continue;
    next = { ...next, lastEventId: event.id };
    switch (event.type) {
      case 'state':
        next.state = event.state;
        if (event.message) next.log += `[${event.state}] ${event.message}\n`;
        break;
      case 'progress':
        next.percent = event.percent;
        next.progress = [...next.progress, { percent: event.percent, at: event.at }];
        break;
      case 'jobinfo': {
        const { type: _type, id: _id, migrationId: _m, at, ...sample } = event;
        next.samples = [...next.samples, { ...sample, at }];
        break;
      }
      case 'checklist':
        next.checks = event.checks;
        break;
      case 'log':
        next.log += event.text;
        break;
      case 'result': {
        const { type: _type, id: _id, migrationId: _m, at: _at, ...result } = event;
        next.result = result;
        if (result.state === 'succeeded') next.percent = 100;
        break;
      }
      default: {
        const exhaustive: never = event;
        throw new Error(`unknown event ${JSON.stringify(exhaustive)}`);
      }
    }
  }
  return next;
}
