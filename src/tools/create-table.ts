import { z } from 'zod';
import type { TableSchema } from '../airtable/types.js';
import { resolveBaseId } from './context.js';
import { defineTool } from './define.js';
import { ToolInputError } from './errors.js';
import { baseIdParam } from './schemas.js';

/** Names are compared the way Airtable does: case-insensitively, ignoring surrounding spaces. */
export function nameKey(name: string): string {
  return name.trim().toLowerCase();
}

export const fieldTypeParam = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .describe(
    'Airtable field type, e.g. singleLineText, multilineText, number, currency, percent, checkbox, singleSelect, ' +
      'multipleSelects, date, dateTime, email, url, phoneNumber, multipleRecordLinks, rating, duration.',
  );

export const fieldOptionsParam = z
  .record(z.string(), z.unknown())
  .optional()
  .describe(
    'Type-specific options, e.g. number {"precision":0}, currency {"precision":2,"symbol":"$"}, ' +
      'singleSelect {"choices":[{"name":"Todo"}]}, date {"dateFormat":{"name":"iso"}}, ' +
      'dateTime {"dateFormat":{"name":"iso"},"timeFormat":{"name":"24hour"},"timeZone":"utc"}, ' +
      'checkbox {"icon":"check","color":"greenBright"}, multipleRecordLinks {"linkedTableId":"tbl…"}.',
  );

export const newFieldSchema = z.object({
  name: z.string().trim().min(1, 'a field needs a name').max(255),
  type: fieldTypeParam,
  description: z.string().max(20_000).optional(),
  options: fieldOptionsParam,
});

export const fieldSummarySchema = z.object({ id: z.string(), name: z.string(), type: z.string() });

export const tableSummarySchema = {
  id: z.string(),
  name: z.string(),
  description: z.string().optional(),
  primary_field_id: z.string(),
  primary_field: z.string().optional(),
  fields: z.array(fieldSummarySchema),
  views: z.array(z.object({ id: z.string(), name: z.string(), type: z.string() })),
};

export function tableSummary(table: TableSchema) {
  return {
    id: table.id,
    name: table.name,
    description: table.description || undefined,
    primary_field_id: table.primaryFieldId,
    primary_field: table.fields.find((f) => f.id === table.primaryFieldId)?.name,
    fields: table.fields.map((f) => ({ id: f.id, name: f.name, type: f.type })),
    views: table.views.map((v) => ({ id: v.id, name: v.name, type: v.type })),
  };
}

export const createTable = defineTool({
  name: 'create_table',
  title: 'Create table',
  description:
    'Create a table with its fields (at least one; the first becomes the primary field and must be a text-like, ' +
    'number, date or formula type). Airtable validates types and options; needs creator permission on the base. ' +
    'Returns the new table with field ids.',
  toolset: 'schema_edit',
  kind: 'write',
  input: {
    base_id: baseIdParam,
    name: z.string().trim().min(1, 'the table needs a name').max(255).describe('Name of the new table.'),
    description: z.string().max(20_000).optional().describe('What the table holds.'),
    fields: z
      .array(newFieldSchema)
      .min(1, 'a table needs at least one field')
      .max(500)
      .describe(
        'Fields in order; the first is the primary field, e.g. [{"name":"Name","type":"singleLineText"}].',
      ),
  },
  output: tableSummarySchema,
  async run(args, ctx) {
    const baseId = resolveBaseId(ctx, args.base_id);
    rejectDuplicateNames(args.fields.map((f) => f.name));
    const table = await ctx.client.createTable(
      baseId,
      { name: args.name, description: args.description || undefined, fields: args.fields },
      { signal: ctx.signal },
    );
    ctx.schemas.invalidate(baseId);
    const summary = tableSummary(table);
    const fields = summary.fields.map((f) => `${f.name}:${f.type}`).join(', ');
    return {
      structured: summary,
      text: `Created table ${table.name} (${table.id}) with primary field "${summary.primary_field}". Fields: ${fields}`,
    };
  },
});

/** Airtable rejects duplicate field names (case-insensitive); saying which one saves a round trip. */
function rejectDuplicateNames(names: readonly string[]): void {
  const seen = new Map<string, string>();
  const duplicates: string[] = [];
  for (const name of names) {
    const key = nameKey(name);
    if (seen.has(key)) duplicates.push(`"${seen.get(key)}" and "${name}"`);
    else seen.set(key, name);
  }
  if (duplicates.length) {
    throw new ToolInputError(
      `Field names must be unique (case-insensitive): ${duplicates.join(', ')}. Rename one of each pair.`,
    );
  }
}
