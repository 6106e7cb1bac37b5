import { z } from 'zod';
import type { BatchOptions, BatchResult, Fields, TableSchema } from '../airtable/index.js';
import { requireFields, resolveBaseId, type ToolContext } from './context.js';
import { defineTool } from './define.js';
import { ToolInputError } from './errors.js';
import { clip, compactJson, plural } from './format.js';
import { readAll } from './read-all.js';
import { fieldNamesParam, nonEmpty, tableParam } from './schemas.js';
import { buildSyncPlan, type SyncField, type SyncPlan, selectSyncFields } from './sync-plan.js';

const SAMPLES = 5;
const MAX_LISTED = 20;

const syncBaseParam = (side: string) =>
  z
    .string()
    .trim()
    .refine(...nonEmpty('must name a base'))
    .describe(`Base id of the ${side} table.`);

const sideSchema = z.object({
  base_id: z.string(),
  table_id: z.string(),
  table: z.string(),
  records: z.number().int(),
});
const changeSchema = z.object({ from: z.unknown(), to: z.unknown() });
const failureSchema = z.object({
  action: z.enum(['create', 'update', 'delete']),
  key: z.string(),
  id: z.string().optional(),
  error: z.string(),
});
type Failure = z.infer<typeof failureSchema>;

export const syncTables = defineTool({
  name: 'sync_tables',
  title: 'Sync tables',
  description:
    'Make a target table match a source, records matched on key_field (trimmed, any case): create missing, update ' +
    'differing, with delete_missing delete extra; duplicate keys are skipped. Syncs shared fields except computed, ' +
    'links and attachments. dry_run (default) returns only the plan: counts and 5 samples per change.',
  toolset: 'analysis',
  kind: 'destructive',
  idempotent: true,
  input: {
    source_base_id: syncBaseParam('source'),
    source_table_id: tableParam,
    target_base_id: syncBaseParam('target'),
    target_table_id: tableParam,
    key_field: z
      .string()
      .trim()
      .refine(...nonEmpty('must name a field'))
      .describe('Field in both tables identifying a record, e.g. "Email".'),
    dry_run: z.boolean().default(true).describe('false applies the plan.'),
    delete_missing: z
      .boolean()
      .default(false)
      .describe('Delete target records whose key is not in the source.'),
    fields: fieldNamesParam.describe('Fields to sync; default all shared writable ones.'),
    max_records: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(10_000)
      .describe('Per table; applying needs both read completely.'),
  },
  output: {
    source: sideSchema,
    target: sideSchema,
    key_field: z.string(),
    fields: z.array(z.string()).describe('Target fields that are compared and written'),
    skipped_fields: z.array(z.object({ name: z.string(), reason: z.string() })),
    complete: z
      .boolean()
      .describe('False when a table has more than max_records records; the plan is then partial.'),
    dry_run: z.boolean(),
    plan: z.object({
      creates: z.number().int(),
      updates: z.number().int(),
      deletes: z.number().int(),
      unchanged: z.number().int(),
      target_only: z.number().int().describe('Target records whose key is not in the source'),
      duplicate_keys: z.number().int(),
      empty_keys: z.object({ source: z.number().int(), target: z.number().int() }),
    }),
    samples: z.object({
      creates: z.array(z.object({ key: z.string(), fields: z.record(z.string(), z.unknown()) })),
      updates: z.array(
        z.object({ key: z.string(), id: z.string(), changes: z.record(z.string(), changeSchema) }),
      ),
      deletes: z.array(z.object({ key: z.string(), id: z.string() })),
    }),
    duplicate_keys: z.array(
      z.object({ key: z.string(), source: z.number().int(), target: z.number().int() }),
    ),
    applied: z
      .object({
        created: z.number().int(),
        updated: z.number().int(),
        deleted: z.number().int(),
        failed: z.number().int(),
        failures: z.array(failureSchema).describe('First 20 failures'),
      })
      .optional(),
  },
  async run(args, ctx) {
    const sourceBase = resolveBaseId(ctx, args.source_base_id);
    const targetBase = resolveBaseId(ctx, args.target_base_id);
    const source = await ctx.schemas.table(sourceBase, args.source_table_id, ctx.signal);
    const target = await ctx.schemas.table(targetBase, args.target_table_id, ctx.signal);
    if (sourceBase === targetBase && source.id === target.id) {
      throw new ToolInputError('Source and target are the same table; sync needs two different tables.');
    }
    const key: SyncField = {
      source: requireFields(source, [args.key_field])[0]!,
      target: requireFields(target, [args.key_field])[0]!,
    };
    const { fields, skipped } = selectSyncFields(source, target, key, args.fields);
    const reads = await readBoth(ctx, [sourceBase, source], [targetBase, target], fields, args.max_records);
    const complete = !reads.source.more && !reads.target.more;
    if (!complete && !args.dry_run) {
      throw new ToolInputError(
        `A table has more than max_records=${args.max_records} records, so the plan would be partial (wrong creates ` +
          'or deletes). Raise max_records (up to 100000) to apply; dry_run works on the partial data.',
      );
    }
    const plan = buildSyncPlan(reads.source.records, reads.target.records, fields, args.delete_missing);
    // Progress keeps counting after the reads, so it only ever grows.
    const read = reads.source.records.length + reads.target.records.length;
    const applied = args.dry_run ? undefined : await applyPlan(ctx, targetBase, target.id, plan, read);
    const structured = {
      source: side(sourceBase, source, reads.source.records.length),
      target: side(targetBase, target, reads.target.records.length),
      key_field: key.target.name,
      fields: fields.map((f) => f.target.name),
      skipped_fields: skipped,
      complete,
      dry_run: args.dry_run,
      plan: planCounts(plan),
      samples: samplesOf(plan),
      duplicate_keys: plan.duplicateKeys.slice(0, MAX_LISTED),
      applied,
    };
    return { structured, text: render(structured, args.delete_missing) };
  },
});

