/**
 * Upsert (`performUpsert.fieldsToMergeOn`, reference §2.7). Records with an id are plain updates; records
 * without one are matched on the merge fields against the table as this request has left it:
 * no match → create, one → update, several → the whole request fails.
 */
import { apiError, invalidRequest, rowDoesNotExist, unknownField } from './errors.js';
import type { FieldDef, FieldType, TableDef } from './model.js';
import { findField } from './schema.js';
import type { StoredRecord } from './store.js';
import type { WriteBatch } from './writer.js';

/** Airtable documents number, text, single/multiple select and date; the other text-like types are accepted too. */
const MERGEABLE = new Set<FieldType>([
  'singleLineText',
  'multilineText',
  'email',
  'url',
  'phoneNumber',
  'number',
  'percent',
  'currency',
  'singleSelect',
  'multipleSelects',
  'date',
  'dateTime',
]);

export interface UpsertResult {
  records: StoredRecord[];
  createdRecords: string[];
  updatedRecords: string[];
}

function mergeFields(table: TableDef, spec: unknown): FieldDef[] {
  const names = (spec as { fieldsToMergeOn?: unknown } | null)?.fieldsToMergeOn;
  if (!Array.isArray(names) || names.length < 1 || names.length > 3) throw invalidRequest();
  return names.map((name) => {
    if (typeof name !== 'string') throw invalidRequest();
    const field = findField(table, name);
    if (!field) throw unknownField(name);
    if (!MERGEABLE.has(field.type)) {
      throw invalidRequest(
        `Invalid request: field "${field.name}" of type ${field.type} cannot be used in fieldsToMergeOn`,
      );
    }
    return field;
  });
}

function sameCell(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    const x = a.map(String).sort();
    const y = b.map(String).sort();
    return x.length === y.length && x.every((v, i) => v === y[i]);
  }
  return a === b;
}

/** The merge key of an input: each merge field's value converted exactly as the write will store it. */
function mergeKey(
  batch: WriteBatch,
  table: TableDef,
  merge: FieldDef[],
  fields: Record<string, unknown>,
): unknown[] {
  return merge.map((field) => {
    const key = Object.keys(fields).find((k) => findField(table, k)?.id === field.id);
    return key === undefined ? undefined : batch.convert(table, key, fields[key]).value;
  });
}

export function upsertRecords(
  batch: WriteBatch,
  table: TableDef,
  inputs: unknown[],
  spec: unknown,
  replace: boolean,
): UpsertResult {
  const merge = mergeFields(table, spec);
  const result: UpsertResult = { records: [], createdRecords: [], updatedRecords: [] };
  inputs.forEach((input, index) => {
    const { id, fields } = input as { id?: unknown; fields: Record<string, unknown> };
    if (id !== undefined) {
      if (typeof id !== 'string' || !batch.exists(table, id)) throw rowDoesNotExist(String(id));
      result.records.push(batch.update(table, id, fields, replace));
      result.updatedRecords.push(id);
      return;
    }
    const key = mergeKey(batch, table, merge, fields);
    const matches = batch
      .current(table)
      .filter((r) => merge.every((f, i) => sameCell(r.fields[f.id], key[i])));
    if (matches.length > 1) {
      throw apiError(
        422,
        'INVALID_RECORDS',
        `Cannot upsert record at index ${index}: ${matches.length} existing records match its fieldsToMergeOn values`,
      );
    }
    const match = matches[0];
    const rec = match ? batch.update(table, match.id, fields, replace) : batch.create(table, fields);
    result.records.push(rec);
    (match ? result.updatedRecords : result.createdRecords).push(rec.id);
  });
  return result;
}
