import { z } from 'zod';
import { batchOutput, batchResult, MAX_BATCH, mergeParts, runProbed } from './batch-output.js';
import { resolveBaseId } from './context.js';
import { defineTool } from './define.js';
import { ToolInputError } from './errors.js';
import { checkRecordIds, listSome, writeTable } from './record-input.js';
import { baseIdParam, tableParam } from './schemas.js';

export const deleteRecords = defineTool({
  name: 'delete_records',
  title: 'Delete records',
  description:
    'Delete up to 10,000 records by id, 10 per request within rate limits (progress is reported). Returns the ' +
    'deleted ids plus failures by index (e.g. ids not in the table); an error result only when nothing was deleted.',
  toolset: 'bulk',
  kind: 'destructive',
  idempotent: true,
  input: {
    base_id: baseIdParam,
    table_id: tableParam,
    record_ids: z
      .array(z.string().trim())
      .min(1, 'give at least one record id')
      .max(MAX_BATCH)
      .describe('Ids of the records to delete (recXXXXXXXXXXXXXX).'),
  },
  output: { deleted: z.number().int(), ...batchOutput },
  async run(args, ctx) {
    const baseId = resolveBaseId(ctx, args.base_id);
    const ids = args.record_ids;
    checkRecordIds(ids, (i) => `record_ids[${i}]`);
    checkUnique(ids);
    // Resolving the table first turns a wrong name into one clear error, not one failed request per chunk.
    const target = await writeTable(ctx, baseId, args.table_id);
    const { parts, notSent } = await runProbed(ctx, ids, (slice, onProgress) =>
      ctx.client.deleteRecords(baseId, target.ref, slice, { signal: ctx.signal, onProgress }),
    );
    const result = mergeParts(parts);
    const items = result.outcomes.flatMap((o) => (o.ok ? [{ index: o.index, id: o.value.id }] : []));
    return batchResult(ctx, {
      counts: { deleted: items.length },
      items,
      failed: result.failed,
      requests: result.requests,
      heading: 'Deleted',
      notSent,
    });
  },
});

/** The same id twice would fail the second time and could fail its whole chunk. */
function checkUnique(ids: readonly string[]): void {
  const firstAt = new Map<string, number>();
  const dupes: string[] = [];
  ids.forEach((id, i) => {
    if (firstAt.has(id)) dupes.push(`record_ids[${i}] ${id}`);
    else firstAt.set(id, i);
  });
  if (dupes.length)
    throw new ToolInputError(`Duplicate record ids: ${listSome(dupes)}. Nothing was deleted.`);
}
