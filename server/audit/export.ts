import type { Db } from '../db';
import { UserError } from '../errors';
import { describeZodError } from '../api/error-shape';
import { csvTimestamp, type CsvValue } from './csv';
import {
  badExportRequest,
  EXPORT_BATCH_SIZE,
  exportResponse,
  keysetExportStream,
  parseExportFormat,
  type ExportFormat,
} from './export-stream';
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

/**
 * GET /api/audit/export?format=csv|jsonl&<the page's filter parameters>.
 *
 * An export is a read, and the audit log records changes, so it does not append an audit row (which would
 * also let any viewer grow the chain at will); it logs one line to the server log with who, what and how many.
 */
export async function auditExportResponse(options: {
  db: Db;
  url: URL;
  actor: string;
  clientAddress: string | null;
}): Promise<Response> {
  const format = parseExportFormat(options.url.searchParams.get('format'));
  if (!format) return badExportRequest('Add format=csv or format=jsonl to the export link.');
  const parsed = auditFilterSchema.safeParse(auditFilterFromSearchParams(options.url.searchParams));
  if (!parsed.success) return badExportRequest(`The filter is not valid: ${describeZodError(parsed.error)}`);
  try {
    const stream = await streamAuditExport({
      db: options.db,
      filter: parsed.data,
      format,
      onDone: ({ rows, cancelled }) =>
        console.info(
          `audit export by ${options.actor} from ${options.clientAddress ?? 'unknown address'}: ${rows} rows as ${format}${cancelled ? ' (cancelled by the client)' : ''}; filter ${options.url.search}`,
        ),
    });
    return exportResponse({ stream, format, baseName: 'ferry-audit' });
  } catch (error) {
    if (error instanceof UserError) return badExportRequest(error.message);
    throw error;
  }
}
