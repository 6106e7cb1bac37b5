/** Lookups over the data model: tables, fields and views by id or name, and schema projections. */
import { modelNotFound } from './errors.js';
import { type BaseDef, COMPUTED_FIELD_TYPES, type FieldDef, type TableDef, type ViewDef } from './model.js';

/** A table by id or exact name; unknown → 403 like Airtable (unknown and ungranted look the same). */
export function requireTable(base: BaseDef, idOrName: string): TableDef {
  const table = findTable(base, idOrName);
  if (!table) throw modelNotFound();
  return table;
}

export function findTable(base: BaseDef, idOrName: string): TableDef | undefined {
  return base.tables.find((t) => t.id === idOrName) ?? base.tables.find((t) => t.name === idOrName);
}

export function findField(table: TableDef, idOrName: string): FieldDef | undefined {
  return table.fields.find((f) => f.id === idOrName) ?? table.fields.find((f) => f.name === idOrName);
}

export function findView(table: TableDef, idOrName: string): ViewDef | undefined {
  return table.views.find((v) => v.id === idOrName) ?? table.views.find((v) => v.name === idOrName);
}

export function fieldById(table: TableDef, id: string): FieldDef | undefined {
  return table.fields.find((f) => f.id === id);
}

export function isComputed(field: FieldDef): boolean {
  return COMPUTED_FIELD_TYPES.has(field.type);
}

export function primaryField(table: TableDef): FieldDef {
  return fieldById(table, table.primaryFieldId) ?? table.fields[0]!;
}

export function tableById(base: BaseDef, id: string): TableDef | undefined {
  return base.tables.find((t) => t.id === id);
}

/** The link fields of a base that point at `tableId`, with the table holding them. */
export function linksInto(base: BaseDef, tableId: string): Array<{ table: TableDef; field: FieldDef }> {
  const out: Array<{ table: TableDef; field: FieldDef }> = [];
  for (const table of base.tables) {
    for (const field of table.fields) {
      if (field.type === 'multipleRecordLinks' && field.options?.linkedTableId === tableId) {
        out.push({ table, field });
      }
    }
  }
  return out;
}

const PERMISSION_RANK = { none: 0, read: 1, comment: 2, edit: 3, create: 4 } as const;

/** Throws the 403 unless the base grants at least `level`. */
export function requirePermission(base: BaseDef, level: keyof typeof PERMISSION_RANK): void {
  if (PERMISSION_RANK[base.permissionLevel] < PERMISSION_RANK[level]) throw modelNotFound();
}

/** A view as the metadata API shows it: without the sandbox-only filterFormula/sort keys. */
export function publicView(
  view: ViewDef,
  table: TableDef,
  withVisibleFields: boolean,
): Record<string, unknown> {
  const out: Record<string, unknown> = { id: view.id, name: view.name, type: view.type };
  if (withVisibleFields && view.type === 'grid') out.visibleFieldIds = table.fields.map((f) => f.id);
  return out;
}

export function publicField(field: FieldDef): Record<string, unknown> {
  const out: Record<string, unknown> = { id: field.id, name: field.name, type: field.type };
  if (field.description !== undefined) out.description = field.description;
  if (field.options !== undefined) out.options = field.options;
  return out;
}

export function publicTable(table: TableDef, withVisibleFields = false): Record<string, unknown> {
  const out: Record<string, unknown> = { id: table.id, name: table.name };
  if (table.description !== undefined) out.description = table.description;
  out.primaryFieldId = table.primaryFieldId;
  out.fields = table.fields.map(publicField);
  out.views = table.views.map((v) => publicView(v, table, withVisibleFields));
  return out;
}
