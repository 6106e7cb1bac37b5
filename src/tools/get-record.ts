import { requireFields, resolveBaseId, withTableCheck } from './context.js';
import { defineTool } from './define.js';
import { clipRecord, recordLine } from './format.js';

import { baseIdParam, fieldNamesParam, recordIdParam, recordSchema, tableParam } from './schemas.js';

export const getRecord = defineTool({
  name: 'get_record',
  title: 'Get record',
  description:
    'Read one record by its id (recXXXXXXXXXXXXXX), with all its fields or only those listed in `fields`. ' +
    'Empty cells are omitted, as Airtable does.',
  toolset: 'records',
  kind: 'read',
  input: {
    base_id: baseIdParam,
    table_id: tableParam,
    record_id: recordIdParam,
    fields: fieldNamesParam,
  },
  output: { record: recordSchema },
  async run(args, ctx) {
    const baseId = resolveBaseId(ctx, args.base_id);
    let table = args.table_id;
    let names: Set<string> | undefined;
    if (args.fields?.length) {
      // Checked before the read, so a wrong field name costs no request.
      const schema = await ctx.schemas.table(baseId, table, ctx.signal);
      names = new Set(requireFields(schema, args.fields).map((f) => f.name));
      table = schema.id;
    }
    const record = await withTableCheck(ctx, baseId, table, (ref) =>
      ctx.client.getRecord(baseId, ref, args.record_id, { signal: ctx.signal }),
    );
    // Airtable's single-record read has no field filter, so the projection happens here.
    if (names)
      record.fields = Object.fromEntries(Object.entries(record.fields).filter(([name]) => names.has(name)));
    // One record can exceed the budget on its own (a very long text cell).
    const fitted = clipRecord(record, ctx.maxResponseChars);
    const note = fitted.clipped
      ? '\n(long text shortened to fit the response; ask for fewer fields to see it)'
      : '';
    return { structured: { record: fitted.record }, text: `${recordLine(fitted.record)}${note}` };
  },
});