type Side = [baseId: string, table: TableSchema];

/** Both tables, one after the other (they may share a base's rate limit); progress counts records read. */
async function readBoth(ctx: ToolContext, [sb, st]: Side, [tb, tt]: Side, fields: SyncField[], cap: number) {
  const report = (offset: number) => (soFar: number) =>
    void ctx.progress(offset + soFar, undefined, `read ${offset + soFar} records`);
  const source = await readAll(ctx, sb, st.id, { fields: fields.map((f) => f.source.name) }, cap, report(0));
  const targetFields = fields.map((f) => f.target.name);
  const target = await readAll(ctx, tb, tt.id, { fields: targetFields }, cap, report(source.records.length));
  return { source, target };
}

function side(baseId: string, table: TableSchema, records: number) {
  return { base_id: baseId, table_id: table.id, table: table.name, records };
}

function planCounts(plan: SyncPlan) {
  return {
    creates: plan.creates.length,
    updates: plan.updates.length,
    deletes: plan.deletes.length,
    unchanged: plan.unchanged,
    target_only: plan.targetOnly,
    duplicate_keys: plan.duplicateKeys.length,
    empty_keys: plan.emptyKeys,
  };
}

/** Long texts are shortened in samples; the plan itself writes whole values. */
function shorten(value: unknown): unknown {
  return typeof value === 'string' ? clip(value, 200) : value;
}

function shortenFields(fields: Fields): Fields {
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, shorten(v)]));
}

function samplesOf(plan: SyncPlan) {
  return {
    creates: plan.creates.slice(0, SAMPLES).map((c) => ({ key: c.key, fields: shortenFields(c.fields) })),
    updates: plan.updates.slice(0, SAMPLES).map((u) => ({
      key: u.key,
      id: u.id,
      changes: Object.fromEntries(
        Object.entries(u.changes).map(([k, c]) => [k, { from: shorten(c.from), to: shorten(c.to) }]),
      ),
    })),
    deletes: plan.deletes.slice(0, SAMPLES),
  };
}

/**
 * Creates, then updates, then deletes, each in batches of 10 with progress.
 * typecast is on so select options missing in the target are created. A
 * failed record does not stop the others; failures are reported per record.
 */
