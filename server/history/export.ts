import { csvTimestamp, type CsvValue } from '../lists/csv';
import { defineListExport } from '../lists/export-stream';
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

const historyExport = defineListExport<HistoryFilter, HistoryRow>({
  what: 'migration history',
  baseName: 'ferry-migrations',
  columns: HISTORY_EXPORT_COLUMNS,
  toRecord: historyCsvRecord,
  toJson: historyJsonRecord,
  parseFilter: (params) => historyFilterSchema.safeParse(historyFilterFromSearchParams(params)),
  open:
    async ({ db, filter }) =>
    (cursor, batchSize) =>
      queryHistoryPage({ db, filter, cursor, batchSize }),
});

export const streamHistoryExport = historyExport.stream;

/** GET /api/migrations/export?format=csv|jsonl&<the history page's filter parameters>. A read: logged, not audited. */
export const historyExportResponse = historyExport.response;
