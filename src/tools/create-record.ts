import { resolveBaseId, withTableCheck } from './context.js';
import { defineTool } from './define.js';
import { recordLine } from './format.js';
import { canonicalFields, unwrapFields, writeTable } from './record-input.js';
import { baseIdParam, fieldsObjectParam, recordSchema, tableParam, typecastParam } from './schemas.js';

export const createRecord = defineTool({
  name: 'create_record',
  title: 'Create record',
  description: 'Create one record. Returns it with its id and every stored value, computed fields included.',
  toolset: 'records',
  kind: 'write',
  idempotent: false,
  input: {
    base_id: baseIdParam,
    table_id: tableParam,
    fields: fieldsObjectParam,
    typecast: typecastParam,
  },
  output: { record: recordSchema },
  async run(args, ctx) {
    const baseId = resolveBaseId(ctx, args.base_id);
    const target = await writeTable(ctx, baseId, args.table_id);
    const [fields] = await canonicalFields(ctx, baseId, target, [unwrapFields(args.fields, target.schema)]);
    const record = await withTableCheck(ctx, baseId, target.ref, (table) =>
      ctx.client.createRecord(baseId, table, fields!, { typecast: args.typecast, signal: ctx.signal }),
    );
    return { structured: { record }, text: `Created ${recordLine(record)}` };
  },
});
