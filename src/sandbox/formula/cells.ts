import { DATE_FIELD_TYPES, NUMBER_FIELD_TYPES, TEXT_FIELD_TYPES } from '../../airtable/field-types.js';
import type { FieldDef, FieldType } from '../model.js';
import { parseDateText } from './dates.js';
import { ERROR_CODE, type FormulaValue, isBlank, isErrorValue } from './values.js';

export type LinkNames = (recordIds: string[]) => string[];

/** Read as text by formulas: typed text, plus a single select's name and a synced source's value. */
const TEXT_TYPES: ReadonlySet<string> = new Set([...TEXT_FIELD_TYPES, 'singleSelect', 'externalSyncSource']);
const PERSON_TYPES = new Set<string>(['singleCollaborator', 'createdBy', 'lastModifiedBy']);

type Converter = (raw: unknown, linkNames: LinkNames | undefined) => FormulaValue;

function record(raw: unknown): Record<string, unknown> | undefined {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw)
    ? (raw as Record<string, unknown>)
    : undefined;
}

function text(raw: unknown): string | undefined {
  return typeof raw === 'string' ? raw : undefined;
}

/** How Airtable shows an object-valued cell in a formula: people by name, attachments as "file (url)". */
function objectText(obj: Record<string, unknown>): FormulaValue {
  if ('url' in obj && 'filename' in obj) return `${text(obj.filename) ?? ''} (${text(obj.url) ?? ''})`;
  const label = text(obj.name) ?? text(obj.email) ?? text(obj.text) ?? text(obj.label);
  if (label !== undefined) return label;
  if (obj.state !== undefined && 'value' in obj) return text(obj.value) ?? null;
  return text(obj.id) ?? null;
}

function dateValue(raw: unknown): FormulaValue {
  if (typeof raw !== 'string') return genericValue(raw);
  // Date-only cells are midnight UTC, which is how Airtable treats dates without a time.
  return parseDateText(raw, 'UTC') ?? raw;
}

/** Formula/rollup/lookup results and unknown types: convert by the JSON shape. */
function genericValue(raw: unknown): FormulaValue {
  if (raw === null || raw === undefined || raw === '') return null;
  if (typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean') return raw;
  if (Array.isArray(raw)) return blankIfEmpty(raw.map(genericValue));
  const obj = record(raw);
  if (!obj) return null;
  if (obj.specialValue !== undefined) return specialNumber(obj.specialValue);
  if (obj.error !== undefined) return { error: text(obj.error) ?? ERROR_CODE };
  return objectText(obj);
}

function specialNumber(special: unknown): number {
  if (special === 'Infinity') return Number.POSITIVE_INFINITY;
  if (special === '-Infinity') return Number.NEGATIVE_INFINITY;
  return Number.NaN;
}

function blankIfEmpty(values: FormulaValue[]): FormulaValue {
  return values.length === 0 ? null : values;
}

function linksValue(raw: unknown, linkNames: LinkNames | undefined): FormulaValue {
  if (!Array.isArray(raw)) return genericValue(raw);
  const ids = raw.map((item) => text(item) ?? text(record(item)?.id) ?? '');
  // Links read as the linked records' primary-field text, never as record ids.
  return blankIfEmpty(linkNames ? linkNames(ids) : ids);
}

function resultTypeOf(field: FieldDef): string | undefined {
  const result = record(field.options?.result);
  return text(result?.type);
}

function computedValue(field: FieldDef, raw: unknown, linkNames: LinkNames | undefined): FormulaValue {
  const resultType = resultTypeOf(field);
  if (!resultType) return genericValue(raw);
  const convert = converterFor(resultType as FieldType);
  if (field.type === 'multipleLookupValues' && Array.isArray(raw)) {
    if (resultType === 'multipleRecordLinks') return linksValue(raw, linkNames);
    return blankIfEmpty(raw.map((item) => convert(item, linkNames)));
  }
  return convert(raw, linkNames);
}

function converterFor(type: FieldType | string): Converter {
  if (TEXT_TYPES.has(type)) return (raw) => text(raw) ?? genericValue(raw);
  if (NUMBER_FIELD_TYPES.has(type)) return (raw) => (typeof raw === 'number' ? raw : genericValue(raw));
  if (DATE_FIELD_TYPES.has(type)) return dateValue;
  if (PERSON_TYPES.has(type) || type === 'barcode' || type === 'button') return genericValue;
  switch (type) {
    case 'checkbox':
      // Checked is TRUE (1 in arithmetic); unchecked cells are absent, i.e. BLANK.
      return (raw) => (raw === true ? true : null);
    case 'multipleRecordLinks':
      return linksValue;
    default:
      return genericValue;
  }
}

/** Convert a stored cell (Airtable JSON cell format) to the value a formula sees. */
export function cellToFormulaValue(field: FieldDef, raw: unknown, linkNames?: LinkNames): FormulaValue {
  if (raw === undefined || raw === null || raw === '') return null;
  if (field.type === 'formula' || field.type === 'rollup' || field.type === 'multipleLookupValues') {
    return computedValue(field, raw, linkNames);
  }
  return converterFor(field.type)(raw, linkNames);
}

function numberCell(n: number): unknown {
  if (Number.isNaN(n)) return { specialValue: 'NaN' };
  if (!Number.isFinite(n)) return { specialValue: n > 0 ? 'Infinity' : '-Infinity' };
  return n;
}

function elementCell(v: FormulaValue): unknown {
  if (Array.isArray(v)) return v.map(elementCell);
  return v === null ? null : formulaValueToCell(v);
}

/**
 * Render a formula result as a cell. BLANK, "" and all-blank arrays are absent (undefined), matching how
 * Airtable omits empty cells; every runtime error renders as Airtable's generic `#ERROR!`.
 */
export function formulaValueToCell(value: FormulaValue): unknown {
  if (isErrorValue(value)) return { error: ERROR_CODE };
  if (isBlank(value)) return undefined;
  if (typeof value === 'number') return numberCell(value);
  if (value instanceof Date)
    return Number.isNaN(value.getTime()) ? { error: ERROR_CODE } : value.toISOString();
  if (Array.isArray(value)) return value.map(elementCell);
  return value;
}
