import { z } from 'zod';
import { LIST_FIELD_TYPES, RESULT_TYPED_FIELD_TYPES, TEXT_FIELD_TYPES } from '../airtable/field-types.js';
import type { FieldSchema, TableSchema } from '../airtable/types.js';
import { requireFields, resolveBaseId } from './context.js';
import { defineTool } from './define.js';
import { ToolInputError } from './errors.js';
import { clip, compactJson, fitToBudget, plural, recordTable, rowLine } from './format.js';
import { fieldRef, quoteFormulaString } from './formula.js';
import {
  type ExpandedLinks,
  expandLinks,
  expandLinksParam,
  expansionNote,
  linkedFor,
  linkedSchema,
} from './links.js';
import { parseContinuation, readRecords } from './paging.js';
import { baseIdParam, fieldListParam, offsetParam, recordSchema, tableParam } from './schemas.js';

/** Searched when no fields are named: fields whose formula value is text a person would search. */
const SEARCHED_TYPES: ReadonlySet<string> = new Set([
  ...TEXT_FIELD_TYPES,
  'singleSelect',
  'multipleSelects',
  // Links read as the linked records' primary values in formulas, so "Apollo" finds tasks of project Apollo.
  'multipleRecordLinks',
]);

function isTextLike(field: FieldSchema): boolean {
  if (SEARCHED_TYPES.has(field.type)) return true;
  // Computed fields are searched by default when their result is text.
  if (!RESULT_TYPED_FIELD_TYPES.has(field.type)) return false;
  const result = (field.options?.result as { type?: unknown } | undefined)?.type;
  return typeof result !== 'string' || SEARCHED_TYPES.has(result);
}

function searchFields(table: TableSchema, wanted: string[] | undefined): FieldSchema[] {
  if (wanted?.length) return requireFields(table, wanted);
  const fields = table.fields.filter(isTextLike);
  if (!fields.length) {
    throw new ToolInputError(
      `Table "${table.name}" has no text fields to search; name the fields to search in \`fields\`.`,
    );
  }
  return fields;
}

/**
 * `OR(FIND(LOWER("q"), LOWER({fld…})) > 0, …)`: the query only ever appears
 * inside an escaped string literal and fields only as `{fld…}` ids, so no
 * input can change the formula's structure.
 */
export function searchFormula(query: string, fields: readonly FieldSchema[]): string {
  const needle = `LOWER(${quoteFormulaString(query)})`;
  const tests = fields.map((f) => {
    const value = LIST_FIELD_TYPES.has(f.type) ? `ARRAYJOIN(${fieldRef(f)}, " ")` : fieldRef(f);
    return `FIND(${needle}, LOWER(${value})) > 0`;
  });
  return `OR(${tests.join(', ')})`;
}

export const searchRecords = defineTool({
  name: 'search_records',
  title: 'Search records',
  description:
    'Find records containing `query` (case-insensitive) in `fields`, default every text, select, link (by name) ' +
    'and text-valued computed field. Returns up to max_records with all fields; the offset continues.',
  toolset: 'records',
  kind: 'read',
  input: {
    base_id: baseIdParam,
    table_id: tableParam,
    query: z.string().min(1).max(1000).describe('Text matched anywhere in a value.'),
    fields: fieldListParam('Fields to search in; default all text-like fields.', 100),
    max_records: z.number().int().min(1).max(1000).default(50),
    offset: offsetParam,
    expand_links: expandLinksParam,
  },
  output: {
    records: z.array(recordSchema),
    count: z.number().int(),
    searched_fields: z.array(z.string()).describe('Names of the fields searched'),
    offset: z
      .string()
      .optional()
      .describe('Pass to the next call (same query) to continue; absent when done.'),
    truncated: z.boolean().describe('True when more matching records exist than were returned.'),
    linked: linkedSchema,
  },
  async run(args, ctx) {
    const query = args.query.trim();
    if (!query) throw new ToolInputError('query is empty: give the text to search for.');
    const baseId = resolveBaseId(ctx, args.base_id);
    const start = parseContinuation(args.offset);
    const table = await ctx.schemas.table(baseId, args.table_id, ctx.signal);
    const fields = searchFields(table, args.fields);
    let expanded: ExpandedLinks | undefined;
    const keep = async (records: { id: string; fields: Record<string, unknown> }[]) => {
      if (args.expand_links) expanded = await expandLinks(ctx, baseId, table, records);
      const reserved = 400 + compactJson(expanded ? linkedFor(expanded.names, records) : {}).length;
      return fitToBudget(records, rowLine(records, expanded?.names), ctx.maxResponseChars, reserved).count;
    };
    const params = { filterByFormula: searchFormula(query, fields) };
    const window = await readRecords(ctx, baseId, table.id, params, args.max_records, start, keep);
    const searched = fields.map((f) => f.name);
    const truncated = window.next !== undefined || window.clipped;
    return {
      structured: {
        records: window.records,
        count: window.records.length,
        searched_fields: searched,
        offset: window.next,
        truncated,
        linked: expanded && linkedFor(expanded.names, window.records),
      },
      text: [
        header(query, searched, window, expansionNote(expanded)),
        ...recordTable(window.records, expanded?.names),
      ].join('\n'),
    };
  },
});

function header(
  query: string,
  searched: string[],
  window: { records: unknown[]; next?: string; clipped: boolean },
  linksNote: string,
): string {
  const where = clip(searched.join(', '), 200);
  const clipNote = window.clipped ? ' (long text shortened to fit the response)' : '';
  const found = `${plural(window.records.length, 'record')} containing ${compactJson(clip(query, 60))} in ${where}${clipNote}${linksNote}`;
  return window.next === undefined
    ? found
    : `${found}; more available, continue with offset=${compactJson(window.next)}`;
}
