/** Values of computed fields (autoNumber, createdTime, count, formula, lookup, rollup, ...), on read. */

import type { CellReader } from './cell-reader.js';
import { formulaValueToCell } from './formula/index.js';
import { compileCached } from './formulas.js';
import type { FieldDef, TableDef } from './model.js';
import { fieldById } from './schema.js';
import type { StoredRecord } from './store.js';
import { SANDBOX_USER } from './users.js';

/** What Airtable reportedly returns for a formula cell that failed to evaluate. */
export const ERROR_CELL = { error: '#ERROR!' };

type Compute = (reader: CellReader, table: TableDef, rec: StoredRecord, field: FieldDef) => unknown;

const COMPUTE: Record<string, Compute> = {
  autoNumber: (_r, _t, rec) => rec.autoNumber,
  createdTime: (_r, _t, rec) => rec.createdTime,
  lastModifiedTime: (_r, _t, rec) => rec.modifiedTime,
  createdBy: () => ({ ...SANDBOX_USER }),
  lastModifiedBy: () => ({ ...SANDBOX_USER }),
  count: countLinks,
  formula: evaluateFormula,
  multipleLookupValues: lookupValues,
  rollup: rollupValues,
  button: (_r, _t, _rec, field) => ({ label: String(field.options?.label ?? field.name), url: null }),
};

export function computeCell(
  reader: CellReader,
  table: TableDef,
  rec: StoredRecord,
  field: FieldDef,
): unknown {
  return COMPUTE[field.type]?.(reader, table, rec, field);
}

function countLinks(_reader: CellReader, _table: TableDef, rec: StoredRecord, field: FieldDef): unknown {
  const linkId = field.options?.recordLinkFieldId;
  const links = typeof linkId === 'string' ? rec.fields[linkId] : undefined;
  return Array.isArray(links) ? links.length : 0;
}

function evaluateFormula(reader: CellReader, table: TableDef, rec: StoredRecord, field: FieldDef): unknown {
  const text = field.options?.formula;
  if (typeof text !== 'string') return undefined;
  let compiled: ReturnType<typeof compileCached>;
  try {
    compiled = compileCached(text, table, reader.store.schemaVersion);
  } catch {
    return ERROR_CELL;
  }
  const cell = formulaValueToCell(reader.evaluate(compiled, table, rec));
  return isEmptyCell(cell) ? undefined : cell;
}

/** The flattened values of `fieldIdInLinkedTable` across the records linked by `recordLinkFieldId`. */
function linkedValues(reader: CellReader, table: TableDef, rec: StoredRecord, field: FieldDef): unknown[] {
  const linkField = fieldById(table, String(field.options?.recordLinkFieldId ?? ''));
  if (!linkField) return [];
  const linked = reader.linkedRecords(linkField, rec);
  const target = linked && fieldById(linked.table, String(field.options?.fieldIdInLinkedTable ?? ''));
  if (!linked || !target) return [];
  const out: unknown[] = [];
  for (const other of linked.records) {
    const v = reader.cell(linked.table, other, target);
    if (Array.isArray(v)) out.push(...v);
    else if (v !== undefined) out.push(v);
  }
  return out;
}

function lookupValues(reader: CellReader, table: TableDef, rec: StoredRecord, field: FieldDef): unknown {
  const values = linkedValues(reader, table, rec, field);
  return values.length ? values : undefined;
}

const ROLLUP_CALL = /^\s*([A-Za-z_]+)\s*\(\s*values\s*(?:,\s*(["'])(.*)\2\s*)?\)\s*$/;

function numbersOf(values: unknown[]): number[] {
  return values.filter((v): v is number => typeof v === 'number');
}

const ROLLUPS: Record<string, (values: unknown[], arg: string | undefined) => unknown> = {
  SUM: (v) => numbersOf(v).reduce((a, b) => a + b, 0),
  MAX: (v) => (numbersOf(v).length ? Math.max(...numbersOf(v)) : 0),
  MIN: (v) => (numbersOf(v).length ? Math.min(...numbersOf(v)) : 0),
  AVERAGE: (v) => {
    const n = numbersOf(v);
    return n.length ? n.reduce((a, b) => a + b, 0) / n.length : { specialValue: 'NaN' };
  },
  COUNT: (v) => numbersOf(v).length,
  COUNTA: (v) => v.filter((x) => x !== '' && x !== null).length,
  COUNTALL: (v) => v.length,
  AND: (v) => v.every(Boolean),
  OR: (v) => v.some(Boolean),
  ARRAYJOIN: (v, sep) => v.map(String).join(sep ?? ', '),
  CONCATENATE: (v) => v.map(String).join(''),
  ARRAYUNIQUE: (v) => [...new Set(v)],
  ARRAYCOMPACT: (v) => v.filter((x) => x !== '' && x !== null),
};

/** Rollups support the common `AGG(values)` aggregations; anything else joins the values. */
function rollupValues(reader: CellReader, table: TableDef, rec: StoredRecord, field: FieldDef): unknown {
  const values = linkedValues(reader, table, rec, field);
  const match = ROLLUP_CALL.exec(String(field.options?.formula ?? ''));
  const aggregate = ROLLUPS[match?.[1]?.toUpperCase() ?? ''] ?? ROLLUPS.ARRAYJOIN!;
  const result = aggregate(values, match?.[3]);
  return isEmptyCell(result) ? undefined : result;
}

/** Airtable never returns "", [], false or null cells. */
export function isEmptyCell(value: unknown): boolean {
  return (
    value === undefined ||
    value === null ||
    value === '' ||
    value === false ||
    (Array.isArray(value) && value.length === 0)
  );
}
