/**
 * One request's record writes. Changes are made on working copies (validated cell by cell, with the
 * inverse side of two-way links kept in step) and only reach the store in `commit()`, in one transaction,
 * so a request that fails half-way writes nothing.
 */
import { type CellWriteContext, convertCell } from './cells-write.js';
import { computedField, unknownField } from './errors.js';
import { isId } from './ids.js';
import type { BaseDef, SelectChoice, TableDef } from './model.js';
import { Reader } from './reader.js';
import { findField, isComputed, linksInto, tableById } from './schema.js';
import type { Store, StoredRecord } from './store.js';

interface Working {
  table: TableDef;
  record: StoredRecord;
}

function idsIn(value: unknown): string[] {
  return Array.isArray(value) ? (value as string[]) : [];
}

export class WriteBatch {
  private readonly working = new Map<string, Working>();
  private readonly deleted = new Map<string, TableDef>();
  private readonly addedChoices = new Map<string, SelectChoice[]>();
  private readonly cells: CellWriteContext;
  private readonly reader: Reader;
  private readonly now = new Date().toISOString();

  constructor(
    private readonly store: Store,
    private readonly base: BaseDef,
    typecast: boolean,
  ) {
    this.reader = new Reader(store, base, { now: new Date() });
    this.cells = {
      typecast,
      addedChoices: this.addedChoices,
      resolveLink: (tableId, value, cast) => this.resolveLink(tableId, value, cast),
    };
  }

  /** Whether `id` is a live record of `table`, counting this batch's creations and deletions. */
  exists(table: TableDef, id: string): boolean {
    if (this.deleted.has(id)) return false;
    const w = this.working.get(id);
    if (w) return w.table.id === table.id;
    return this.store.getRecord(table.id, id) !== undefined;
  }

  /** Current (working or stored) records of a table, for upsert matching. */
  current(table: TableDef): StoredRecord[] {
    const out: StoredRecord[] = [];
    for (const rec of this.store.records(table.id)) {
      if (!this.deleted.has(rec.id)) out.push(this.working.get(rec.id)?.record ?? rec);
    }
    for (const w of this.working.values()) {
      if (w.table.id === table.id && !this.store.getRecord(table.id, w.record.id)) out.push(w.record);
    }
    return out;
  }

  /** Converts one cell as a write would (used by upsert to compare merge values). */
  convert(table: TableDef, key: string, value: unknown): { fieldId: string; value: unknown } {
    const field = findField(table, key);
    if (!field) throw unknownField(key);
    if (isComputed(field)) throw computedField(field.name);
    return { fieldId: field.id, value: convertCell(field, value, this.cells) };
  }

  create(table: TableDef, input: Record<string, unknown>): StoredRecord {
    const { id, seq, autoNumber } = this.store.allocateRecord(table.id);
    const record: StoredRecord = {
      id,
      seq,
      autoNumber,
      createdTime: this.now,
      modifiedTime: this.now,
      fields: {},
    };
    this.working.set(id, { table, record });
    this.apply(table, record, input, false);
    return record;
  }

  /** PATCH merges `input`; PUT (`replace`) clears every writable field it does not name. */
  update(table: TableDef, id: string, input: Record<string, unknown>, replace: boolean): StoredRecord {
    const record = this.touch(table, id)!;
    this.apply(table, record, input, replace);
    return record;
  }

  delete(table: TableDef, id: string): void {
    if (!this.touch(table, id)) return;
    for (const link of linksInto(this.base, table.id)) {
      for (const rec of this.current(link.table)) {
        if (idsIn(rec.fields[link.field.id]).includes(id)) {
          this.editLinks(link.table, rec.id, link.field.id, (ids) => ids.filter((x) => x !== id));
        }
      }
    }
    this.working.delete(id);
    this.deleted.set(id, table);
  }

  commit(): void {
    if (this.addedChoices.size > 0) this.saveChoices();
    const puts = [...this.working.values()].map((w) => ({
      tableId: w.table.id,
      record: { ...w.record, modifiedTime: this.now },
    }));
    const deletes = [...this.deleted].map(([id, table]) => ({ tableId: table.id, id }));
    this.store.commit(this.base.id, puts, deletes);
  }

  private apply(
    table: TableDef,
    record: StoredRecord,
    input: Record<string, unknown>,
    replace: boolean,
  ): void {
    const before = record.fields;
    const after: Record<string, unknown> = replace ? {} : { ...before };
    for (const [key, value] of Object.entries(input)) {
      const field = findField(table, key);
      if (!field) throw unknownField(key);
      if (isComputed(field)) throw computedField(field.name);
      const stored = convertCell(field, value, this.cells, before[field.id]);
      if (stored === undefined) delete after[field.id];
      else after[field.id] = stored;
    }
    record.fields = after;
    this.syncInverse(table, record.id, before, after);
  }

  /** Mirrors link changes into the inverse field of the linked records. */
  private syncInverse(
    table: TableDef,
    id: string,
    before: Record<string, unknown>,
    after: Record<string, unknown>,
  ) {
    for (const field of table.fields) {
      const inverseId = field.options?.inverseLinkFieldId;
      if (field.type !== 'multipleRecordLinks' || typeof inverseId !== 'string') continue;
      const linked = tableById(this.base, String(field.options?.linkedTableId ?? ''));
      if (!linked) continue;
      const old = idsIn(before[field.id]);
      const now = idsIn(after[field.id]);
      for (const target of old) {
        if (!now.includes(target))
          this.editLinks(linked, target, inverseId, (ids) => ids.filter((x) => x !== id));
      }
      for (const target of now) {
        if (!old.includes(target) && !(target === id && inverseId === field.id)) {
          this.editLinks(linked, target, inverseId, (ids) => (ids.includes(id) ? ids : [...ids, id]));
        }
      }
    }
  }

  private editLinks(table: TableDef, id: string, fieldId: string, edit: (ids: string[]) => string[]): void {
    const record = this.touch(table, id);
    if (!record) return;
    const ids = edit(idsIn(record.fields[fieldId]));
    const fields = { ...record.fields };
    if (ids.length) fields[fieldId] = ids;
    else delete fields[fieldId];
    record.fields = fields;
  }

  /** The working copy of a record, cloned from the store on first touch. */
  private touch(table: TableDef, id: string): StoredRecord | undefined {
    if (this.deleted.has(id)) return undefined;
    const w = this.working.get(id);
    if (w) return w.table.id === table.id ? w.record : undefined;
    const stored = this.store.getRecord(table.id, id);
    if (!stored) return undefined;
    const record = { ...stored, fields: { ...stored.fields } };
    this.working.set(id, { table, record });
    return record;
  }

  private resolveLink(tableId: string, value: string, typecast: boolean): string | undefined {
    const table = tableById(this.base, tableId);
    if (!table) return undefined;
    if (isId('rec', value) && this.exists(table, value)) return value;
    if (!typecast) return undefined;
    // typecast: a primary-field display name of an existing record also works
    const hit = this.store
      .records(tableId)
      .find((r) => !this.deleted.has(r.id) && this.reader.displayName(tableId, r.id) === value);
    return hit?.id;
  }

  private saveChoices(): void {
    for (const table of this.base.tables) {
      for (const field of table.fields) {
        const added = this.addedChoices.get(field.id);
        if (!added) continue;
        const choices = Array.isArray(field.options?.choices)
          ? (field.options.choices as SelectChoice[])
          : [];
        field.options = { ...field.options, choices: [...choices, ...added] };
      }
    }
    this.store.saveBase(this.base);
  }
}
