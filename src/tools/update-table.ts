import { z } from 'zod';
import { resolveBaseId } from './context.js';
import { defineTool } from './define.js';
import { ToolInputError } from './errors.js';
import { baseIdParam, tableParam } from './schemas.js';

export const updateTable = defineTool({
  name: 'update_table',
  title: 'Update table',
  description:
    "Rename a table and/or change its description (give at least one). Returns the table's id, name and " +
    'description. Tables cannot be deleted through the Airtable API.',
  toolset: 'schema_edit',
  kind: 'write',
  idempotent: true,
  input: {
    base_id: baseIdParam,
    table_id: tableParam,
    name: z
      .string()
      .trim()
      .min(1, 'the new name must not be empty')
      .max(255)
      .optional()
      .describe('New table name.'),
    description: z.string().max(20_000).optional().describe('New description; an empty string clears it.'),
  },
  output: {
    id: z.string(),
    name: z.string(),
    description: z.string().optional(),
  },
  async run(args, ctx) {
    if (args.name === undefined && args.description === undefined) {
      throw new ToolInputError('Nothing to update: give a new name, a description, or both.');
    }
    const baseId = resolveBaseId(ctx, args.base_id);
    // Resolving first turns an unknown table into a list of the real ones and lets a name be used.
    const table = await ctx.schemas.table(baseId, args.table_id, ctx.signal);
    const updated = await ctx.client.updateTable(
      baseId,
      table.id,
      { name: args.name, description: args.description },
      { signal: ctx.signal },
    );
    ctx.schemas.invalidate(baseId);
    const description = updated.description || undefined;
    const renamed = updated.name === table.name ? '' : ` (was "${table.name}")`;
    return {
      structured: { id: updated.id, name: updated.name, description },
      text: `Updated table ${updated.name} (${updated.id})${renamed}. Description: ${description ?? '(none)'}`,
    };
  },
});
