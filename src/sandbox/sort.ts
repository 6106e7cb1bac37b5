/**
 * Record ordering for `sort` and view sorts. Blanks sort first ascending (last descending); numbers
 * numerically; single selects by choice order; dates chronologically; text case-insensitively with an
 * English collation. Ties keep creation order.
 */
import { DATE_FIELD_TYPES, NUMBER_FIELD_TYPES } from '../airtable/field-types.js';
import type { FieldDef, SelectChoice, TableDef } from './model.js';
import type { Reader } from './reader.js';
import type { StoredRecord } from './store.js';
import { cellText } from './text.js';

type Key = { t: 0 } | { t: 1; n: number } | { t: 2; s: string } | { t: 3; s: string };

export interface SortBy {
  field: FieldDef;
  desc: boolean;
}

const collator = new Intl.Collator('en', { sensitivity: 'accent' });

/** Sorted by value as numbers; a checkbox sorts like 0/1 (unticked first), though its value is a boolean. */
const sortsAsNumber = (type: string) => NUMBER_FIELD_TYPES.has(type) || type === 'checkbox';

function choiceIndex(field: FieldDef, name: unknown): number {
  const choices = (field.options?.choices as SelectChoice[] | undefined) ?? [];
  const i = choices.findIndex((c) => c.name === name);
  return i < 0 ? choices.length : i;
}

function keyOf(reader: Reader, table: TableDef, rec: StoredRecord, field: FieldDef): Key {
  const v = reader.cell(table, rec, field);
  if (v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0)) return { t: 0 };
  if (sortsAsNumber(field.type)) return { t: 1, n: Number(v) };
  if (DATE_FIELD_TYPES.has(field.type)) return { t: 3, s: String(v) };
  if (field.type === 'singleSelect') return { t: 1, n: choiceIndex(field, v) };
  if (field.type === 'multipleSelects') {
    return { t: 3, s: (v as unknown[]).map((x) => String(choiceIndex(field, x)).padStart(4, '0')).join(',') };
  }
  if (typeof v === 'number') return { t: 1, n: v };
  if (typeof v === 'boolean') return { t: 1, n: v ? 1 : 0 };
  return { t: 2, s: cellText(reader, table, rec, field) ?? '' };
}

function compareKeys(a: Key, b: Key): number {
  if (a.t !== b.t) return a.t - b.t;
  if (a.t === 1 && b.t === 1) return a.n - b.n;
  if (a.t === 2 && b.t === 2) return collator.compare(a.s, b.s);
  if (a.t === 3 && b.t === 3) return a.s < b.s ? -1 : a.s > b.s ? 1 : 0;
  return 0;
}

/** Sorted copy of `records` (stable: the input order breaks ties). */
export function sortRecords(
  reader: Reader,
  table: TableDef,
  records: StoredRecord[],
  by: SortBy[],
): StoredRecord[] {
  if (by.length === 0) return records;
  const keyed = records.map((rec, i) => ({
    rec,
    i,
    keys: by.map((s) => keyOf(reader, table, rec, s.field)),
  }));
  keyed.sort((a, b) => {
    for (let k = 0; k < by.length; k++) {
      const c = compareKeys(a.keys[k]!, b.keys[k]!);
      if (c !== 0) return by[k]!.desc ? -c : c;
    }
    return a.i - b.i;
  });
  return keyed.map((x) => x.rec);
}
