/**
 * Reads cells for one request: stored values, computed fields (memoised per record and field, with a
 * cycle guard), formula values of cells and the display names of linked records.
 */
import type { CellReader, ReadOptions } from './cell-reader.js';
import { computeCell, ERROR_CELL } from './computed.js';
import { cellToFormulaValue, type FormulaValue } from './formula/index.js';
import type { CompiledFormula } from './formulas.js';
import type { BaseDef, FieldDef, TableDef } from './model.js';
import { fieldById, isComputed, primaryField, tableById } from './schema.js';
import type { Store, StoredRecord } from './store.js';
import { cellText } from './text.js';

export type { ReadOptions };

export class Reader implements CellReader {
  private readonly memo = new Map<string, unknown>();
  private readonly busy = new Set<string>();
  private readonly names = new Map<string, string>();

  constructor(
    readonly store: Store,
    readonly base: BaseDef,
    readonly opts: ReadOptions,
  ) {}

  get zone(): string {
    return this.opts.timeZone ?? 'UTC';
  }

  /** The JSON-format cell of any field; undefined when empty. */
  cell(table: TableDef, rec: StoredRecord, field: FieldDef): unknown {
    if (!isComputed(field)) return rec.fields[field.id];
    const key = `${rec.id}|${field.id}`;
    if (this.memo.has(key)) return this.memo.get(key);
    // A formula that (indirectly) references itself evaluates to an error instead of recursing forever.
    if (this.busy.has(key)) return ERROR_CELL;
    this.busy.add(key);
    let value: unknown;
    try {
      value = computeCell(this, table, rec, field);
    } finally {
      this.busy.delete(key);
    }
    this.memo.set(key, value);
    return value;
  }

  formulaValue(table: TableDef, rec: StoredRecord, fieldId: string): FormulaValue {
    const field = fieldById(table, fieldId);
    if (!field) return null;
    return cellToFormulaValue(field, this.cell(table, rec, field), (ids) => this.linkNames(field, ids));
  }

  /** Evaluates a compiled formula for a record; a runtime failure becomes an error value. */
  evaluate(compiled: CompiledFormula, table: TableDef, rec: StoredRecord): FormulaValue {
    try {
      return compiled.evaluate({
        recordId: rec.id,
        createdTime: rec.createdTime,
        cell: (fieldId) => this.formulaValue(table, rec, fieldId),
        now: this.opts.now,
        timeZone: this.zone,
      });
    } catch {
      return { error: '#ERROR!' };
    }
  }

  linkNames(field: FieldDef, ids: string[]): string[] {
    const tableId = String(field.options?.linkedTableId ?? '');
    return ids.map((id) => this.displayName(tableId, id));
  }

  /** A record's primary-field text: what links show in formulas and in string format. */
  displayName(tableId: string, recordId: string): string {
    const key = `${tableId}|${recordId}`;
    const hit = this.names.get(key);
    if (hit !== undefined) return hit;
    const table = tableById(this.base, tableId);
    const rec = table && this.store.getRecord(tableId, recordId);
    const name = table && rec ? (cellText(this, table, rec, primaryField(table)) ?? '') : recordId;
    this.names.set(key, name);
    return name;
  }

  linkedRecords(
    field: FieldDef,
    rec: StoredRecord,
  ): { table: TableDef; records: StoredRecord[] } | undefined {
    const table = tableById(this.base, String(field.options?.linkedTableId ?? ''));
    if (!table) return undefined;
    const ids = Array.isArray(rec.fields[field.id]) ? (rec.fields[field.id] as string[]) : [];
    const records = ids.map((id) => this.store.getRecord(table.id, id)).filter((r) => r !== undefined);
    return { table, records };
  }
}
