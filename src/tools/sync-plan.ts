/**
 * What sync_tables would do, computed without side effects: which fields
 * can be copied, how source values become writable target values, and the
 * creates / updates / deletes that make the target match the source.
 */

import { TEXT_FIELD_TYPES } from '../airtable/field-types.js';
import type { AirtableRecord, FieldSchema, Fields, TableSchema } from '../airtable/types.js';
import { cellText, isComputed, isEmptyCell } from './cells.js';
import { findField } from './context.js';
import { ToolInputError } from './errors.js';
import { compactJson } from './format.js';
import { cellKey } from './normalize.js';

export interface SyncField {
  source: FieldSchema;
  target: FieldSchema;
}

export interface SkippedField {
  name: string;
  reason: string;
}

/** Why a field pair cannot be copied, or undefined when it can. */
function unsyncable(pair: SyncField): string | undefined {
  const types = [pair.source.type, pair.target.type];
  if (isComputed(pair.target)) return `computed (${pair.target.type}) in the target`;
  // Record ids belong to one table; copying them would link to nothing (or the wrong record).
  if (types.includes('multipleRecordLinks')) return 'record links are not copied';
  // Attachment objects carry ids and expiring URLs of the source base.
  if (types.includes('multipleAttachments')) return 'attachments are not copied';
  return undefined;
}

/**
 * The fields to sync. Explicit `requested` names must exist in both tables
 * and be writable (ToolInputError otherwise). By default: every field whose
 * name exists in both tables, except computed fields (in either table),
 * record links and attachments. The key field always comes first.
 */
export function selectSyncFields(
  source: TableSchema,
  target: TableSchema,
  key: SyncField,
  requested: readonly string[] | undefined,
): { fields: SyncField[]; skipped: SkippedField[] } {
  const keyProblem = unsyncable(key);
  if (keyProblem)
    throw new ToolInputError(`key_field "${key.target.name}" cannot be written: ${keyProblem}.`);
  return requested?.length
    ? explicitFields(source, target, key, requested)
    : defaultFields(source, target, key);
}

function explicitFields(
  source: TableSchema,
  target: TableSchema,
  key: SyncField,
  requested: readonly string[],
) {
  const fields: SyncField[] = [key];
  const problems: string[] = [];
  for (const name of requested) {
    const src = findField(source, name);
    const tgt = src && findField(target, src.name);
    if (!src || !tgt) {
      problems.push(`"${name}" is not in both tables`);
      continue;
    }
    const pair = { source: src, target: tgt };
    const reason = unsyncable(pair);
    if (reason) problems.push(`"${src.name}": ${reason}`);
    else if (!fields.some((f) => f.target.id === tgt.id)) fields.push(pair);
  }
  if (problems.length) {
    throw new ToolInputError(
      `Cannot sync these fields: ${problems.join('; ')}. Fields in both tables: ${commonNames(source, target)}.`,
    );
  }
  return { fields, skipped: [] };
}

function defaultFields(source: TableSchema, target: TableSchema, key: SyncField) {
  const fields: SyncField[] = [key];
  const skipped: SkippedField[] = [];
  for (const src of source.fields) {
    const tgt = findField(target, src.name);
    if (!tgt || tgt.id === key.target.id || src.id === key.source.id) continue;
    const reason = isComputed(src)
      ? `computed (${src.type}) in the source`
      : unsyncable({ source: src, target: tgt });
    if (reason) skipped.push({ name: src.name, reason });
    else fields.push({ source: src, target: tgt });
  }
  return { fields, skipped };
}

function commonNames(source: TableSchema, target: TableSchema): string {
  return (
    source.fields
      .filter((f) => findField(target, f.name))
      .map((f) => f.name)
      .join(', ') || 'none'
  );
}

/**
 * A source value as the target should receive it: empty becomes null (which
 * clears the target cell; false for checkboxes), collaborators are sent by id, and anything bound
 * for a text field is rendered as text. Select options are passed by name
 * and the write uses typecast, so options missing in the target are created.
 */
export function writableValue(value: unknown, target: FieldSchema): unknown {
  if (isEmptyCell(value)) return target.type === 'checkbox' ? false : null;
  if (target.type === 'singleCollaborator') return idOf(value);
  if (target.type === 'multipleCollaborators') return (Array.isArray(value) ? value : [value]).map(idOf);
  if (TEXT_FIELD_TYPES.has(target.type) && typeof value !== 'string') return cellText(value);
  if (target.type === 'multipleSelects' && !Array.isArray(value)) return [cellText(value)];
  return value;
}

