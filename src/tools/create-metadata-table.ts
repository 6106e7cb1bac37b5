import { z } from 'zod';
import type { BatchResult } from '../airtable/index.js';
import type { AirtableRecord, Fields, NewFieldSpec, TableSchema } from '../airtable/types.js';
import { isComputed } from './cells.js';
import { findField, resolveBaseId, type ToolContext } from './context.js';
import { defineTool } from './define.js';
import { ToolInputError } from './errors.js';
import { plural } from './format.js';
import { atMost, baseIdParam, nonEmpty } from './schemas.js';

const DATE_TIME_OPTIONS = {
  timeZone: 'utc',
  dateFormat: { name: 'iso', format: 'YYYY-MM-DD' },
  timeFormat: { name: '24hour', format: 'HH:mm' },
};

/** The metadata table's fields, in order; the first is the primary field of a new table. */
const METADATA_FIELDS = [
  { name: 'Table Name', type: 'singleLineText', description: 'Name of the described table.' },
  {
    name: 'Table ID',
    type: 'singleLineText',
    description: 'Id of the described table; rows are matched on it when the metadata is refreshed.',
  },
  { name: 'Description', type: 'multilineText', description: "The table's description." },
  { name: 'Field Count', type: 'number', options: { precision: 0 } },
  { name: 'View Count', type: 'number', options: { precision: 0 } },
  { name: 'Field Types', type: 'multilineText', description: 'Field types and how many fields have each.' },
  { name: 'Primary Field', type: 'singleLineText' },
  {
    name: 'Analysis Date',
    type: 'dateTime',
    description: 'When this row was written.',
    options: DATE_TIME_OPTIONS,
  },
] as const satisfies readonly NewFieldSpec[];

type MetadataField = (typeof METADATA_FIELDS)[number]['name'];
/** Canonical metadata field name → the name that field has in the target table. */
type FieldNames = Record<MetadataField, string>;

const failureEntry = z.object({ table_id: z.string(), table_name: z.string(), error: z.string() });
const staleEntry = z.object({ record_id: z.string(), table_id: z.string(), table_name: z.string() });

interface Target {
  table: TableSchema;
  names: FieldNames;
  fieldsAdded: string[];
  created: boolean;
}

/** A metadata row already in the table. */
interface ExistingRow {
  recordId: string;
  tableId: string;
  tableName: string;
}

const outputShape = {
  table_id: z.string(),
  table_name: z.string(),
  action: z.enum(['created', 'refreshed']),
  fields_added: z.array(z.string()).describe('Metadata fields added to an existing table.'),
  tables_described: z.number().int(),
  created: z.number().int().describe('Rows created.'),
  updated: z.number().int().describe('Rows updated.'),
  failures: z.array(failureEntry),
  stale_rows: z.array(staleEntry).describe('Rows for tables that no longer exist (left in place).'),
};

type Output = z.infer<z.ZodObject<typeof outputShape>>;

export const createMetadataTable = defineTool({
  name: 'create_metadata_table',
  title: 'Create metadata table',
  description:
    'Create or refresh a table with one row per table of the base (name, id, description, counts, field types, ' +
    'primary field, date). Re-runs update rows by Table ID, add new tables and report (never delete) stale rows.',
  toolset: 'schema',
  kind: 'write',
  idempotent: true,
  input: {
    base_id: baseIdParam,
    table_name: z
      .string()
      .trim()
      .refine(...nonEmpty('must name a table'))
      .refine(...atMost(255))
      .default('Table Metadata')
      .describe('An existing table of this name is refreshed.'),
  },
  output: outputShape,
  async run(args, ctx) {
    const baseId = resolveBaseId(ctx, args.base_id);
    // Fresh: the point of this tool is an accurate picture of the base right now.
    const tables = await ctx.schemas.tables(baseId, ctx.signal, true);
    const existing = findByName(tables, args.table_name);
    const target = existing
      ? await ensureFields(ctx, baseId, existing)
      : await createMetaTable(ctx, baseId, args.table_name);
    const described = tables.filter((t) => t.id !== target.table.id);
    const rows = target.created ? [] : await existingRows(ctx, baseId, target);
    const { updated, created, failures } = await writeRows(ctx, baseId, target, described, rows);
    const live = new Set(tables.map((t) => t.id));
    const stale = rows
      .filter((r) => !live.has(r.tableId))
      .map((r) => ({ record_id: r.recordId, table_id: r.tableId, table_name: r.tableName }));
    const structured: Output = {
      table_id: target.table.id,
      table_name: target.table.name,
      action: target.created ? 'created' : 'refreshed',
      fields_added: target.fieldsAdded,
      tables_described: described.length,
      created,
      updated,
      failures,
      stale_rows: stale,
    };
    return { structured, text: summaryText(structured) };
  },
});

function findByName(tables: readonly TableSchema[], name: string): TableSchema | undefined {
  const lower = name.toLowerCase();
  return tables.find((t) => t.name === name) ?? tables.find((t) => t.name.toLowerCase() === lower);
}

async function createMetaTable(ctx: ToolContext, baseId: string, name: string): Promise<Target> {
  const table = await ctx.client.createTable(
    baseId,
    {
      name,
      description: 'One row per table of this base, written by create_metadata_table.',
      fields: METADATA_FIELDS.map((f) => ({ ...f })),
    },
    { signal: ctx.signal },
  );
  ctx.schemas.invalidate(baseId);
  const names = Object.fromEntries(METADATA_FIELDS.map((f) => [f.name, f.name])) as FieldNames;
  return { table, names, fieldsAdded: [], created: true };
}

