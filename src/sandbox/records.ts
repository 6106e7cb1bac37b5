/** Records API handlers (reference §2): list, get, create, update/replace, delete. Upsert lives in upsert.ts. */
import { type ApiRequest, type App, baseFor, type Handler, isPlainObject, objectBody } from './context.js';
import {
  BATCH_UPDATE_MESSAGE,
  invalidRecords,
  invalidRequest,
  missingFields,
  recordNotFound,
  rowDoesNotExist,
  tooManyToCreate,
} from './errors.js';
import { isId } from './ids.js';
import { listRecords, paramsFromBody, paramsFromQuery, renderParams } from './listing.js';
import type { BaseDef, TableDef } from './model.js';
import { boolParam, listParam } from './params.js';
import { Reader } from './reader.js';
import { type RenderOptions, renderRecord } from './render.js';
import { requireTable } from './schema.js';
import type { StoredRecord } from './store.js';
import { upsertRecords } from './upsert.js';
import { WriteBatch } from './writer.js';

export const MAX_BATCH = 10;

export interface TableScope {
  base: BaseDef;
  table: TableDef;
}

export function tableScope(app: App, req: ApiRequest, level: 'read' | 'edit'): TableScope {
  const base = baseFor(app, req, level);
  return { base, table: requireTable(base, req.params.table ?? '') };
}

/** Renders records after a write, with a fresh reader so computed fields see the committed data. */
export function renderWritten(
  app: App,
  scope: TableScope,
  records: StoredRecord[],
  byId: boolean,
): unknown[] {
  const reader = new Reader(app.store, scope.base, { now: new Date() });
  const opts: RenderOptions = { byId, cellFormat: 'json', commentCount: false };
  return records.map((r) =>
    renderRecord(reader, scope.table, app.store.getRecord(scope.table.id, r.id) ?? r, opts),
  );
}

export const listRecordsGet: Handler = (req, app) => {
  const { base, table } = tableScope(app, req, 'read');
  return listRecords(app, base, table, paramsFromQuery(req.query));
};

export const listRecordsPost: Handler = (req, app) => {
  const { base, table } = tableScope(app, req, 'read');
  return listRecords(app, base, table, paramsFromBody(objectBody(req), req.query));
};

export const getRecord: Handler = (req, app) => {
  const scope = tableScope(app, req, 'read');
  const rec = app.store.getRecord(scope.table.id, req.params.record ?? '');
  if (!rec) throw recordNotFound();
  const q = req.query;
  const p = {
    cellFormat: q.get('cellFormat') ?? undefined,
    timeZone: q.get('timeZone') ?? undefined,
    userLocale: q.get('userLocale') ?? undefined,
    returnFieldsByFieldId: boolParam(q.get('returnFieldsByFieldId') ?? undefined),
  };
  const reader = new Reader(app.store, scope.base, {
    now: new Date(),
    timeZone: p.timeZone,
    userLocale: p.userLocale,
  });
  return renderRecord(reader, scope.table, rec, { ...renderParams(p), commentCount: false });
};

interface WriteOptions {
  typecast: boolean;
  byId: boolean;
}

/** `typecast` and `returnFieldsByFieldId` come from the body only (a `typecast` query parameter is ignored). */
export function writeOptions(body: Record<string, unknown>): WriteOptions {
  return {
    typecast: boolParam(body.typecast) === true,
    byId: boolParam(body.returnFieldsByFieldId) === true,
  };
}

export const createRecords: Handler = (req, app) => {
  const scope = tableScope(app, req, 'edit');
  const body = objectBody(req);
  const opts = writeOptions(body);
  const batch = new WriteBatch(app.store, scope.base, opts.typecast);
  if ('records' in body) {
    const inputs = body.records;
    if (!Array.isArray(inputs) || inputs.length === 0) {
      throw invalidRecords(
        'You must provide an array of up to 10 record objects, each with a "fields" object for cell values.',
      );
    }
    if (inputs.length > MAX_BATCH) throw tooManyToCreate(inputs.length);
    const created = inputs.map((input) => batch.create(scope.table, fieldsOf(input)));
    batch.commit();
    return { records: renderWritten(app, scope, created, opts.byId) };
  }
  const created = batch.create(scope.table, fieldsOf(body));
  batch.commit();
  return renderWritten(app, scope, [created], opts.byId)[0];
};

