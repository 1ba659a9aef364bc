import { csvTimestamp, type CsvValue } from '../lists/csv';
import { defineListExport } from '../lists/export-stream';
import { auditFilterFromSearchParams, auditFilterSchema, type AuditFilter } from './filters';
import { planAuditQuery, queryAuditPage, type AuditRow } from './query';

/** prevHash and hash are exported too, so a copy of the log can be checked outside Ferry. */
export const AUDIT_EXPORT_COLUMNS = [
  'id',
  'at',
  'actor',
  'clientAddress',
  'action',
  'result',
  'hostAlias',
  'vmName',
  'migrationId',
  'details',
  'prevHash',
  'hash',
] as const;

export function auditCsvRecord(row: AuditRow): CsvValue[] {
  return [
    row.id,
    csvTimestamp(row.at),
    row.actor,
    row.clientAddress,
    row.action,
    row.result,
    row.hostAlias,
    row.vmName,
    row.migrationId,
    row.details,
    row.prevHash,
    row.hash,
  ];
}

/** details is stored as JSON text; JSON Lines carries it as an object (or the text, should it not parse). */
export function auditJsonRecord(row: AuditRow): Record<string, unknown> {
  let details: unknown = row.details;
  try {
    details = JSON.parse(row.details);
  } catch {
    // Kept as text: the export shows what is stored, even if it is not valid JSON.
  }
  return { ...row, at: row.at.toISOString(), details };
}

const auditExport = defineListExport<AuditFilter, AuditRow>({
  what: 'audit',
  baseName: 'ferry-audit',
  columns: AUDIT_EXPORT_COLUMNS,
  toRecord: auditCsvRecord,
  toJson: auditJsonRecord,
  parseFilter: (params) => auditFilterSchema.safeParse(auditFilterFromSearchParams(params)),
  open: async ({ db, filter }) => {
    const plan = await planAuditQuery({ db, filter });
    return (cursor, batchSize) => queryAuditPage({ db, filter, cursor, plan, batchSize });
  },
});

export const streamAuditExport = auditExport.stream;

/** GET /api/audit/export?format=csv|jsonl&<the audit page's filter parameters>. A read: logged, not audited. */
export const auditExportResponse = auditExport.response;
