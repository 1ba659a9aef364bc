import type { Db } from '../db';
import { csvTimestamp, type CsvValue } from '../lists/csv';
import {
  EXPORT_BATCH_SIZE,
  filteredExportResponse,
  keysetExportStream,
  type ExportFormat,
} from '../lists/export-stream';
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

export async function streamAuditExport(options: {
  db: Db;
  filter: AuditFilter;
  format: ExportFormat;
  batchSize?: number;
  onDone?: (summary: { rows: number; cancelled: boolean }) => void;
}): Promise<ReadableStream<Uint8Array>> {
  // Planned once, before the first byte, so a bad search is a 400 and not a broken download.
  const plan = await planAuditQuery({ db: options.db, filter: options.filter });
  const batchSize = options.batchSize ?? EXPORT_BATCH_SIZE;
  return keysetExportStream<AuditRow>({
    format: options.format,
    columns: AUDIT_EXPORT_COLUMNS,
    toRecord: auditCsvRecord,
    toJson: auditJsonRecord,
    onDone: options.onDone,
    fetchPage: (cursor) => queryAuditPage({ db: options.db, filter: options.filter, cursor, plan, batchSize }),
  });
}

/** GET /api/audit/export?format=csv|jsonl&<the audit page's filter parameters>. A read: logged, not audited. */
export function auditExportResponse(options: {
  db: Db;
  url: URL;
  actor: string;
  clientAddress: string | null;
}): Promise<Response> {
  return filteredExportResponse({
    ...options,
    what: 'audit',
    baseName: 'ferry-audit',
    parseFilter: (params) => auditFilterSchema.safeParse(auditFilterFromSearchParams(params)),
    stream: (request) => streamAuditExport({ db: options.db, ...request }),
  });
}
