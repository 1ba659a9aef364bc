import { describe, expect, it } from 'vitest';
import { appRouter } from '../api/root';

type ProcedureRecord = Record<string, { _def: { meta?: { access?: string } } }>;
const PROCEDURES = appRouter._def.procedures as unknown as ProcedureRecord;

describe('evacuation procedures declare their roles', () => {
  it('operators plan, start, pause, resume, cancel and end maintenance; viewers only watch', () => {
    const access = Object.fromEntries(
      Object.entries(PROCEDURES)
        .filter(([name]) => name.startsWith('evacuation.'))
        .map(([name, procedure]) => [name, procedure._def.meta?.access]),
    );
    expect(access).toEqual({
      'evacuation.plan': 'operator',
      'evacuation.start': 'operator',
      'evacuation.planBringBack': 'operator',
      'evacuation.startBringBack': 'operator',
      'evacuation.get': 'viewer',
      'evacuation.events': 'viewer',
      'evacuation.forHost': 'viewer',
      'evacuation.pause': 'operator',
      'evacuation.resume': 'operator',
      'evacuation.cancel': 'operator',
      'evacuation.endMaintenance': 'operator',
    });
  });
});