/** Finds each metadata field in an existing table (any case), adding the missing ones. */
async function ensureFields(ctx: ToolContext, baseId: string, table: TableSchema): Promise<Target> {
  // Refuse to bolt metadata fields onto an ordinary table the model named by mistake.
  if (!findField(table, 'Table ID') && !findField(table, 'Table Name')) {
    throw new ToolInputError(
      `Table "${table.name}" exists but is not a metadata table (it has no "Table Name" or "Table ID" field). ` +
        'Pass another table_name to create a new metadata table.',
    );
  }
  const names = {} as FieldNames;
  const missing: NewFieldSpec[] = [];
  for (const spec of METADATA_FIELDS) {
    const field = findField(table, spec.name);
    if (field && isComputed(field)) {
      throw new ToolInputError(
        `Field "${field.name}" of table "${table.name}" is a ${field.type} field, so metadata cannot be written ` +
          'into it. Rename that field, or pass another table_name to create a new metadata table.',
      );
    }
    if (!field) missing.push({ ...spec });
    names[spec.name] = field?.name ?? spec.name;
  }
  try {
    for (const spec of missing) await ctx.client.createField(baseId, table.id, spec, { signal: ctx.signal });
  } finally {
    if (missing.length) ctx.schemas.invalidate(baseId);
  }
  return { table, names, fieldsAdded: missing.map((f) => f.name), created: false };
}

async function existingRows(ctx: ToolContext, baseId: string, target: Target): Promise<ExistingRow[]> {
  const idField = target.names['Table ID'];
  const nameField = target.names['Table Name'];
  const page = await ctx.client.listRecords(
    baseId,
    target.table.id,
    { fields: [idField, nameField], maxRecords: 100_000 },
    { signal: ctx.signal },
  );
  return page.records
    .map((r) => ({
      recordId: r.id,
      tableId: cellText(r.fields[idField]),
      tableName: cellText(r.fields[nameField]),
    }))
    .filter((r) => r.tableId !== '');
}

function cellText(value: unknown): string {
  return typeof value === 'string' ? value.trim() : value == null ? '' : String(value);
}

function rowFor(table: TableSchema, names: FieldNames, analysedAt: string): Fields {
  const counts = new Map<string, number>();
  for (const f of table.fields) counts.set(f.type, (counts.get(f.type) ?? 0) + 1);
  const types = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([type, n]) => `${type}: ${n}`)
    .join(', ');
  return {
    [names['Table Name']]: table.name,
    [names['Table ID']]: table.id,
    [names.Description]: table.description ?? '',
    [names['Field Count']]: table.fields.length,
    [names['View Count']]: table.views.length,
    [names['Field Types']]: types,
    [names['Primary Field']]: table.fields.find((f) => f.id === table.primaryFieldId)?.name ?? '',
    [names['Analysis Date']]: analysedAt,
  };
}

/** Updates rows already describing a table (the first, if several do) and creates the rest. */
async function writeRows(
  ctx: ToolContext,
  baseId: string,
  target: Target,
  described: readonly TableSchema[],
  rows: readonly ExistingRow[],
): Promise<{ updated: number; created: number; failures: Output['failures'] }> {
  const rowByTable = new Map<string, string>();
  for (const row of rows) if (!rowByTable.has(row.tableId)) rowByTable.set(row.tableId, row.recordId);
  const now = new Date().toISOString();
  const toUpdate = described.filter((t) => rowByTable.has(t.id));
  const toCreate = described.filter((t) => !rowByTable.has(t.id));
  const total = described.length;
  const options = {
    // A pre-existing table may use other (compatible) field types: let Airtable convert.
    typecast: !target.created,
    signal: ctx.signal,
  };
  const none: BatchResult<AirtableRecord> = { outcomes: [], succeeded: [], failed: [], requests: 0 };
  const updates = toUpdate.length
    ? await ctx.client.updateRecords(
        baseId,
        target.table.id,
        toUpdate.map((t) => ({ id: rowByTable.get(t.id)!, fields: rowFor(t, target.names, now) })),
        { ...options, onProgress: (done) => void ctx.progress(done, total, 'updating rows') },
      )
    : none;
  const creates = toCreate.length
    ? await ctx.client.createRecords(
        baseId,
        target.table.id,
        toCreate.map((t) => rowFor(t, target.names, now)),
        {
          ...options,
          onProgress: (done) => void ctx.progress(toUpdate.length + done, total, 'creating rows'),
        },
      )
    : none;
  return {
    updated: updates.succeeded.length,
    created: creates.succeeded.length,
    failures: [...failuresOf(updates, toUpdate), ...failuresOf(creates, toCreate)],
  };
}

function failuresOf(result: BatchResult<AirtableRecord>, tables: readonly TableSchema[]): Output['failures'] {
  return result.failed.map((f) => ({
    table_id: tables[f.index]?.id ?? '',
    table_name: tables[f.index]?.name ?? '',
    error: `${f.error.message} (${f.error.type}). ${f.error.hint}`,
  }));
}

function summaryText(o: Output): string {
  const verb = o.action === 'created' ? 'Created' : 'Refreshed';
  const lines = [
    `${verb} ${o.table_name} (${o.table_id}) describing ${plural(o.tables_described, 'table')}: ` +
      `${plural(o.created, 'row')} created, ${plural(o.updated, 'row')} updated.`,
  ];
  if (o.fields_added.length) lines.push(`Added missing fields: ${o.fields_added.join(', ')}.`);
  for (const f of o.failures) lines.push(`Failed for ${f.table_name} (${f.table_id}): ${f.error}`);
  if (o.stale_rows.length) {
    const list = o.stale_rows
      .map((r) => `${r.table_name || '?'} (${r.table_id}, row ${r.record_id})`)
      .join(', ');
    lines.push(`Rows for tables no longer in the base (left in place; delete them if unwanted): ${list}.`);
  }
  return lines.join('\n');
}
