import { z } from 'zod';
import { resolveBaseId, withTableCheck } from './context.js';
import { defineTool } from './define.js';
import { compactJson, fitToBudget, plural, recordTable, rowLine } from './format.js';
import {
  type ExpandedLinks,
  expandLinks,
  expandLinksParam,
  expansionNote,
  linkedFor,
  linkedSchema,
} from './links.js';
import { parseContinuation, readRecords } from './paging.js';
import {
  baseIdParam,
  fieldNamesParam,
  formulaParam,
  offsetParam,
  recordSchema,
  sortParam,
  tableParam,
  viewParam,
} from './schemas.js';

export const getRecords = defineTool({
  name: 'get_records',
  title: 'Get records',
  description:
    'Read records, optionally filtered, sorted, from a view or only some fields. Returns up to max_records as a ' +
    'table (one record per line); when more exist, pass the returned offset to continue.',
  toolset: 'records',
  kind: 'read',
  input: {
    base_id: baseIdParam,
    table_id: tableParam,
    max_records: z.number().int().min(1).max(1000).default(100),
    view: viewParam,
    filter_by_formula: formulaParam,
    fields: fieldNamesParam,
    sort: sortParam,
    offset: offsetParam,
    expand_links: expandLinksParam,
  },
  output: {
    records: z.array(recordSchema),
    count: z.number().int(),
    offset: z
      .string()
      .optional()
      .describe('Pass to the next call to continue; absent when no records remain.'),
    truncated: z.boolean().describe('True when more records exist than were returned.'),
    linked: linkedSchema,
  },
  async run(args, ctx) {
    const baseId = resolveBaseId(ctx, args.base_id);
    const start = parseContinuation(args.offset);
    const params = {
      view: args.view,
      filterByFormula: args.filter_by_formula || undefined,
      fields: args.fields,
      sort: args.sort,
    };
    let expanded: ExpandedLinks | undefined;
    const keep = async (records: { id: string; fields: Record<string, unknown> }[]) => {
      if (args.expand_links) {
        const table = await ctx.schemas.table(baseId, args.table_id, ctx.signal);
        expanded = await expandLinks(ctx, baseId, table, records);
      }
      const reserved = 200 + compactJson(expanded ? linkedFor(expanded.names, records) : {}).length;
      return fitToBudget(records, rowLine(records, expanded?.names), ctx.maxResponseChars, reserved).count;
    };
    const window = await withTableCheck(ctx, baseId, args.table_id, (table) =>
      readRecords(ctx, baseId, table, params, args.max_records, start, keep),
    );
    const truncated = window.next !== undefined || window.clipped;
    const clipNote = window.clipped
      ? ' (long text shortened to fit the response; ask for fewer fields to see it)'
      : '';
    const found = `${plural(window.records.length, 'record')}${clipNote}${expansionNote(expanded)}`;
    const header = window.next
      ? `${found}; more available, continue with offset=${compactJson(window.next)}`
      : found;
    const linked = expanded && linkedFor(expanded.names, window.records);
    return {
      structured: {
        records: window.records,
        count: window.records.length,
        offset: window.next,
        truncated,
        linked,
      },
      text: [header, ...recordTable(window.records, expanded?.names)].join('\n'),
    };
  },
});
