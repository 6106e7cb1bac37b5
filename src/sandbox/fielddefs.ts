/**
 * Validation of field and table definitions for the metadata API (reference §5): names unique
 * case-insensitively, known types, select choices get ids, links get an inverse field, formulas compile.
 */
import { apiError, invalidRequest } from './errors.js';
import { compileFormula } from './formula/index.js';
import { isFormulaError } from './formulas.js';
import { newId } from './ids.js';
import {
  type BaseDef,
  type FieldDef,
  type FieldType,
  SANDBOX_FIELD_TYPES,
  type SelectChoice,
  type TableDef,
} from './model.js';
import { tableById } from './schema.js';

/** Types a table's first (primary) field may have. */
export const PRIMARY_TYPES = new Set<FieldType>([
  'singleLineText',
  'multilineText',
  'richText',
  'email',
  'url',
  'phoneNumber',
  'number',
  'percent',
  'currency',
  'duration',
  'date',
  'dateTime',
  'formula',
  'autoNumber',
  'barcode',
  'createdTime',
  'lastModifiedTime',
]);

export const MAX_DESCRIPTION = 20_000;

export const duplicateFieldName = (name: string): Error =>
  apiError(
    422,
    'DUPLICATE_OR_EMPTY_FIELD_NAME',
    `Field names must be non-empty and unique (case-insensitive): "${name}"`,
  );

export const duplicateTableName = (name: string): Error =>
  apiError(422, 'DUPLICATE_TABLE_NAME', `A table named "${name}" already exists in this base`);

export function description(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length > MAX_DESCRIPTION) throw invalidRequest();
  return value;
}

/** A field name: non-empty after trimming and unique (case-insensitively) among `taken`. */
export function fieldName(value: unknown, taken: Iterable<string>): string {
  const name = typeof value === 'string' ? value.trim() : '';
  const lower = name.toLowerCase();
  if (name === '' || [...taken].some((t) => t.toLowerCase() === lower))
    throw duplicateFieldName(String(value ?? ''));
  return name;
}

type OptionsBuilder = (options: Record<string, unknown>, ctx: FieldContext) => Record<string, unknown>;

export interface FieldContext {
  base: BaseDef;
  /** The fields of the table so far (formulas and counts may reference them). */
  siblings: FieldDef[];
}

function withChoices(options: Record<string, unknown>): Record<string, unknown> {
  const choices = options.choices ?? [];
  if (!Array.isArray(choices)) throw invalidRequest();
  const out: SelectChoice[] = choices.map((c) => {
    const name = (c as { name?: unknown } | null)?.name;
    if (typeof name !== 'string' || name === '') throw invalidRequest();
    const color = (c as { color?: unknown }).color;
    return typeof color === 'string' ? { id: newId('sel'), name, color } : { id: newId('sel'), name };
  });
  return { ...options, choices: out };
}

function linkOptions(options: Record<string, unknown>, ctx: FieldContext): Record<string, unknown> {
  const linked =
    typeof options.linkedTableId === 'string' ? tableById(ctx.base, options.linkedTableId) : undefined;
  if (!linked)
    throw invalidRequest('Invalid request: options.linkedTableId must be the id of a table in this base');
  return { isReversed: false, prefersSingleRecordLink: false, ...options, linkedTableId: linked.id };
}

/** Formula options with the engine's validation: an invalid formula is rejected. */
export function formulaOptions(options: Record<string, unknown>, ctx: FieldContext): Record<string, unknown> {
  if (typeof options.formula !== 'string' || options.formula.trim() === '') throw invalidRequest();
  try {
    const compiled = compileFormula(options.formula, ctx.siblings);
    return { ...options, isValid: true, referencedFieldIds: compiled.referencedFieldIds };
  } catch (err) {
    const detail = isFormulaError(err) ? err.message : 'Invalid formula. Please check your formula text.';
    throw invalidRequest(`Invalid request: the formula is invalid: ${detail}`);
  }
}

function countOptions(options: Record<string, unknown>, ctx: FieldContext): Record<string, unknown> {
  const link = ctx.siblings.find(
    (f) => f.id === options.recordLinkFieldId && f.type === 'multipleRecordLinks',
  );
  if (!link)
    throw invalidRequest('Invalid request: options.recordLinkFieldId must be a link field of this table');
  return { isValid: true, ...options };
}

