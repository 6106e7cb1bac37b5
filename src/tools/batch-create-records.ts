import { z } from 'zod';
import { batchOutput, MAX_BATCH, runProbed, savedRecordsResult } from './batch-output.js';
import { resolveBaseId } from './context.js';
import { defineTool } from './define.js';
import { canonicalFields, unwrapFields, writeTable } from './record-input.js';
import { baseIdParam, tableParam, typecastParam } from './schemas.js';

export const batchCreateRecords = defineTool({
  name: 'batch_create_records',
  title: 'Create records (batch)',
  description:
    'Create up to 10,000 records, 10 per request (progress reported). A bad record fails alone: returns the ' +
    'created records in input order and failures by index; an error only when none was created.',
  toolset: 'records',
  kind: 'write',
  idempotent: false,
  input: {
    base_id: baseIdParam,
    table_id: tableParam,
    records: z
      .array(z.record(z.string(), z.unknown()))
      .min(1, 'give at least one record')
      .max(MAX_BATCH)
      .describe('Each a fields object, e.g. {"Name":"x"}.'),
    typecast: typecastParam,
  },
  output: { created: z.number().int(), ...batchOutput },
  async run(args, ctx) {
    const baseId = resolveBaseId(ctx, args.base_id);
    const target = await writeTable(ctx, baseId, args.table_id);
    const unwrapped = args.records.map((r) => unwrapFields(r, target.schema));
    const records = await canonicalFields(ctx, baseId, target, unwrapped);
    const run = await runProbed(ctx, records, (slice, onProgress) =>
      ctx.client.createRecords(baseId, target.ref, slice, {
        typecast: args.typecast,
        signal: ctx.signal,
        onProgress,
      }),
    );
    return savedRecordsResult(ctx, run, 'created', 'Created');
  },
});
