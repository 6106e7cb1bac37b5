import { z } from 'zod';
import { requireFields, resolveBaseId } from './context.js';
import { csvHeader, recordRow } from './csv.js';
import { defineTool, type ResultAttachment } from './define.js';
import { clip, compactJson, plural } from './format.js';
import { type FetchedWindow, fetchWindow, parseContinuation } from './paging.js';
import { baseIdParam, fieldNamesParam, formulaParam, offsetParam, tableParam, viewParam } from './schemas.js';

/**
 * Most CSV characters one call returns. The CSV goes to the client as a
 * resource, not into the model's context, so this is far above the response
 * budget; it only keeps a single message to a size clients handle (~5 MB).
 */
export const CSV_MAX_CHARS = 5_000_000;
/** Up to this size (or a quarter of the response budget, if smaller) the CSV is shown inline. */
const INLINE_CSV_CHARS = 8_000;
const PREVIEW_ROWS = 5;

export const exportTableCsv = defineTool({
  name: 'export_table_csv',
  title: 'Export table as CSV',
  description:
    'Export records as CSV (Record ID, fields…, Created Time). Small exports are inline; larger ones an attached ' +
    'text/csv resource plus a preview. Up to max_records rows and 5 MB per call; the offset continues.',
  toolset: 'analysis',
  kind: 'read',
  input: {
    base_id: baseIdParam,
    table_id: tableParam,
    fields: fieldNamesParam.describe('Columns, in this order; default all.'),
    view: viewParam,
    filter_by_formula: formulaParam,
    max_records: z.number().int().min(1).max(100_000).default(1000),
    offset: offsetParam,
  },
  output: {
    table: z.object({ id: z.string(), name: z.string() }),
    row_count: z.number().int(),
    columns: z.array(z.string()).describe('CSV header, in order'),
    chars: z.number().int().describe('Length of the CSV'),
    truncated: z.boolean().describe('True when more rows remain; continue with offset.'),
    offset: z.string().optional().describe('Pass to the next call to continue; absent when no rows remain.'),
    preview: z.string().describe('Header and first rows of the CSV'),
    csv: z
      .string()
      .optional()
      .describe('The whole CSV, only when small; otherwise see the attached resource.'),
    resource_uri: z
      .string()
      .optional()
      .describe('URI of the attached CSV resource, when the CSV is not inline.'),
  },
  async run(args, ctx) {
    const baseId = resolveBaseId(ctx, args.base_id);
    const table = await ctx.schemas.table(baseId, args.table_id, ctx.signal);
    const columns = (args.fields?.length ? requireFields(table, args.fields) : table.fields).map(
      (f) => f.name,
    );
    const params = {
      fields: args.fields?.length ? columns : undefined,
      view: args.view,
      filterByFormula: args.filter_by_formula || undefined,
    };
    const limit = args.max_records;
    const window = await fetchWindow(
      ctx,
      baseId,
      table.id,
      params,
      limit,
      parseContinuation(args.offset),
      (read) => {
        void ctx.progress(read, limit, `read ${read} records`);
      },
    );
    const header = csvHeader(columns);
    const { rows, next } = fitRows(window, columns, CSV_MAX_CHARS - header.length);
    const csv = header + rows.join('');
    const inline = csv.length <= Math.min(INLINE_CSV_CHARS, Math.floor(ctx.maxResponseChars / 4));
    const uri = `airtable://${baseId}/${table.id}/export.csv`;
    const preview = previewOf(header, rows, Math.min(2_000, Math.floor(ctx.maxResponseChars / 8)));
    const structured = {
      table: { id: table.id, name: table.name },
      row_count: rows.length,
      columns: ['Record ID', ...columns, 'Created Time'],
      chars: csv.length,
      truncated: next !== undefined,
      offset: next,
      preview,
      ...(inline ? { csv } : { resource_uri: uri }),
    };
    const attachments: ResultAttachment[] = inline
      ? []
      : [{ type: 'resource', resource: { uri, mimeType: 'text/csv', text: csv } }];
    const summary = `Exported ${plural(rows.length, 'row')} × ${plural(columns.length + 2, 'column')} from ${table.name} (${csv.length} chars)`;
    const lines = inline
      ? [`${summary}:`, csv]
      : [`${summary}. The full CSV is attached as resource ${uri} (not shown here). Preview:`, preview];
    if (next !== undefined) lines.push(continueHint(rows.length, args.max_records, next));
    return { structured, text: lines.join('\n'), attachments };
  },
});

/** Rows until `maxChars` (always at least one), and the continuation token when rows remain. */
function fitRows(window: FetchedWindow, columns: readonly string[], maxChars: number) {
  const rows: string[] = [];
  let used = 0;
  for (const record of window.records) {
    const row = recordRow(record, columns);
    if (rows.length && used + row.length > maxChars) break;
    rows.push(row);
    used += row.length;
  }
  return { rows, next: window.continuationAt(rows.length) };
}

/** Header and up to five rows, stopping early when rows are long; the header alone is clipped if it must be. */
function previewOf(header: string, rows: readonly string[], maxChars: number): string {
  let preview = header.length > maxChars ? clip(header, maxChars) : header;
  for (const row of rows.slice(0, PREVIEW_ROWS)) {
    if (preview.length + row.length > maxChars) break;
    preview += row;
  }
  return preview;
}

function continueHint(rows: number, maxRecords: number, next: string): string {
  const why =
    rows >= maxRecords
      ? `max_records=${maxRecords} reached`
      : `the ${CSV_MAX_CHARS}-character cap was reached`;
  return `More rows remain (${why}); continue with offset=${compactJson(next)}.`;
}