async function applyPlan(
  ctx: ToolContext,
  baseId: string,
  tableId: string,
  plan: SyncPlan,
  progressFrom: number,
) {
  const phases: {
    action: Failure['action'];
    keys: string[];
    run: (o: BatchOptions) => Promise<BatchResult<unknown>>;
  }[] = [
    {
      action: 'create',
      keys: plan.creates.map((c) => c.key),
      run: (o) =>
        ctx.client.createRecords(
          baseId,
          tableId,
          plan.creates.map((c) => c.fields),
          o,
        ),
    },
    {
      action: 'update',
      keys: plan.updates.map((u) => u.key),
      run: (o) =>
        ctx.client.updateRecords(
          baseId,
          tableId,
          plan.updates.map((u) => ({ id: u.id, fields: u.fields })),
          o,
        ),
    },
    {
      action: 'delete',
      keys: plan.deletes.map((d) => d.key),
      run: (o) =>
        ctx.client.deleteRecords(
          baseId,
          tableId,
          plan.deletes.map((d) => d.id),
          o,
        ),
    },
  ];
  const total = phases.reduce((n, p) => n + p.keys.length, progressFrom);
  let before = progressFrom;
  const succeeded = { create: 0, update: 0, delete: 0 };
  const failures: Failure[] = [];
  for (const { action, keys, run } of phases) {
    if (!keys.length || ctx.signal.aborted) continue;
    const onProgress = (done: number) =>
      void ctx.progress(before + done, total, `${action}: ${done} of ${keys.length}`);
    const result = await run({ typecast: true, signal: ctx.signal, onProgress });
    succeeded[action] = result.succeeded.length;
    for (const f of result.failed)
      failures.push({ action, key: keys[f.index] ?? '', id: f.id, error: f.error.message });
    before += keys.length;
  }
  // typecast may have added select options to the target's schema.
  if (succeeded.create || succeeded.update) ctx.schemas.invalidate(baseId);
  return {
    created: succeeded.create,
    updated: succeeded.update,
    deleted: succeeded.delete,
    failed: failures.length,
    failures: failures.slice(0, MAX_LISTED),
  };
}

type SyncOutput = {
  source: ReturnType<typeof side>;
  target: ReturnType<typeof side>;
  key_field: string;
  fields: string[];
  skipped_fields: { name: string; reason: string }[];
  complete: boolean;
  dry_run: boolean;
  plan: ReturnType<typeof planCounts>;
  samples: ReturnType<typeof samplesOf>;
  duplicate_keys: SyncPlan['duplicateKeys'];
  applied?: Awaited<ReturnType<typeof applyPlan>>;
};

function render(out: SyncOutput, deleteMissing: boolean): string {
  const p = out.plan;
  const lines = [
    `${out.dry_run ? 'Dry run: sync' : 'Sync'} ${out.source.table} (${out.source.base_id}, ${plural(out.source.records, 'record')}) → ` +
      `${out.target.table} (${out.target.base_id}, ${plural(out.target.records, 'record')}) on ${out.key_field}; ` +
      `fields: ${out.fields.join(', ')}.`,
    `Plan: ${p.creates} to create, ${p.updates} to update, ${p.deletes} to delete, ${p.unchanged} unchanged.` +
      (p.target_only && !deleteMissing
        ? ` ${plural(p.target_only, 'target record')} not in the source kept (delete_missing=true deletes them).`
        : ''),
  ];
  if (!out.complete) lines.push('Warning: a table has more than max_records records; this plan is partial.');
  if (out.samples.creates.length)
    lines.push(`Create: ${out.samples.creates.map((c) => compactJson(c.key)).join(', ')}`);
  for (const u of out.samples.updates) lines.push(`Update ${compactJson(u.key)}: ${changesText(u.changes)}`);
  if (out.samples.deletes.length)
    lines.push(`Delete: ${out.samples.deletes.map((d) => compactJson(d.key)).join(', ')}`);
  if (p.duplicate_keys)
    lines.push(`Skipped duplicate keys: ${duplicatesText(out.duplicate_keys, p.duplicate_keys)}`);
  if (p.empty_keys.source || p.empty_keys.target) {
    lines.push(
      `Skipped records with an empty key: ${p.empty_keys.source} in source, ${p.empty_keys.target} in target.`,
    );
  }
  if (out.skipped_fields.length) {
    lines.push(`Not synced: ${out.skipped_fields.map((s) => `${s.name} (${s.reason})`).join(', ')}`);
  }
  lines.push(
    out.applied ? appliedText(out.applied) : 'Nothing was written; run with dry_run=false to apply.',
  );
  return lines.join('\n');
}

function changesText(changes: Record<string, { from: unknown; to: unknown }>): string {
  return Object.entries(changes)
    .map(([field, c]) => `${field} ${clip(compactJson(c.from), 60)}→${clip(compactJson(c.to), 60)}`)
    .join(', ');
}

function duplicatesText(list: SyncPlan['duplicateKeys'], total: number): string {
  const shown = list.map((d) => `${compactJson(d.key)} (source ${d.source}, target ${d.target})`).join(', ');
  return total > list.length ? `${shown}, … (${total} in all)` : shown;
}

function appliedText(a: NonNullable<SyncOutput['applied']>): string {
  const head = `Applied: ${a.created} created, ${a.updated} updated, ${a.deleted} deleted, ${a.failed} failed.`;
  const failures = a.failures.map(
    (f) => `${f.action} ${compactJson(f.key)}${f.id ? ` ${f.id}` : ''}: ${f.error}`,
  );
  return [head, ...failures].join('\n');
}
