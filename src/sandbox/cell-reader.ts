/**
 * What computed fields and string rendering need from a request's reader. The reader (reader.ts)
 * implements it; computed.ts and text.ts depend on this interface, not on the reader, so the three do
 * not import one another in a cycle.
 */
import type { FormulaValue } from './formula/index.js';
import type { CompiledFormula } from './formulas.js';
import type { FieldDef, TableDef } from './model.js';
import type { Store, StoredRecord } from './store.js';

export interface ReadOptions {
  now: Date;
  /** IANA zone for formulas and string rendering; UTC when absent. */
  timeZone?: string;
  userLocale?: string;
}

export interface CellReader {
  readonly store: Store;
  readonly opts: ReadOptions;
  /** The IANA zone for formulas and string rendering. */
  readonly zone: string;
  /** The JSON-format cell of any field; undefined when empty. */
  cell(table: TableDef, rec: StoredRecord, field: FieldDef): unknown;
  /** Evaluates a compiled formula for a record; a runtime failure becomes an error value. */
  evaluate(compiled: CompiledFormula, table: TableDef, rec: StoredRecord): FormulaValue;
  /** The primary-field texts of linked records, in order. */
  linkNames(field: FieldDef, ids: string[]): string[];
  /** The table a link field points to and the records linked from `rec`; undefined if the table is gone. */
  linkedRecords(field: FieldDef, rec: StoredRecord): { table: TableDef; records: StoredRecord[] } | undefined;
}
