import type { Db } from '../db';
import { csvTimestamp, type CsvValue } from '../lists/csv';
import {
  EXPORT_BATCH_SIZE,
  filteredExportResponse,
  keysetExportStream,
  type ExportFormat,
} from '../lists/export-stream';
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
}): Promise<Response> {
  return filteredExportResponse({
    ...options,
    what: 'migration history',
    baseName: 'ferry-migrations',
    parseFilter: (params) => historyFilterSchema.safeParse(historyFilterFromSearchParams(params)),
    stream: (request) => streamHistoryExport({ db: options.db, ...request }),
  });
}
