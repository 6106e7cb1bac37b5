import { requireFields, resolveBaseId, withTableCheck } from './context.js';
import { defineTool } from './define.js';
import { clipRecord, recordLine, tableCell } from './format.js';
import {
  type ExpandedLinks,
  expandLinks,
  expandLinksParam,
  linkedFor,
  linkedSchema,
  linkSummary,
} from './links.js';
import { baseIdParam, fieldNamesParam, recordIdParam, recordSchema, tableParam } from './schemas.js';

export const getRecord = defineTool({
  name: 'get_record',
  title: 'Get record',
  description:
    'Read one record by id, all fields or only `fields`. Empty cells are omitted, as Airtable does.',
  toolset: 'records',
  kind: 'read',
  input: {
    base_id: baseIdParam,
    table_id: tableParam,
    record_id: recordIdParam,
    fields: fieldNamesParam,
    expand_links: expandLinksParam,
  },
  output: { record: recordSchema, linked: linkedSchema },
  async run(args, ctx) {
    const baseId = resolveBaseId(ctx, args.base_id);
    let table = args.table_id;
    let names: Set<string> | undefined;
    let schema: Awaited<ReturnType<typeof ctx.schemas.table>> | undefined;
    if (args.fields?.length || args.expand_links) {
      // Checked before the read, so a wrong field name costs no request.
      schema = await ctx.schemas.table(baseId, table, ctx.signal);
      if (args.fields?.length) names = new Set(requireFields(schema, args.fields).map((f) => f.name));
      table = schema.id;
    }
    const record = await withTableCheck(ctx, baseId, table, (ref) =>
      ctx.client.getRecord(baseId, ref, args.record_id, { signal: ctx.signal }),
    );
    // Airtable's single-record read has no field filter, so the projection happens here.
    if (names)
      record.fields = Object.fromEntries(Object.entries(record.fields).filter(([name]) => names.has(name)));
    const expanded: ExpandedLinks | undefined =
      schema && args.expand_links ? await expandLinks(ctx, baseId, schema, [record]) : undefined;
    // One record can exceed the budget on its own (a very long text cell).
    const fitted = clipRecord(record, ctx.maxResponseChars);
    const note = fitted.clipped
      ? '\n(long text shortened to fit the response; ask for fewer fields to see it)'
      : '';
    if (!expanded)
      return { structured: { record: fitted.record }, text: `${recordLine(fitted.record)}${note}` };
    const linked = linkedFor(expanded.names, [fitted.record]);
    return {
      structured: { record: fitted.record, linked },
      text: `${recordLine(fitted.record)}${note}\n${linkLines(fitted.record.fields, expanded)}`,
    };
  },
});

/** For one record: its link fields with names beside the ids, one line each, and what the lookup cost. */
function linkLines(fields: Record<string, unknown>, expanded: ExpandedLinks): string {
  const lines = Object.entries(fields)
    .filter(([, value]) => Array.isArray(value) && value.some((id) => expanded.names.has(id as string)))
    .map(([name, value]) => `${name}: ${tableCell(value, expanded.names)}`);
  const summary = linkSummary(expanded);
  return [`${summary[0]?.toUpperCase()}${summary.slice(1)}`, ...lines].join('\n');
}
