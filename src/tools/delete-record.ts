import { z } from 'zod';
import { resolveBaseId, withTableCheck } from './context.js';
import { defineTool } from './define.js';

import { baseIdParam, recordIdParam, tableParam } from './schemas.js';

export const deleteRecord = defineTool({
  name: 'delete_record',
  title: 'Delete record',
  description: 'Delete one record by id.',
  toolset: 'records',
  kind: 'destructive',
  idempotent: true,
  input: {
    base_id: baseIdParam,
    table_id: tableParam,
    record_id: recordIdParam,
  },
  output: { deleted: z.boolean(), id: z.string() },
  async run(args, ctx) {
    const baseId = resolveBaseId(ctx, args.base_id);
    const result = await withTableCheck(ctx, baseId, args.table_id, (ref) =>
      ctx.client.deleteRecord(baseId, ref, args.record_id, { signal: ctx.signal }),
    );
    return { structured: { deleted: result.deleted, id: result.id }, text: `Deleted ${result.id}` };
  },
});