const OPTIONS: Partial<Record<FieldType, OptionsBuilder>> = {
  singleSelect: withChoices,
  multipleSelects: withChoices,
  multipleRecordLinks: linkOptions,
  formula: formulaOptions,
  count: countOptions,
  number: (o) => ({ precision: 0, ...o }),
  percent: (o) => ({ precision: 0, ...o }),
  currency: (o) => ({ precision: 2, symbol: '$', ...o }),
  rating: (o) => ({ icon: 'star', max: 5, color: 'yellowBright', ...o }),
  checkbox: (o) => ({ icon: 'check', color: 'greenBright', ...o }),
};

/** A validated new field (not yet attached to its table). */
export function buildField(input: unknown, ctx: FieldContext): FieldDef {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw invalidRequest();
  const raw = input as { name?: unknown; type?: unknown; description?: unknown; options?: unknown };
  const name = fieldName(
    raw.name,
    ctx.siblings.map((f) => f.name),
  );
  if (typeof raw.type !== 'string' || !SANDBOX_FIELD_TYPES.has(raw.type as FieldType)) {
    throw invalidRequest(`Invalid request: unsupported field type ${JSON.stringify(raw.type)}`);
  }
  const type = raw.type as FieldType;
  if (raw.options !== undefined && (typeof raw.options !== 'object' || raw.options === null))
    throw invalidRequest();
  const given = (raw.options ?? {}) as Record<string, unknown>;
  const builder = OPTIONS[type];
  const options = builder ? builder(given, ctx) : raw.options === undefined ? undefined : given;
  const field: FieldDef = { id: newId('fld'), name, type };
  const desc = description(raw.description);
  if (desc !== undefined) field.description = desc;
  if (options !== undefined) field.options = options;
  return field;
}

/** Gives a new link field its inverse in the linked table (self-links have none, like Airtable's). */
export function addInverseLink(base: BaseDef, table: TableDef, field: FieldDef): void {
  if (field.type !== 'multipleRecordLinks') return;
  const linked = tableById(base, String(field.options?.linkedTableId ?? ''));
  if (!linked || linked.id === table.id) return;
  const taken = new Set(linked.fields.map((f) => f.name.toLowerCase()));
  let name = table.name;
  for (let n = 2; taken.has(name.toLowerCase()); n++) name = `${table.name} ${n}`;
  const inverse: FieldDef = {
    id: newId('fld'),
    name,
    type: 'multipleRecordLinks',
    options: {
      linkedTableId: table.id,
      isReversed: false,
      prefersSingleRecordLink: false,
      inverseLinkFieldId: field.id,
    },
  };
  linked.fields.push(inverse);
  field.options = { ...field.options, inverseLinkFieldId: inverse.id };
}

/** A validated new table with its fields and a default "Grid view". */
export function buildTable(base: BaseDef, input: unknown): TableDef {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw invalidRequest();
  const raw = input as { name?: unknown; description?: unknown; fields?: unknown };
  const name = typeof raw.name === 'string' ? raw.name.trim() : '';
  if (name === '') throw invalidRequest('Invalid request: a table name is required');
  if (base.tables.some((t) => t.name.toLowerCase() === name.toLowerCase())) throw duplicateTableName(name);
  if (!Array.isArray(raw.fields) || raw.fields.length === 0) {
    throw invalidRequest('Invalid request: a table needs at least one field');
  }
  const fields: FieldDef[] = [];
  for (const f of raw.fields) fields.push(buildField(f, { base, siblings: fields }));
  const primary = fields[0]!;
  if (!PRIMARY_TYPES.has(primary.type)) {
    throw invalidRequest(`Invalid request: field type ${primary.type} cannot be the primary field`);
  }
  const table: TableDef = {
    id: newId('tbl'),
    name,
    primaryFieldId: primary.id,
    fields,
    views: [{ id: newId('viw'), name: 'Grid view', type: 'grid' }],
  };
  const desc = description(raw.description);
  if (desc !== undefined) table.description = desc;
  return table;
}
