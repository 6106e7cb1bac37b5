import { z } from 'zod';
import type { FieldSchema, TableSchema } from '../airtable/types.js';
import { requireFields, resolveBaseId } from './context.js';
import { defineTool } from './define.js';
import { compactJson, fitToBudget, plural } from './format.js';
import { baseIdParam, fieldNamesParam, tableParam } from './schemas.js';

const fieldEntry = z.object({
  id: z.string(),
  name: z.string(),
  type: z.string(),
  description: z.string().optional(),
  is_primary: z.boolean(),
  options: z
    .record(z.string(), z.unknown())
    .optional()
    .describe(
      'Type-specific settings, summarised: choices, precision, linked table, formula (with field names)…',
    ),
});

type FieldEntry = z.infer<typeof fieldEntry>;
type Options = Record<string, unknown>;

/** Room kept for the names of the next fields when the answer is cut. */
const NEXT_NAMES_CHARS = 1000;

export const getFieldInfo = defineTool({
  name: 'get_field_info',
  title: 'Get field info',
  description:
    "Describe a table's fields: id, name, type, description, primary or not, and settings (choices, precision, " +
    'linked table, formula, lookup sources, date format), plus counts by type.',
  toolset: 'schema',
  kind: 'read',
  input: {
    base_id: baseIdParam,
    table_id: tableParam,
    fields: fieldNamesParam.describe('Only these fields; default all.'),
  },
  output: {
    table_id: z.string(),
    table_name: z.string(),
    primary_field_id: z.string(),
    field_count: z.number().int().describe('Fields in the table (this answer may hold fewer).'),
    counts_by_type: z.record(z.string(), z.number().int()),
    fields: z.array(fieldEntry),
    truncated: z.boolean().describe('True when not every field fit in the response.'),
  },
  async run(args, ctx) {
    const baseId = resolveBaseId(ctx, args.base_id);
    const table = await ctx.schemas.table(baseId, args.table_id, ctx.signal);
    const tables = await ctx.schemas.tables(baseId, ctx.signal);
    const wanted = args.fields?.length ? requireFields(table, args.fields) : table.fields;
    const all = wanted.map((f) => toEntry(f, table, tables));
    const counts = countByType(table.fields);
    const countsText = Object.entries(counts)
      .map(([type, n]) => `${type}×${n}`)
      .join(', ');
    const { count, truncated } = fitToBudget(
      all,
      fieldLine,
      ctx.maxResponseChars,
      300 + NEXT_NAMES_CHARS + countsText.length,
    );
    const fields = all.slice(0, count);
    const header = `${table.name} (${table.id}): ${plural(table.fields.length, 'field')}${shownNote(all, count)}. Types: ${countsText}`;
    return {
      structured: {
        table_id: table.id,
        table_name: table.name,
        primary_field_id: table.primaryFieldId,
        field_count: table.fields.length,
        counts_by_type: counts,
        fields,
        truncated,
      },
      text: [header, ...fields.map(fieldLine)].join('\n'),
    };
  },
});

/** Which fields this answer holds, and how to ask for (the next of) the ones cut by the response budget. */
function shownNote(all: readonly FieldEntry[], count: number): string {
  if (count >= all.length) return '';
  const next: string[] = [];
  for (const field of all.slice(count)) {
    if (compactJson([...next, field.name]).length > NEXT_NAMES_CHARS && next.length) break;
    next.push(field.name);
  }
  return `, first ${count} of ${all.length} shown (response budget); continue with fields=${compactJson(next)}`;
}

function countByType(fields: readonly FieldSchema[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const f of fields) counts[f.type] = (counts[f.type] ?? 0) + 1;
  return counts;
}

function toEntry(field: FieldSchema, table: TableSchema, tables: readonly TableSchema[]): FieldEntry {
  const options = field.options ? summariseOptions(field, table, tables) : undefined;
  return {
    id: field.id,
    name: field.name,
    type: field.type,
    description: field.description || undefined,
    is_primary: field.id === table.primaryFieldId,
    options: options && Object.keys(options).length ? options : undefined,
  };
}

