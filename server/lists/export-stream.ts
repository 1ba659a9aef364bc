import { z } from 'zod';
import type { Db } from '../db';
import { describeZodError } from '../api/error-shape';
import { UserError } from '../errors';
import { toCsv, type CsvValue } from './csv';

export const EXPORT_FORMATS = ['csv', 'jsonl'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Rows per database read while exporting: large enough to amortise a query, small enough to stay flat in memory. */
export const EXPORT_BATCH_SIZE = 2000;

const CONTENT_TYPE: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  jsonl: 'application/x-ndjson; charset=utf-8',
};

/**
 * A download of every row of a filter, read one keyset batch at a time as the client reads: `pull` runs only
 * when the consumer wants more, so a slow client holds one batch in memory, not the result set.
 */
export function keysetExportStream<Row>(options: {
  fetchPage: (cursor: string | null) => Promise<{ rows: Row[]; nextCursor: string | null }>;
  format: ExportFormat;
  columns: readonly string[];
  toRecord: (row: Row) => CsvValue[];
  toJson: (row: Row) => unknown;
  onDone?: (summary: { rows: number; cancelled: boolean }) => void;
}): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let cursor: string | null = null;
  let rowsWritten = 0;
  let started = false;
  let finished = false;

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!started && options.format === 'csv') controller.enqueue(encoder.encode(toCsv([[...options.columns]])));
        started = true;
        const page = await options.fetchPage(cursor);
        if (page.rows.length > 0) {
          const text =
            options.format === 'csv'
              ? toCsv(page.rows.map(options.toRecord))
              : page.rows.map((row) => `${JSON.stringify(options.toJson(row))}\n`).join('');
          controller.enqueue(encoder.encode(text));
          rowsWritten += page.rows.length;
        }
        cursor = page.nextCursor;
        if (cursor === null) {
          finished = true;
          controller.close();
          options.onDone?.({ rows: rowsWritten, cancelled: false });
        }
      },
      cancel() {
        if (!finished) options.onDone?.({ rows: rowsWritten, cancelled: true });
      },
    },
    // One batch ahead of the reader at most.
    { highWaterMark: 1 },
  );
}

export function exportResponse(options: {
  stream: ReadableStream<Uint8Array>;
  format: ExportFormat;
  baseName: string;
}): Response {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return new Response(options.stream, {
    headers: {
      'Content-Type': CONTENT_TYPE[options.format],
      'Content-Disposition': `attachment; filename="${options.baseName}-${stamp}.${options.format}"`,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    },
  });
}

export function badExportRequest(message: string): Response {
  return new Response(`${message}\n`, { status: 400, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
}

export function parseExportFormat(value: string | null): ExportFormat | null {
  return EXPORT_FORMATS.find((format) => format === value) ?? null;
}

/**
 * GET <export route>?format=csv|jsonl&<the page's filter parameters>: checks the format and the filter, then
 * streams. An export is a read, and the audit log records changes, so it does not append an audit row (which
 * would also let any viewer grow the chain at will); it logs one line with who, what and how many.
 */
export async function filteredExportResponse<Filter>(options: {
  url: URL;
  actor: string;
  clientAddress: string | null;
  /** For the log line: "audit", "migration history". */
  what: string;
  baseName: string;
  parseFilter: (params: URLSearchParams) => z.ZodSafeParseResult<Filter>;
  /** May reject with a UserError (a search that cannot run): that is a 400, before the first byte. */
  stream: (options: {
    filter: Filter;
    format: ExportFormat;
    onDone: (summary: { rows: number; cancelled: boolean }) => void;
  }) => ReadableStream<Uint8Array> | Promise<ReadableStream<Uint8Array>>;
}): Promise<Response> {
  const format = parseExportFormat(options.url.searchParams.get('format'));
  if (!format) return badExportRequest('Add format=csv or format=jsonl to the export link.');
  const parsed = options.parseFilter(options.url.searchParams);
  if (!parsed.success) return badExportRequest(`The filter is not valid: ${describeZodError(parsed.error)}`);
  const who = `${options.actor} from ${options.clientAddress ?? 'unknown address'}`;
  try {
    const stream = await options.stream({
      filter: parsed.data,
      format,
      onDone: ({ rows, cancelled }) =>
        console.info(
          `${options.what} export by ${who}: ${rows} rows as ${format}${cancelled ? ' (cancelled by the client)' : ''}; filter ${options.url.search}`,
        ),
    });
    return exportResponse({ stream, format, baseName: options.baseName });
  } catch (error) {
    if (error instanceof UserError) return badExportRequest(error.message);
    throw error;
  }
}

type Page<Row> = { rows: Row[]; nextCursor: string | null };
type DoneCallback = (summary: { rows: number; cancelled: boolean }) => void;

/**
 * One list's export (audit log, migration history): its columns and record shapes, its filter, and how to read
 * it a keyset page at a time. Gives the stream (for tests and the benchmark) and the route's response.
 */
export function defineListExport<Filter, Row>(spec: {
  what: string;
  baseName: string;
  columns: readonly string[];
  toRecord: (row: Row) => CsvValue[];
  toJson: (row: Row) => unknown;
  parseFilter: (params: URLSearchParams) => z.ZodSafeParseResult<Filter>;
  /**
   * Prepares one export before its first byte (a search is planned here, so a bad one is a 400 and not a
   * broken download) and returns its page reader.
   */
  open: (options: {
    db: Db;
    filter: Filter;
  }) => Promise<(cursor: string | null, batchSize: number) => Promise<Page<Row>>>;
}) {
  async function stream(options: {
    db: Db;
    filter: Filter;
    format: ExportFormat;
    batchSize?: number;
    onDone?: DoneCallback;
  }): Promise<ReadableStream<Uint8Array>> {
    const readPage = await spec.open({ db: options.db, filter: options.filter });
    const batchSize = options.batchSize ?? EXPORT_BATCH_SIZE;
    return keysetExportStream<Row>({
      format: options.format,
      columns: spec.columns,
      toRecord: spec.toRecord,
      toJson: spec.toJson,
      onDone: options.onDone,
      fetchPage: (cursor) => readPage(cursor, batchSize),
    });
  }

  function response(options: { db: Db; url: URL; actor: string; clientAddress: string | null }): Promise<Response> {
    return filteredExportResponse({
      ...options,
      what: spec.what,
      baseName: spec.baseName,
      parseFilter: spec.parseFilter,
      stream: (request) => stream({ db: options.db, ...request }),
    });
  }

  return { stream, response };
}
