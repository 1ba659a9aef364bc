import type { DomainRef } from '../../libvirt/domain-ref';
import type { Ending } from '../final-state';
import type { JobContext } from '../job-context';
import { runPreflight, type PreflightFacts } from '../preflight';
import { PROCESS_OWNER_ID } from '../owner';
import type { LoadedJob } from './load';

export type CheckedJob = { ok: true; vm: DomainRef; facts: PreflightFacts } | { ok: false; ending: Ending };

/**
 * Phase 2, preflight: the dialog's checks once more, now that the job owns the VM. Records the checklist and the
 * VM's UUID as the source reports it; stops the job when a check fails or a cancel came first.
 */
export async function preflightPhase(ctx: JobContext, job: LoadedJob): Promise<CheckedJob> {
  await ctx.setState('preflight', { ownerId: PROCESS_OWNER_ID, heartbeatAt: new Date() });
  const host = (h: LoadedJob['source'], executor: LoadedJob['src']) => ({
    id: h.id,
    alias: h.alias,
    uri: h.displayUri,
    hostUuid: h.hostUuid,
    tlsCapable: h.tlsCapable,
    executor,
  });
  const report = await runPreflight({
    db: ctx.db,
    vm: job.vm,
    migration: job.options,
    migrationId: job.id,
    // The job holds its hosts' slots while it checks: ahead of inventory refreshes and other jobs' clean-up.
    urgent: true,
    source: host(job.source, job.src),
    destination: host(job.destination, job.dst),
  });
  await ctx.db.migration.update({
    where: { id: job.id },
    data: { checklist: JSON.stringify(report.checks), vmUuid: report.facts.vm?.uuid ?? job.vm.uuid },
  });
  await ctx.emit({ type: 'checklist', checks: report.checks });
  if (!report.ok || !report.facts.vm) {
    const failed = report.checks.filter((c) => c.status === 'fail');
    return {
      ok: false,
      ending: {
        summary: {
          state: 'failed',
          errorCode: 'preflight',
          errorTitle: 'Preflight failed',
          message: failed.map((c) => `${c.label}: ${c.reason}`).join(' '),
          nextStep: 'Fix what the checklist reports, then start the migration again.',
          verification: [],
        },
      },
    };
  }
  if (ctx.cancel.requested) {
    return {
      ok: false,
      ending: {
        summary: {
          state: 'cancelled',
          errorCode: 'cancelled',
          errorTitle: 'Cancelled',
          message: 'Cancelled before the migration started.',
          nextStep: null,
          verification: [],
        },
      },
    };
  }
  return { ok: true, vm: report.facts.vm, facts: report.facts };
}