/** `fldX Name singleLineText [primary] — description | choices=["a","b"]`. */
function fieldLine(f: FieldEntry): string {
  const primary = f.is_primary ? ' [primary]' : '';
  const description = f.description ? ` — ${f.description.replace(/\s+/g, ' ')}` : '';
  const options = f.options
    ? ` | ${Object.entries(f.options)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : compactJson(v)}`)
        .join('; ')}`
    : '';
  return `${f.id} ${f.name} ${f.type}${primary}${description}${options}`;
}

/**
 * The settings a model needs, without the noise (choice ids and colours,
 * isReversed…), with field and table ids resolved to names.
 */
export function summariseOptions(
  field: FieldSchema,
  table: TableSchema,
  tables: readonly TableSchema[],
): Options {
  const o = field.options ?? {};
  switch (field.type) {
    case 'singleSelect':
    case 'multipleSelects':
    case 'externalSyncSource':
      return { choices: choiceNames(o.choices) };
    case 'number':
    case 'percent':
    case 'currency':
      return pick(o, ['precision', 'symbol']);
    case 'rating':
      return pick(o, ['max', 'icon']);
    case 'duration':
      return pick(o, ['durationFormat']);
    case 'date':
    case 'dateTime':
      return dateFormats(o);
    case 'createdTime':
    case 'lastModifiedTime':
      return { ...resultSummary(o), ...pickFieldNames(o, 'referenced_fields', table) };
    case 'multipleRecordLinks':
      return linkSummary(o, tables);
    case 'formula':
      return formulaSummary(o, table);
    case 'rollup':
    case 'multipleLookupValues':
    case 'lookup':
    case 'count':
      return sourceSummary(o, table, tables);
    case 'checkbox':
    case 'multipleAttachments':
    case 'singleCollaborator':
    case 'multipleCollaborators':
      // Icons, colours and display order say nothing about the data.
      return {};
    default:
      return o;
  }
}

function choiceNames(choices: unknown): string[] {
  if (!Array.isArray(choices)) return [];
  return choices.map((c) =>
    c && typeof c === 'object' ? String((c as { name?: unknown }).name ?? '') : String(c),
  );
}

function pick(o: Options, keys: readonly string[]): Options {
  const out: Options = {};
  for (const key of keys) if (o[key] !== undefined) out[key] = o[key];
  return out;
}

function formatName(value: unknown): unknown {
  if (value && typeof value === 'object') {
    const { format, name } = value as { format?: unknown; name?: unknown };
    return format ?? name;
  }
  return value;
}

function dateFormats(o: Options): Options {
  const out: Options = {};
  if (o.dateFormat !== undefined) out.date_format = formatName(o.dateFormat);
  if (o.timeFormat !== undefined) out.time_format = formatName(o.timeFormat);
  if (o.timeZone !== undefined) out.time_zone = o.timeZone;
  return out;
}

/** Computed fields: the type (and formats) of the value they produce. */
function resultSummary(o: Options): Options {
  const result = o.result as { type?: unknown; options?: Options } | undefined;
  const out: Options = {};
  if (result?.type !== undefined) out.result_type = result.type;
  if (result?.options?.choices !== undefined) out.choices = choiceNames(result.options.choices);
  Object.assign(out, result?.options ? dateFormats(result.options) : {});
  if (result?.options?.precision !== undefined) out.precision = result.options.precision;
  if (o.isValid === false) out.is_valid = false;
  return out;
}

function linkSummary(o: Options, tables: readonly TableSchema[]): Options {
  const linked = tables.find((t) => t.id === o.linkedTableId);
  const inverse = linked?.fields.find((f) => f.id === o.inverseLinkFieldId);
  const out: Options = { linked_table_id: o.linkedTableId };
  if (linked) out.linked_table = linked.name;
  if (o.inverseLinkFieldId !== undefined) out.inverse_field = inverse?.name ?? o.inverseLinkFieldId;
  if (o.prefersSingleRecordLink === true) out.single_record = true;
  return out;
}

function formulaSummary(o: Options, table: TableSchema): Options {
  const out: Options = {};
  if (typeof o.formula === 'string') out.formula = formulaWithNames(o.formula, table);
  return { ...out, ...resultSummary(o) };
}

/** `{fldAbc…} & {fldDef…}` → `{Status} & {Priority}`; ids of unknown fields stay as they are. */
export function formulaWithNames(formula: string, table: TableSchema): string {
  return formula.replace(/\{(fld[A-Za-z0-9]{14})\}/g, (whole, id: string) => {
    const field = table.fields.find((f) => f.id === id);
    return field ? `{${field.name}}` : whole;
  });
}

/** Lookup, rollup and count: which link field they follow and which field of the linked table they read. */
function sourceSummary(o: Options, table: TableSchema, tables: readonly TableSchema[]): Options {
  const link = table.fields.find((f) => f.id === o.recordLinkFieldId);
  const linked = tables.find((t) => t.id === link?.options?.linkedTableId);
  const source = linked?.fields.find((f) => f.id === o.fieldIdInLinkedTable);
  const out: Options = {};
  if (o.recordLinkFieldId !== undefined) out.via_link_field = link?.name ?? o.recordLinkFieldId;
  if (linked) out.linked_table = linked.name;
  if (o.fieldIdInLinkedTable !== undefined) out.source_field = source?.name ?? o.fieldIdInLinkedTable;
  if (typeof o.formula === 'string') out.formula = o.formula;
  return { ...out, ...resultSummary(o) };
}

function pickFieldNames(o: Options, key: string, table: TableSchema): Options {
  const ids = o.referencedFieldIds;
  if (!Array.isArray(ids) || ids.length === 0) return {};
  return { [key]: ids.map((id) => table.fields.find((f) => f.id === id)?.name ?? String(id)) };
}
