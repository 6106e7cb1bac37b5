import { z } from 'zod';
import type { TableSchema } from '../airtable/types.js';
import { resolveBaseId } from './context.js';
import { defineTool } from './define.js';
import { clip, fitToBudget, plural } from './format.js';
import { baseIdParam } from './schemas.js';

type Detail = 'names' | 'summary' | 'fields';

const tableEntry = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().optional(),
  primary_field: z.string().optional(),
  field_count: z.number().int().optional(),
  view_count: z.number().int().optional(),
  fields: z.array(z.object({ name: z.string(), type: z.string() })).optional(),
});

type TableEntry = z.infer<typeof tableEntry>;

export const listTables = defineTool({
  name: 'list_tables',
  title: 'List tables',
  description:
    'List the tables of a base: detail "names" (ids, names), "summary" (adds description, primary field, counts) ' +
    'or "fields" (adds field names and types). A large base is cut to fit (truncated); then ask for "names" or ' +
    'use get_field_info.',
  toolset: 'schema',
  kind: 'read',
  input: {
    base_id: baseIdParam,
    detail: z.enum(['summary', 'names', 'fields']).default('summary'),
  },
  output: {
    base_id: z.string(),
    table_count: z.number().int().describe('Tables in the base (including any not shown).'),
    tables: z.array(tableEntry),
    truncated: z.boolean().describe('True when not every table fit in the response.'),
  },
  async run(args, ctx) {
    const baseId = resolveBaseId(ctx, args.base_id);
    const all = (await ctx.schemas.tables(baseId, ctx.signal)).map((t) => toEntry(t, args.detail));
    const { count, truncated } = fitToBudget(all, tableLine, ctx.maxResponseChars);
    const tables = all.slice(0, count);
    const header = truncated
      ? `${plural(all.length, 'table')} in ${baseId}, first ${count} shown (response budget). ` +
        'For the rest use detail="names", or get_field_info per table.'
      : `${plural(all.length, 'table')} in ${baseId}:`;
    return {
      structured: { base_id: baseId, table_count: all.length, tables, truncated },
      text: [header, ...tables.map(tableLine)].join('\n'),
    };
  },
});

function toEntry(table: TableSchema, detail: Detail): TableEntry {
  if (detail === 'names') return { id: table.id, name: table.name };
  const primary = table.fields.find((f) => f.id === table.primaryFieldId);
  const entry: TableEntry = {
    id: table.id,
    name: table.name,
    description: table.description || undefined,
    primary_field: primary?.name,
    field_count: table.fields.length,
    view_count: table.views.length,
  };
  if (detail === 'fields') entry.fields = table.fields.map((f) => ({ name: f.name, type: f.type }));
  return entry;
}

/** `tblX Projects — 16 fields, 2 views, primary "Name": description` (+ `  fields: Name:singleLineText, …`). */
function tableLine(t: TableEntry): string {
  if (t.field_count === undefined) return `${t.id} ${t.name}`;
  const counts = `${plural(t.field_count, 'field')}, ${plural(t.view_count ?? 0, 'view')}`;
  const primary = t.primary_field === undefined ? '' : `, primary "${t.primary_field}"`;
  const description = t.description ? `: ${clip(t.description.replace(/\s+/g, ' '), 160)}` : '';
  const head = `${t.id} ${t.name} — ${counts}${primary}${description}`;
  if (!t.fields) return head;
  return `${head}\n  fields: ${t.fields.map((f) => `${f.name}:${f.type}`).join(', ')}`;
}