/** The `fields` object of a record input; 422 INVALID_REQUEST_MISSING_FIELDS when absent or not an object. */
function fieldsOf(input: unknown): Record<string, unknown> {
  const fields = isPlainObject(input) ? input.fields : undefined;
  if (!isPlainObject(fields)) throw missingFields();
  return fields;
}

/** PATCH/PUT on the collection: batch update, or upsert with `performUpsert`. */
export const updateRecords: Handler = (req, app) => {
  const scope = tableScope(app, req, 'edit');
  const body = objectBody(req);
  const inputs = body.records;
  if (!Array.isArray(inputs) || inputs.length === 0 || inputs.length > MAX_BATCH) throw invalidRecords();
  if (!inputs.every((r) => isPlainObject(r) && isPlainObject(r.fields))) throw invalidRecords();
  const replace = req.method === 'PUT';
  const opts = writeOptions(body);
  const batch = new WriteBatch(app.store, scope.base, opts.typecast);
  if (body.performUpsert !== undefined && body.performUpsert !== null) {
    const result = upsertRecords(batch, scope.table, inputs, body.performUpsert, replace);
    batch.commit();
    return {
      records: renderWritten(app, scope, result.records, opts.byId),
      createdRecords: result.createdRecords,
      updatedRecords: result.updatedRecords,
    };
  }
  const updated = inputs.map((input) => {
    const { id, fields } = input as { id?: unknown; fields: Record<string, unknown> };
    if (typeof id !== 'string') throw invalidRecords(BATCH_UPDATE_MESSAGE);
    if (!batch.exists(scope.table, id)) throw rowDoesNotExist(id);
    return batch.update(scope.table, id, fields, replace);
  });
  batch.commit();
  return { records: renderWritten(app, scope, updated, opts.byId) };
};

export const updateRecord: Handler = (req, app) => {
  const scope = tableScope(app, req, 'edit');
  const id = req.params.record ?? '';
  if (!app.store.getRecord(scope.table.id, id)) throw recordNotFound();
  const body = objectBody(req);
  const opts = writeOptions(body);
  const batch = new WriteBatch(app.store, scope.base, opts.typecast);
  const updated = batch.update(scope.table, id, fieldsOf(body), req.method === 'PUT');
  batch.commit();
  return renderWritten(app, scope, [updated], opts.byId)[0];
};

export const deleteRecord: Handler = (req, app) => {
  const scope = tableScope(app, req, 'edit');
  const id = req.params.record ?? '';
  if (!app.store.getRecord(scope.table.id, id)) throw recordNotFound();
  const batch = new WriteBatch(app.store, scope.base, false);
  batch.delete(scope.table, id);
  batch.commit();
  return { deleted: true, id };
};

/** `DELETE ?records[]=…`: all or nothing; an unknown id fails the batch with 422 ROW_DOES_NOT_EXIST. */
export const deleteRecords: Handler = (req, app) => {
  const scope = tableScope(app, req, 'edit');
  const ids = listParam(req.query, 'records') ?? [];
  if (ids.length === 0) throw invalidRequest();
  if (ids.length > MAX_BATCH) throw invalidRecords();
  const batch = new WriteBatch(app.store, scope.base, false);
  for (const id of new Set(ids)) {
    if (!isId('rec', id) || !batch.exists(scope.table, id)) throw rowDoesNotExist(id);
    batch.delete(scope.table, id);
  }
  batch.commit();
  return { records: ids.map((id) => ({ deleted: true, id })) };
};
