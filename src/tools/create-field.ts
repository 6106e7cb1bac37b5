import { z } from 'zod';
import { findField, resolveBaseId } from './context.js';
import { fieldOptionsParam, fieldTypeParam } from './create-table.js';
import { defineTool } from './define.js';
import { ToolInputError } from './errors.js';
import { baseIdParam, tableParam } from './schemas.js';

export const createField = defineTool({
  name: 'create_field',
  title: 'Create field',
  description:
    'Add a field to a table. Airtable validates the type and options (e.g. choices for selects, precision for ' +
    'numbers, linkedTableId for links); needs creator permission on the base. Returns the new field with its id.',
  toolset: 'schema_edit',
  kind: 'write',
  input: {
    base_id: baseIdParam,
    table_id: tableParam,
    name: z.string().trim().min(1, 'the field needs a name').max(255).describe('Name of the new field.'),
    type: fieldTypeParam,
    description: z.string().max(20_000).optional().describe('What the field holds.'),
    options: fieldOptionsParam,
  },
  output: {
    table_id: z.string(),
    table_name: z.string(),
    field: z.object({
      id: z.string(),
      name: z.string(),
      type: z.string(),
      description: z.string().optional(),
      options: z.record(z.string(), z.unknown()).optional(),
    }),
  },
  async run(args, ctx) {
    const baseId = resolveBaseId(ctx, args.base_id);
    const table = await ctx.schemas.table(baseId, args.table_id, ctx.signal);
    const clash = findField(table, args.name);
    if (clash && clash.name.toLowerCase() === args.name.toLowerCase()) {
      throw new ToolInputError(
        `Table "${table.name}" already has a field "${clash.name}" (${clash.id}); field names are unique ` +
          '(case-insensitive). Choose another name, or use update_field to change that one.',
      );
    }
    const spec = {
      name: args.name,
      type: args.type,
      description: args.description || undefined,
      options: args.options,
    };
    const field = await ctx.client.createField(baseId, table.id, spec, { signal: ctx.signal });
    ctx.schemas.invalidate(baseId);
    return {
      structured: { table_id: table.id, table_name: table.name, field },
      text: `Created field ${field.name} (${field.id}, ${field.type}) in ${table.name} (${table.id}).`,
    };
  },
});
