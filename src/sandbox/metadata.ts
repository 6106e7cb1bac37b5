/** Metadata API handlers (reference §5): whoami, bases, schema, create/update table and field. */
import { ID_BODY } from '../airtable/ids.js';
import { type ApiRequest, type App, baseFor, type Handler, objectBody } from './context.js';
import { invalidOffset, invalidRequest, modelNotFound } from './errors.js';
import {
  addInverseLink,
  buildField,
  buildTable,
  description,
  duplicateTableName,
  fieldName,
  formulaOptions,
} from './fielddefs.js';
import { isId, newId } from './ids.js';
import type { BaseDef, FieldDef, TableDef } from './model.js';
import { listParam } from './params.js';
import { findField, findTable, publicField, publicTable } from './schema.js';
import { SANDBOX_USER } from './users.js';

const BASES_PAGE = 1000;
/** A list-bases offset names the last base of the page before: `itr<14>/app<14>`. */
const BASES_OFFSET = new RegExp(`^itr${ID_BODY}/(app${ID_BODY})$`);

export const whoami: Handler = () => ({ id: SANDBOX_USER.id, email: SANDBOX_USER.email });

export const listBases: Handler = (req, app) => {
  const visible = app.store.listBases().filter((b) => b.permissionLevel !== 'none');
  const offset = req.query.get('offset');
  let start = 0;
  if (offset) {
    const m = BASES_OFFSET.exec(offset);
    start = m ? visible.findIndex((b) => b.id === m[1]) + 1 : 0;
    if (start === 0) throw invalidOffset(offset);
  }
  const page = visible.slice(start, start + BASES_PAGE);
  const out: Record<string, unknown> = {
    bases: page.map((b) => ({ id: b.id, name: b.name, permissionLevel: b.permissionLevel })),
  };
  if (start + BASES_PAGE < visible.length) out.offset = `${newId('itr')}/${page.at(-1)!.id}`;
  return out;
};

export const getSchema: Handler = (req, app) => {
  const base = baseFor(app, req, 'read');
  const withVisible = (listParam(req.query, 'include') ?? []).includes('visibleFieldIds');
  return { tables: base.tables.map((t) => publicTable(t, withVisible)) };
};

/** Schema writes work on a copy of the base that replaces the stored one only when valid. */
function editBase(app: App, req: ApiRequest): BaseDef {
  return structuredClone(baseFor(app, req, 'create'));
}

function tableOf(base: BaseDef, req: ApiRequest): TableDef {
  const table = findTable(base, req.params.table ?? '');
  if (!table) throw modelNotFound();
  return table;
}

export const createTable: Handler = (req, app) => {
  const base = editBase(app, req);
  const table = buildTable(base, objectBody(req));
  base.tables.push(table);
  for (const field of table.fields) addInverseLink(base, table, field);
  app.store.saveBase(base);
  return publicTable(table);
};

export const updateTable: Handler = (req, app) => {
  const base = editBase(app, req);
  const table = tableOf(base, req);
  const body = objectBody(req);
  if (body.name === undefined && body.description === undefined) throw invalidRequest();
  if (body.name !== undefined) {
    const name = typeof body.name === 'string' ? body.name.trim() : '';
    if (name === '') throw invalidRequest();
    const clash = base.tables.some((t) => t !== table && t.name.toLowerCase() === name.toLowerCase());
    if (clash) throw duplicateTableName(name);
    table.name = name;
  }
  if (body.description !== undefined) setDescription(table, body.description);
  app.store.saveBase(base);
  return publicTable(table);
};

function setDescription(target: TableDef | FieldDef, value: unknown): void {
  const desc = description(value);
  if (desc === undefined || desc === '') delete target.description;
  else target.description = desc;
}

export const createField: Handler = (req, app) => {
  const base = editBase(app, req);
  const table = tableOf(base, req);
  const field = buildField(objectBody(req), { base, siblings: table.fields });
  table.fields.push(field);
  addInverseLink(base, table, field);
  app.store.saveBase(base);
  return publicField(field);
};

const UPDATABLE_FIELD_KEYS = new Set(['name', 'description', 'options']);

/** Only name, description and a formula's text can change; the type never can. */
export const updateField: Handler = (req, app) => {
  const base = editBase(app, req);
  const table = tableOf(base, req);
  const id = req.params.field ?? '';
  const field = (isId('fld', id) ? table.fields.find((f) => f.id === id) : undefined) ?? findField(table, id);
  if (!field) throw modelNotFound();
  const body = objectBody(req);
  const keys = Object.keys(body);
  if (keys.length === 0 || keys.some((k) => !UPDATABLE_FIELD_KEYS.has(k))) throw invalidRequest();
  if (body.name !== undefined) {
    field.name = fieldName(
      body.name,
      table.fields.filter((f) => f !== field).map((f) => f.name),
    );
  }
  if (body.description !== undefined) setDescription(field, body.description);
  if (body.options !== undefined) updateFormula(base, table, field, body.options);
  app.store.saveBase(base);
  return publicField(field);
};

function updateFormula(base: BaseDef, table: TableDef, field: FieldDef, options: unknown): void {
  const given = options as { formula?: unknown } | null;
  if (field.type !== 'formula' || typeof given !== 'object' || given === null) throw invalidRequest();
  if (Object.keys(given).some((k) => k !== 'formula')) throw invalidRequest();
  if (given.formula === undefined) return;
  const others = table.fields.filter((f) => f !== field);
  field.options = formulaOptions({ ...field.options, formula: given.formula }, { base, siblings: others });
}

/** POST /v0/meta/bases: a new base with the given tables; the token gets `create` permission on it. */
export const createBase: Handler = (req, app) => {
  const body = objectBody(req);
  const name = typeof body.name === 'string' ? body.name.trim() : '';
  if (name === '' || !Array.isArray(body.tables) || body.tables.length === 0) throw invalidRequest();
  const base: BaseDef = { id: newId('app'), name, permissionLevel: 'create', tables: [] };
  for (const input of body.tables) {
    const table = buildTable(base, input);
    base.tables.push(table);
    for (const field of table.fields) addInverseLink(base, table, field);
  }
  app.store.saveBase(base);
  return { id: base.id, tables: base.tables.map((t) => publicTable(t)) };
};
