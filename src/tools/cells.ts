/**
 * Cell values as the analysis tools see them: when a cell counts as empty,
 * how any cell renders as plain text (CSV, keys, summaries), and what type a
 * field's values have. The field-type groups live in src/airtable/field-types.ts.
 */
import { COMPUTED_FIELD_TYPES, RESULT_TYPED_FIELD_TYPES } from '../airtable/field-types.js';
import type { FieldSchema } from '../airtable/types.js';

/**
 * The type a field's values have: formulas, rollups and lookups report the
 * type of their result, so a numeric formula gets number statistics.
 */
export function valueType(field: FieldSchema): string {
  const result = field.options?.result as { type?: unknown } | undefined;
  if (RESULT_TYPED_FIELD_TYPES.has(field.type) && typeof result?.type === 'string') {
    return result.type;
  }
  return field.type;
}

export function isComputed(field: FieldSchema): boolean {
  return COMPUTED_FIELD_TYPES.has(field.type);
}

/** Airtable's notion of empty (it never returns these): missing, null, "", [] or false. */
export function isEmptyCell(value: unknown): boolean {
  return (
    value === undefined ||
    value === null ||
    value === '' ||
    value === false ||
    (Array.isArray(value) && !value.length)
  );
}

/**
 * A cell as plain text: lists joined with ", ", attachments as their URL,
 * collaborators by name (else email), barcodes by text, buttons by URL
 * (else label), AI text by its value, NaN/error cells by their marker.
 */
export function cellText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.map(cellText).join(', ');
  if (typeof value === 'object') return objectText(value as Record<string, unknown>);
  return String(value);
}

const OBJECT_TEXT_KEYS = [
  'url',
  'name',
  'email',
  'text',
  'label',
  'value',
  'specialValue',
  'error',
  'id',
] as const;

function objectText(value: Record<string, unknown>): string {
  for (const key of OBJECT_TEXT_KEYS) {
    const text = value[key];
    if (typeof text === 'string' && text !== '') return text;
  }
  return JSON.stringify(value);
}
