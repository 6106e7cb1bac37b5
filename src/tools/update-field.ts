import { z } from 'zod';
import { findField, requireFields, resolveBaseId } from './context.js';
import { defineTool } from './define.js';
import { ToolInputError } from './errors.js';
import { baseIdParam, tableParam } from './schemas.js';

export const updateField = defineTool({
  name: 'update_field',
  title: 'Update field',
  description:
    "Rename a field and/or change its description (give at least one). Airtable's API cannot change a field's " +
    'type or delete fields or tables. Returns the updated field.',
  toolset: 'schema_edit',
  kind: 'write',
  idempotent: true,
  input: {
    base_id: baseIdParam,
    table_id: tableParam,
    field_id: z
      .string()
      .trim()
      .min(1)
      .max(255)
      .describe('Field id (fldXXXXXXXXXXXXXX) or current field name.'),
    name: z
      .string()
      .trim()
      .min(1, 'the new name must not be empty')
      .max(255)
      .optional()
      .describe('New field name.'),
    description: z.string().max(20_000).optional().describe('New description; an empty string clears it.'),
  },
  output: {
    table_id: z.string(),
    field: z.object({
      id: z.string(),
      name: z.string(),
      type: z.string(),
      description: z.string().optional(),
    }),
  },
  async run(args, ctx) {
    if (args.name === undefined && args.description === undefined) {
      throw new ToolInputError('Nothing to update: give a new name, a description, or both.');
    }
    const baseId = resolveBaseId(ctx, args.base_id);
    const table = await ctx.schemas.table(baseId, args.table_id, ctx.signal);
    const [field] = requireFields(table, [args.field_id]);
    if (!field) throw new ToolInputError(`No field "${args.field_id}" in table "${table.name}".`);
    const clash = args.name === undefined ? undefined : findField(table, args.name);
    if (clash && clash.id !== field.id && clash.name.toLowerCase() === args.name?.toLowerCase()) {
      throw new ToolInputError(
        `Table "${table.name}" already has a field "${clash.name}" (${clash.id}); field names are unique (case-insensitive).`,
      );
    }
    const updated = await ctx.client.updateField(
      baseId,
      table.id,
      field.id,
      { name: args.name, description: args.description },
      { signal: ctx.signal },
    );
    ctx.schemas.invalidate(baseId);
    const result = {
      id: updated.id,
      name: updated.name,
      type: updated.type,
      description: updated.description || undefined,
    };
    const renamed = result.name === field.name ? '' : ` (was "${field.name}")`;
    return {
      structured: { table_id: table.id, field: result },
      text: `Updated field ${result.name} (${result.id}, ${result.type})${renamed} in ${table.name}. Description: ${result.description ?? '(none)'}`,
    };
  },
});
