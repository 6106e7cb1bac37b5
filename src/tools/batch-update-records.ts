import { z } from 'zod';
import { batchOutput, MAX_BATCH, runProbed, savedRecordsResult } from './batch-output.js';
import { resolveBaseId } from './context.js';
import { defineTool } from './define.js';
import { canonicalFields, checkRecordIds, writeTable } from './record-input.js';
import { baseIdParam, fieldsObjectParam, tableParam, typecastParam } from './schemas.js';

export const batchUpdateRecords = defineTool({
  name: 'batch_update_records',
  title: 'Update records (batch)',
  description:
    'Change fields of up to 10,000 records, 10 per request (progress reported); fields not given keep their ' +
    'values. A bad record fails alone: returns the updated records and failures by index.',
  toolset: 'records',
  kind: 'write',
  idempotent: true,
  input: {
    base_id: baseIdParam,
    table_id: tableParam,
    records: z
      .array(
        z.object({
          id: z.string().trim(),
          fields: fieldsObjectParam,
        }),
      )
      .min(1, 'give at least one record')
      .max(MAX_BATCH)
      .describe('e.g. [{"id":"rec…","fields":{"Status":"Done"}}].'),
    typecast: typecastParam,
  },
  output: { updated: z.number().int(), ...batchOutput },
  async run(args, ctx) {
    const baseId = resolveBaseId(ctx, args.base_id);
    // All ids are checked up front: a malformed one means the list is wrong, so nothing is written.
    checkRecordIds(
      args.records.map((r) => r.id),
      (i) => `records[${i}].id`,
    );
    const target = await writeTable(ctx, baseId, args.table_id);
    const fields = await canonicalFields(
      ctx,
      baseId,
      target,
      args.records.map((r) => r.fields),
    );
    const records = args.records.map((r, i) => ({ id: r.id, fields: fields[i]! }));
    const run = await runProbed(ctx, records, (slice, onProgress) =>
      ctx.client.updateRecords(baseId, target.ref, slice, {
        typecast: args.typecast,
        signal: ctx.signal,
        onProgress,
      }),
    );
    return savedRecordsResult(ctx, run, 'updated', 'Updated');
  },
});
