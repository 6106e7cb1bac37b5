import { z } from 'zod';
import type { Fields } from '../airtable/types.js';
import {
  batchItemSchema,
  batchOutput,
  batchResult,
  MAX_BATCH,
  mergeParts,
  runProbed,
} from './batch-output.js';
import { resolveBaseId, type ToolContext } from './context.js';
import { defineTool } from './define.js';
import { ToolInputError } from './errors.js';
import { canonicalFields, checkRecordIds, listSome, mergeFieldNames, writeTable } from './record-input.js';
import { baseIdParam, fieldsObjectParam, tableParam, typecastParam } from './schemas.js';

/**
 * Declared destructive (unlike batch_update_records): with replace=true every
 * field not given is cleared. Idempotent: a repeated upsert matches the
 * records the first one created, so it creates nothing new.
 */
export const upsertRecords = defineTool({
  name: 'upsert_records',
  title: 'Upsert records',
  description:
    'Create or update up to 10,000 records: one with id updates it; one without updates the record matching its ' +
    'fields_to_merge_on values, or is created (2+ matches fail it). Returns created, updated and failures by index.',
  toolset: 'bulk',
  kind: 'destructive',
  idempotent: true,
  input: {
    base_id: baseIdParam,
    table_id: tableParam,
    records: z
      .array(
        z.object({
          id: z.string().trim().optional().describe('Record id to update directly; omit to match on fields.'),
          fields: fieldsObjectParam,
        }),
      )
      .min(1, 'give at least one record')
      .max(MAX_BATCH)
      .describe('Records: [{"fields": {"Email": "a@b.c", "Name": "Ann"}}, …].'),
    fields_to_merge_on: z
      .array(z.string().trim().min(1).max(256))
      .min(1)
      .max(3)
      .describe(
        '1-3 field names or ids that identify a record, e.g. ["Email"]. Every record without id needs them.',
      ),
    typecast: typecastParam,
    replace: z
      .boolean()
      .default(false)
      .describe(
        'true: clear every field not given in matched records. Default false: change only fields given.',
      ),
  },
  output: {
    created: z.number().int(),
    updated: z.number().int(),
    unsure: z
      .number()
      .int()
      .describe(
        'Written by a request resent after its answer was lost: created or updated, Airtable cannot say.',
      ),
    ...batchOutput,
    records: z
      .array(batchItemSchema.extend({ action: z.enum(['created', 'updated', 'created or updated']) }))
      .describe(
        'Records written, in input order. "created or updated": a request was resent after its answer was lost, so Airtable cannot say which.',
      ),
  },
  async run(args, ctx) {
    const baseId = resolveBaseId(ctx, args.base_id);
    const { target, mergeOn, records } = await prepare(ctx, baseId, args);
    const options = {
      fieldsToMergeOn: mergeOn,
      typecast: args.typecast,
      replace: args.replace,
      signal: ctx.signal,
    };
    const { parts, notSent } = await runProbed(ctx, records, (slice, onProgress) =>
      ctx.client.upsertRecords(baseId, target.ref, slice, { ...options, onProgress }),
    );
    const created = new Set(parts.flatMap((p) => p.result.createdRecordIds));
    const unsure = new Set(parts.flatMap((p) => p.result.possiblyCreatedRecordIds));
    const result = mergeParts(parts);
    const items = result.outcomes.flatMap((o) =>
      o.ok
        ? [
            {
              index: o.index,
              id: o.value.id,
              action: action(created, unsure, o.value.id),
              fields: o.value.fields,
            },
          ]
        : [],
    );
    const createdCount = items.filter((i) => i.action === 'created').length;
    const updatedCount = items.filter((i) => i.action === 'updated').length;
    return batchResult(ctx, {
      counts: {
        created: createdCount,
        updated: updatedCount,
        unsure: items.length - createdCount - updatedCount,
      },
      items,
      failed: result.failed,
      requests: result.requests,
      heading: 'Written',
      notSent,
    });
  },
});

interface UpsertInput {
  table_id: string;
  records: { id?: string; fields: Fields }[];
  fields_to_merge_on: string[];
}

/** Every local check, before anything is written: ids, table, merge fields, field names, merge values. */
async function prepare(ctx: ToolContext, baseId: string, args: UpsertInput) {
  const withIds = args.records.flatMap((r, i) => (r.id === undefined ? [] : [{ id: r.id, i }]));
  checkRecordIds(
    withIds.map((r) => r.id),
    (k) => `records[${withIds[k]!.i}].id`,
  );
  const target = await writeTable(ctx, baseId, args.table_id);
  const mergeOn = await mergeFieldNames(ctx, baseId, target, args.fields_to_merge_on);
  const fields = await canonicalFields(
    ctx,
    baseId,
    target,
    args.records.map((r) => r.fields),
  );
  const records = args.records.map((r, i) =>
    r.id ? { id: r.id, fields: fields[i]! } : { fields: fields[i]! },
  );
  // Without a schema the merge fields may be spelt differently in the records; leave that check to Airtable.
  if (target.schema) checkMergeValues(records, mergeOn);
  return { target, mergeOn, records };
}

function action(
  created: Set<string>,
  unsure: Set<string>,
  id: string,
): 'created' | 'updated' | 'created or updated' {
  if (created.has(id)) return 'created';
  return unsure.has(id) ? 'created or updated' : 'updated';
}

/** A record matched on fields must carry them; Airtable would reject it, one request per record. */
function checkMergeValues(records: { id?: string; fields: Fields }[], mergeOn: string[]): void {
  const missing = records.flatMap((r, i) =>
    r.id || mergeOn.every((name) => Object.hasOwn(r.fields, name)) ? [] : [`records[${i}]`],
  );
  if (!missing.length) return;
  throw new ToolInputError(
    `Records without an id must include every fields_to_merge_on field (${mergeOn.join(', ')}); missing in ` +
      `${listSome(missing)}. Nothing was written.`,
  );
}
