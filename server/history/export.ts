import type { Db } from '../db';
import { UserError } from '../errors';
import { describeZodError } from '../api/error-shape';
import { csvTimestamp, type CsvValue } from '../audit/csv';
import {
  badExportRequest,
  EXPORT_BATCH_SIZE,
  exportResponse,
  keysetExportStream,
  parseExportFormat,
  type ExportFormat,
} from '../audit/export-stream';
import { historyFilterFromSearchParams, historyFilterSchema, type HistoryFilter } from './filters';
import { queryHistoryPage, type HistoryRow } from './query';

export const HISTORY_EXPORT_COLUMNS = [
  'id',
  'vmName',
  'sourceAlias',
  'destinationAlias',
  'state',
  'actor',
  'createdAt',
  'startedAt',
  'endedAt',
  'durationMs',
  'memoryBytes',
  'diskBytes',
  'avgBandwidthBps',
  'downtimeMs',
  'errorCode',
  'errorMessage',
] as const;

export function historyCsvRecord(row: HistoryRow): CsvValue[] {
  return [
    row.id,
    row.vmName,
    row.sourceAlias,
    row.destinationAlias,
    row.state,
    row.actor,
    csvTimestamp(row.createdAt),
    csvTimestamp(row.startedAt),
    csvTimestamp(row.endedAt),
    row.durationMs,
    row.memoryBytes,
    row.diskBytes,
    row.avgBandwidthBps,
    row.downtimeMs,
    row.errorCode,
    row.errorMessage,
  ];
}

export function historyJsonRecord(row: HistoryRow): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const column of HISTORY_EXPORT_COLUMNS) {
    const value = row[column];
    record[column] = value instanceof Date ? value.toISOString() : value;
  }
  return record;
}

export function streamHistoryExport(options: {
  db: Db;
  filter: HistoryFilter;
  format: ExportFormat;
  batchSize?: number;
  onDone?: (summary: { rows: number; cancelled: boolean }) => void;
}): ReadableStream<Uint8Array> {
  const batchSize = options.batchSize ?? EXPORT_BATCH_SIZE;
  return keysetExportStream<HistoryRow>({
    format: options.format,
    columns: HISTORY_EXPORT_COLUMNS,
    toRecord: historyCsvRecord,
    toJson: historyJsonRecord,
    onDone: options.onDone,
    fetchPage: (cursor) => queryHistoryPage({ db: options.db, filter: options.filter, cursor, batchSize }),
  });
}

/** GET /api/migrations/export?format=csv|jsonl&<the history page's filter parameters>. A read: logged, not audited. */
export function historyExportResponse(options: {
  db: Db;
  url: URL;
  actor: string;
  clientAddress: string | null;
}): Response {
  const format = parseExportFormat(options.url.searchParams.get('format'));
  if (!format) return badExportRequest('Add format=csv or format=jsonl to the export link.');
  const parsed = historyFilterSchema.safeParse(historyFilterFromSearchParams(options.url.searchParams));
  if (!parsed.success) return badExportRequest(`The filter is not valid: ${describeZodError(parsed.error)}`);
  try {
    const stream = streamHistoryExport({
      db: options.db,
      filter: parsed.data,
      format,
      onDone: ({ rows, cancelled }) =>
        console.info(
          `migration history export by ${options.actor} from ${options.clientAddress ?? 'unknown address'}: ${rows} rows as ${format}${cancelled ? ' (cancelled by the client)' : ''}; filter ${options.url.search}`,
        ),
    });
    return exportResponse({ stream, format, baseName: 'ferry-migrations' });
  } catch (error) {
    if (error instanceof UserError) return badExportRequest(error.message);
    throw error;
  }
}