function idOf(value: unknown): unknown {
  const id = (value as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? { id } : value;
}

/**
 * A value reduced to what matters for "is it the same": trimmed text with
 * LF line ends, numbers as numbers, lists as sorted sets (multi-select order
 * carries no meaning), collaborators by id, date-times as instants.
 */
function comparable(value: unknown, target: FieldSchema): unknown {
  if (isEmptyCell(value)) return null;
  if (typeof value === 'string') {
    const text = value.replace(/\r\n?/g, '\n').trim();
    if (target.type === 'dateTime' && !Number.isNaN(Date.parse(text))) return Date.parse(text);
    return text === '' ? null : text;
  }
  if (Array.isArray(value)) return value.map((v) => compactJson(comparable(v, target))).sort();
  if (value && typeof value === 'object') {
    const { id, text } = value as { id?: unknown; text?: unknown };
    if (typeof id === 'string') return id;
    if (typeof text === 'string') return text;
    return compactJson(Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b))));
  }
  return value;
}

export function sameValue(wanted: unknown, current: unknown, target: FieldSchema): boolean {
  const a = comparable(wanted, target);
  const b = comparable(current, target);
  if (typeof a === 'number' && typeof b === 'number') {
    return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
  }
  return compactJson(a) === compactJson(b);
}

export interface Change {
  from: unknown;
  to: unknown;
}

export interface SyncPlan {
  creates: { key: string; fields: Fields }[];
  updates: { key: string; id: string; fields: Fields; changes: Record<string, Change> }[];
  /** Only filled when delete_missing is set. */
  deletes: { key: string; id: string }[];
  /** Target records whose key is not in the source (deleted only with delete_missing). */
  targetOnly: number;
  unchanged: number;
  /** Keys held by more than one record on either side: never synced, since which record is meant is a guess. */
  duplicateKeys: { key: string; source: number; target: number }[];
  emptyKeys: { source: number; target: number };
}

interface KeyIndex {
  byKey: Map<string, AirtableRecord[]>;
  empty: number;
}

function indexByKey(records: readonly AirtableRecord[], keyField: string): KeyIndex {
  const byKey = new Map<string, AirtableRecord[]>();
  let empty = 0;
  for (const record of records) {
    const key = cellKey(record.fields[keyField]);
    if (!key) {
      empty++;
      continue;
    }
    const list = byKey.get(key) ?? [];
    list.push(record);
    byKey.set(key, list);
  }
  return { byKey, empty };
}

/** Records are matched on the key field's normalised value (trimmed, case-insensitive, NFKC). */
export function buildSyncPlan(
  sourceRecords: readonly AirtableRecord[],
  targetRecords: readonly AirtableRecord[],
  fields: readonly SyncField[],
  deleteMissing: boolean,
): SyncPlan {
  const key = fields[0] as SyncField;
  const source = indexByKey(sourceRecords, key.source.name);
  const target = indexByKey(targetRecords, key.target.name);
  const plan: SyncPlan = {
    creates: [],
    updates: [],
    deletes: [],
    targetOnly: 0,
    unchanged: 0,
    duplicateKeys: duplicateKeys(source, target),
    emptyKeys: { source: source.empty, target: target.empty },
  };
  const duplicates = new Set(plan.duplicateKeys.map((d) => d.key));
  for (const [k, [record]] of source.byKey) {
    if (duplicates.has(k) || !record) continue;
    const existing = target.byKey.get(k)?.[0];
    if (existing) addUpdate(plan, displayKey(record, key.source), record, existing, fields);
    else plan.creates.push({ key: displayKey(record, key.source), fields: createFields(record, fields) });
  }
  for (const [k, [record]] of target.byKey) {
    if (duplicates.has(k) || !record || source.byKey.has(k)) continue;
    plan.targetOnly++;
    if (deleteMissing) plan.deletes.push({ key: displayKey(record, key.target), id: record.id });
  }
  return plan;
}

function duplicateKeys(source: KeyIndex, target: KeyIndex): SyncPlan['duplicateKeys'] {
  const keys = new Set<string>();
  for (const index of [source, target]) for (const [k, list] of index.byKey) if (list.length > 1) keys.add(k);
  return [...keys].sort().map((k) => ({
    key: k,
    source: source.byKey.get(k)?.length ?? 0,
    target: target.byKey.get(k)?.length ?? 0,
  }));
}

function displayKey(record: AirtableRecord, field: FieldSchema): string {
  return cellText(record.fields[field.name]);
}

function createFields(record: AirtableRecord, fields: readonly SyncField[]): Fields {
  const out: Fields = {};
  for (const f of fields) {
    const value = writableValue(record.fields[f.source.name], f.target);
    if (!isEmptyCell(value)) out[f.target.name] = value;
  }
  return out;
}

function addUpdate(
  plan: SyncPlan,
  key: string,
  source: AirtableRecord,
  target: AirtableRecord,
  fields: readonly SyncField[],
): void {
  const changed: Fields = {};
  const changes: Record<string, Change> = {};
  for (const f of fields) {
    const wanted = writableValue(source.fields[f.source.name], f.target);
    const current = target.fields[f.target.name];
    if (sameValue(wanted, current, f.target)) continue;
    changed[f.target.name] = wanted;
    changes[f.target.name] = { from: current ?? null, to: wanted };
  }
  if (Object.keys(changed).length) plan.updates.push({ key, id: target.id, fields: changed, changes });
  else plan.unchanged++;
}
