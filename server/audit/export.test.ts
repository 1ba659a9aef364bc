import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_EXPORT_COLUMNS, auditExportResponse, streamAuditExport } from './export';
import { auditFilterSchema } from './filters';
import { recordAudit } from './record';
import { createTestDb, type TestDb } from '../testing/test-db';

const BASE = Date.UTC(2026, 2, 1, 9, 0, 0);

async function readText(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(stream).text();
}

/** A small RFC 4180 reader, enough to check what the export wrote (quoted fields may hold commas and newlines). */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted && char === '"' && text[i + 1] === '"') {
      field += '"';
      i++;
    } else if (quoted && char === '"') {
      quoted = false;
    } else if (quoted) {
      field += char;
    } else if (char === '"') {
      quoted = true;
    } else if (char === ',') {
      record.push(field);
      field = '';
    } else if (char === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else {
      field += char;
    }
  }
  return records;
}

describe('audit export', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = createTestDb();
    for (let i = 0; i < 7; i++) {
      await t.db.$transaction((tx) =>
        recordAudit(tx, {
          actor: i % 2 ? 'alice' : 'bob',
          clientAddress: '10.0.0.7',
          action: i % 3 ? 'host.edit' : 'host.add',
          hostAlias: `hv${i}`,
          details: { note: i === 4 ? '=cmd|"/c calc"!A1, and\na newline' : `plain ${i}` },
          at: new Date(BASE + i * 60_000),
        }),
      );
    }
  });
  afterAll(() => t.cleanup());

  it('streams every matching row as CSV across several batches, newest first, with a header', async () => {
    const csv = await readText(await streamAuditExport({ db: t.db, filter: {}, format: 'csv', batchSize: 2 }));
    const records = parseCsv(csv);
    expect(records[0]).toEqual([...AUDIT_EXPORT_COLUMNS]);
    expect(records.slice(1).map((record) => record[0])).toEqual(['7', '6', '5', '4', '3', '2', '1']);
    // Row 5's details hold a formula, a quote, a comma and a newline: one field, neutralised, intact.
    const row5 = records.find((record) => record[0] === '5');
    expect(row5?.[9]).toBe(JSON.stringify({ note: '=cmd|"/c calc"!A1, and\na newline' }));
    expect(row5?.[1]).toBe(new Date(BASE + 4 * 60_000).toISOString());
    // The hash columns allow checking the copy outside Ferry.
    const stored = await t.db.auditEvent.findUniqueOrThrow({ where: { id: 5 } });
    expect(row5?.slice(10)).toEqual([stored.prevHash, stored.hash]);
  });

  it('applies the filter, and writes JSON Lines with details as an object', async () => {
    const filter = auditFilterSchema.parse({ actor: 'alice', actions: ['host.edit'] });
    const jsonl = await readText(await streamAuditExport({ db: t.db, filter, format: 'jsonl', batchSize: 1 }));
    const lines = jsonl
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => line.id)).toEqual([6, 2]);
    expect(lines[0]).toMatchObject({
      actor: 'alice',
      action: 'host.edit',
      hostAlias: 'hv5',
      details: { note: 'plain 5' },
    });
    expect(jsonl.endsWith('\n')).toBe(true);
  });

  it('reads one batch ahead of the reader, not the whole result, and reports a cancelled download', async () => {
    const summaries: { rows: number; cancelled: boolean }[] = [];
    const stream = await streamAuditExport({
      db: t.db,
      filter: {},
      format: 'jsonl',
      batchSize: 2,
      onDone: (summary) => summaries.push(summary),
    });
    const reader = stream.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value).trimEnd().split('\n')).toHaveLength(2);
    await reader.cancel();
    // At most the batch being read and one queued ahead: 4 of 7 rows.
    expect(summaries).toHaveLength(1);
    expect(summaries[0]?.cancelled).toBe(true);
    expect(summaries[0]?.rows).toBeLessThanOrEqual(4);
  });

  it('answers the route with a streamed attachment, and a bad request with a message', async () => {
    const url = (query: string) => new URL(`http://ferry.test/api/audit/export?${query}`);
    const ok = await auditExportResponse({
      db: t.db,
      url: url('format=csv&actor=bob&host=hv0'),
      actor: 'tester',
      clientAddress: null,
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(ok.headers.get('content-disposition')).toMatch(/^attachment; filename="ferry-audit-.*\.csv"$/);
    expect(parseCsv(await ok.text()).map((record) => record[0])).toEqual(['id', '1']);

    const noFormat = await auditExportResponse({
      db: t.db,
      url: url('actor=bob'),
      actor: 'tester',
      clientAddress: null,
    });
    expect(noFormat.status).toBe(400);
    expect(await noFormat.text()).toContain('format=csv or format=jsonl');

    const badFilter = await auditExportResponse({
      db: t.db,
      url: url('format=csv&result=maybe'),
      actor: 'tester',
      clientAddress: null,
    });
    expect(badFilter.status).toBe(400);
    const badSearch = await auditExportResponse({
      db: t.db,
      url: url('format=jsonl&q=%2A%2A'),
      actor: 'tester',
      clientAddress: null,
    });
    expect(badSearch.status).toBe(400);
    expect(await badSearch.text()).toContain('letters or digits');
  });

  it('does not write an audit row for an export (a read), so exporting does not grow the chain', async () => {
    const before = await t.db.auditEvent.count();
    await (
      await auditExportResponse({
        db: t.db,
        url: new URL('http://ferry.test/api/audit/export?format=csv'),
        actor: 'tester',
        clientAddress: null,
      })
    ).text();
    expect(await t.db.auditEvent.count()).toBe(before);
  });
});
