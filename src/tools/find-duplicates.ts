import { z } from 'zod';
import type { AirtableRecord, FieldSchema } from '../airtable/types.js';
import { isEmptyCell } from './cells.js';
import { requireFields, resolveBaseId } from './context.js';
import { defineTool } from './define.js';
import { clip, compactJson, fitToBudget, plural } from './format.js';
import { type KeyOptions, tupleKey } from './normalize.js';
import { readAll } from './read-all.js';
import { baseIdParam, fieldNameItem, tableParam } from './schemas.js';

/** Records listed per group; `count` always has the full size. */
const MAX_RECORDS_PER_GROUP = 50;
/** Long texts (notes) are shortened in the output; matching always uses the whole value. */
const VALUE_CHARS = 200;

const groupSchema = z.object({
  key: z.string().describe('The normalised value(s) the records share'),
  count: z.number().int(),
  records: z.array(z.object({ id: z.string(), values: z.record(z.string(), z.unknown()) })),
});
type Group = z.infer<typeof groupSchema>;

export const findDuplicates = defineTool({
  name: 'find_duplicates',
  title: 'Find duplicate records',
  description:
    'Find records whose `fields` match after normalising (trim, collapse spaces, ignore case, NFKC; lists as ' +
    'sets). Scans up to max_records; returns groups of 2+, largest first, with ids and original values.',
  toolset: 'analysis',
  kind: 'read',
  input: {
    base_id: baseIdParam,
    table_id: tableParam,
    fields: z
      .array(fieldNameItem)
      .min(1)
      .max(10)
      .describe('Fields whose combined values must match, e.g. ["First","Last"].'),
    ignore_empty: z.boolean().default(true).describe('Skip records with an empty value in these fields.'),
    ignore_accents: z.boolean().default(false).describe('"José" = "Jose".'),
    max_records: z.number().int().min(1).max(100_000).default(10_000),
  },
  output: {
    table: z.object({ id: z.string(), name: z.string() }),
    fields: z.array(z.string()),
    records_scanned: z.number().int(),
    more_records: z
      .boolean()
      .describe('True when the table has more records than max_records; they were not compared.'),
    skipped_empty: z.number().int().describe('Records skipped because a field was empty (ignore_empty).'),
    duplicate_groups: z.number().int(),
    duplicate_records: z.number().int().describe('Records that belong to a group'),
    groups: z.array(groupSchema),
    truncated: z.boolean().describe('True when not every group fits in the response.'),
  },
  async run(args, ctx) {
    const baseId = resolveBaseId(ctx, args.base_id);
    const table = await ctx.schemas.table(baseId, args.table_id, ctx.signal);
    const fields = requireFields(table, args.fields);
    const { records, more } = await readAll(
      ctx,
      baseId,
      table.id,
      { fields: fields.map((f) => f.name) },
      args.max_records,
      (soFar) => void ctx.progress(soFar, undefined, `read ${soFar} records`),
    );
    const { groups: all, skipped } = groupRecords(records, fields, args.ignore_empty, {
      ignoreAccents: args.ignore_accents,
    });
    const { count, truncated } = fitToBudget(all, groupLine, ctx.maxResponseChars, 400);
    const structured = {
      table: { id: table.id, name: table.name },
      fields: fields.map((f) => f.name),
      records_scanned: records.length,
      more_records: more,
      skipped_empty: skipped,
      duplicate_groups: all.length,
      duplicate_records: all.reduce((n, g) => n + g.count, 0),
      groups: all.slice(0, count),
      truncated,
    };
    const lines = [summary(structured), ...structured.groups.map(groupLine)];
    if (truncated) lines.push(`(${all.length - count} smaller groups not shown)`);
    return { structured, text: lines.join('\n') };
  },
});

function groupRecords(
  records: readonly AirtableRecord[],
  fields: readonly FieldSchema[],
  ignoreEmpty: boolean,
  options: KeyOptions,
): { groups: Group[]; skipped: number } {
  const byKey = new Map<string, AirtableRecord[]>();
  let skipped = 0;
  for (const record of records) {
    const values = fields.map((f) => record.fields[f.name]);
    if (ignoreEmpty && values.some(isEmptyCell)) {
      skipped++;
      continue;
    }
    const key = tupleKey(values, options);
    const list = byKey.get(key) ?? [];
    list.push(record);
    byKey.set(key, list);
  }
  const groups = [...byKey]
    .filter(([, list]) => list.length > 1)
    .map(([key, list]) => toGroup(key, list, fields))
    .sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
  return { groups, skipped };
}

function toGroup(key: string, list: readonly AirtableRecord[], fields: readonly FieldSchema[]): Group {
  return {
    // Separators are control characters; show them readably.
    key: key.replaceAll('\u001e', ' | ').replaceAll('\u001f', ', '),
    count: list.length,
    records: list.slice(0, MAX_RECORDS_PER_GROUP).map((r) => ({
      id: r.id,
      values: Object.fromEntries(fields.map((f) => [f.name, shorten(r.fields[f.name] ?? null)])),
    })),
  };
}

function shorten(value: unknown): unknown {
  return typeof value === 'string' ? clip(value, VALUE_CHARS) : value;
}

function groupLine(g: Group): string {
  const shown = g.records.map((r) => {
    const values = Object.values(r.values);
    return `${r.id} ${compactJson(values.length === 1 ? values[0] : r.values)}`;
  });
  const more = g.count > g.records.length ? ` … +${g.count - g.records.length} more` : '';
  return `${compactJson(g.key)} ×${g.count}: ${shown.join(' | ')}${more}`;
}

interface Summary {
  table: { name: string };
  fields: string[];
  records_scanned: number;
  more_records: boolean;
  skipped_empty: number;
  duplicate_groups: number;
  duplicate_records: number;
}

function summary(o: Summary): string {
  const scope = o.more_records
    ? `the first ${plural(o.records_scanned, 'record')} (table has more; raise max_records)`
    : plural(o.records_scanned, 'record');
  const skip = o.skipped_empty ? `; ${o.skipped_empty} with an empty value skipped` : '';
  const found = `${plural(o.duplicate_groups, 'duplicate group')} (${plural(o.duplicate_records, 'record')})`;
  const head = `${o.table.name}: ${found} among ${scope} on ${o.fields.join(' + ')}${skip}`;
  return o.duplicate_groups ? `${head}:` : `${head}.`;
}
