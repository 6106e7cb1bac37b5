import { z } from 'zod';
import { resolveBaseId, withTableCheck } from './context.js';
import { defineTool } from './define.js';
import { recordLine } from './format.js';
import { canonicalFields, unwrapFields, writeTable } from './record-input.js';
import {
  baseIdParam,
  fieldsObjectParam,
  recordIdParam,
  recordSchema,
  tableParam,
  typecastParam,
} from './schemas.js';

/**
 * Declared destructive: an update overwrites the values it names (array
 * cells such as links are replaced, not merged) and replace=true clears every
 * other field, so clients should confirm it. Idempotent: sending the same
 * update twice leaves the same record.
 */
export const updateRecord = defineTool({
  name: 'update_record',
  title: 'Update record',
  description:
    'Overwrite the given fields of one record (lists are replaced, not merged); others keep their values ' +
    'unless replace=true. Returns the updated record.',
  toolset: 'records',
  kind: 'destructive',
  idempotent: true,
  input: {
    base_id: baseIdParam,
    table_id: tableParam,
    record_id: recordIdParam,
    fields: fieldsObjectParam,
    typecast: typecastParam,
    replace: z.boolean().default(false).describe('true clears every field not given (PUT).'),
  },
  output: { record: recordSchema },
  async run(args, ctx) {
    const baseId = resolveBaseId(ctx, args.base_id);
    const target = await writeTable(ctx, baseId, args.table_id);
    const [fields] = await canonicalFields(ctx, baseId, target, [unwrapFields(args.fields, target.schema)]);
    const options = { typecast: args.typecast, replace: args.replace, signal: ctx.signal };
    const record = await withTableCheck(ctx, baseId, target.ref, (table) =>
      ctx.client.updateRecord(baseId, table, args.record_id, fields!, options),
    );
    return { structured: { record }, text: `Updated ${recordLine(record)}` };
  },
});
