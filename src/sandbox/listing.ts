/** List records (GET and POST listRecords): parameter validation, filter, sort, view, pages and offsets. */
import type { App } from './context.js';
import { apiError, invalidRequest, unknownField } from './errors.js';
import { isTruthy } from './formula/index.js';
import { type CompiledFormula, compileCached, compileFilter } from './formulas.js';
import type { BaseDef, TableDef, ViewDef } from './model.js';
import {
  boolParam,
  intParam,
  isValidLocale,
  isValidTimeZone,
  listParam,
  type SortSpec,
  sortParam,
  sortSpec,
} from './params.js';
import { Reader } from './reader.js';
import { type RenderOptions, renderRecord } from './render.js';
import { findField, findView } from './schema.js';
import { type SortBy, sortRecords } from './sort.js';
import type { StoredRecord } from './store.js';

export interface ListParams {
  fields?: string[];
  filterByFormula?: string;
  maxRecords?: number;
  pageSize?: number;
  sort?: SortSpec[];
  view?: string;
  cellFormat?: string;
  timeZone?: string;
  userLocale?: string;
  offset?: string;
  returnFieldsByFieldId?: boolean;
  recordMetadata?: string[];
}

const MAX_PAGE_SIZE = 100;

function optionalString(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidRequest();
  return value;
}

function stringList(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || !list.every((v) => typeof v === 'string')) throw invalidRequest();
  return list as string[];
}

export function paramsFromQuery(q: URLSearchParams): ListParams {
  return {
    fields: listParam(q, 'fields'),
    filterByFormula: q.get('filterByFormula') ?? undefined,
    maxRecords: intParam(q.get('maxRecords') ?? undefined),
    // `limit` is the deprecated alias airtable.js's list()/forEach() still send.
    pageSize: intParam(q.get('pageSize') ?? q.get('limit') ?? undefined),
    sort: sortParam(q),
    view: q.get('view') ?? undefined,
    cellFormat: q.get('cellFormat') ?? undefined,
    timeZone: q.get('timeZone') ?? undefined,
    userLocale: q.get('userLocale') ?? undefined,
    offset: q.get('offset') ?? undefined,
    returnFieldsByFieldId: boolParam(q.get('returnFieldsByFieldId') ?? undefined),
    recordMetadata: listParam(q, 'recordMetadata'),
  };
}

/** POST listRecords: the same parameters in the body; unknown keys (airtable.js sends `method`) are ignored. */
export function paramsFromBody(body: Record<string, unknown>, q: URLSearchParams): ListParams {
  const sort = body.sort;
  if (sort !== undefined && sort !== null && !Array.isArray(sort)) throw invalidRequest();
  return {
    fields: stringList(body.fields),
    filterByFormula: optionalString(body.filterByFormula),
    maxRecords: intParam(body.maxRecords),
    pageSize: intParam(body.pageSize),
    sort: Array.isArray(sort) ? sort.map(sortSpec) : undefined,
    view: optionalString(body.view),
    cellFormat: optionalString(body.cellFormat),
    timeZone: q.get('timeZone') ?? optionalString(body.timeZone),
    userLocale: q.get('userLocale') ?? optionalString(body.userLocale),
    offset: optionalString(body.offset),
    returnFieldsByFieldId: boolParam(body.returnFieldsByFieldId),
    recordMetadata: stringList(body.recordMetadata),
  };
}

/** Parameters shared by list and get-one: cell format, time zone and field keys. */
export function renderParams(p: ListParams): Pick<RenderOptions, 'byId' | 'cellFormat'> {
  const cellFormat = p.cellFormat ?? 'json';
  if (cellFormat !== 'json' && cellFormat !== 'string') throw invalidRequest();
  if (cellFormat === 'string' && (!p.timeZone || !p.userLocale)) throw invalidRequest();
  if (p.timeZone !== undefined && !isValidTimeZone(p.timeZone)) throw invalidRequest();
  if (p.userLocale !== undefined && !isValidLocale(p.userLocale)) throw invalidRequest();
  return { byId: p.returnFieldsByFieldId === true, cellFormat };
}

interface Plan {
  render: RenderOptions;
  pageSize: number;
  maxRecords?: number;
  view?: ViewDef;
  sort: SortBy[];
  filter?: CompiledFormula;
  fingerprint: string;
}

function planList(app: App, table: TableDef, p: ListParams): Plan {
  const pageSize = p.pageSize ?? MAX_PAGE_SIZE;
  if (pageSize < 1 || pageSize > MAX_PAGE_SIZE) throw invalidRequest();
  if (p.recordMetadata?.some((m) => m !== 'commentCount')) throw invalidRequest();
  const render: RenderOptions = { ...renderParams(p), commentCount: p.recordMetadata !== undefined };
  if (p.fields) render.fieldIds = new Set(p.fields.map((name) => requireField(table, name)));
  const view = p.view === undefined ? undefined : findView(table, p.view);
  if (p.view !== undefined && !view) {
    throw apiError(422, 'VIEW_NAME_NOT_FOUND', `Could not find view "${p.view}" in table "${table.name}"`);
  }
  const sort = p.sort?.length ? resolveSort(table, p.sort) : viewSort(table, view);
  const filter = p.filterByFormula
    ? compileFilter(p.filterByFormula, table, app.store.schemaVersion)
    : undefined;
  const fingerprint = JSON.stringify([
    table.id,
    p.filterByFormula ?? '',
    view?.id ?? '',
    sort.map((s) => [s.field.id, s.desc]),
  ]);
  return { render, pageSize, maxRecords: p.maxRecords || undefined, view, sort, filter, fingerprint };
}

function requireField(table: TableDef, name: string): string {
  const field = findField(table, name);
  if (!field) throw unknownField(name);
  return field.id;
}

function resolveSort(table: TableDef, specs: SortSpec[]): SortBy[] {
  return specs.map((s) => {
    const field = findField(table, s.field);
    if (!field) throw unknownField(s.field);
    return { field, desc: s.direction === 'desc' };
  });
}

/** A view's own order; sort entries naming fields that no longer exist are skipped. */
function viewSort(table: TableDef, view: ViewDef | undefined): SortBy[] {
  const out: SortBy[] = [];
  for (const s of view?.sort ?? []) {
    const field = findField(table, s.field);
    if (field) out.push({ field, desc: s.direction === 'desc' });
  }
  return out;
}

/** The ordered, filtered ids a new iteration walks through. */
function snapshot(app: App, reader: Reader, table: TableDef, plan: Plan): string[] {
  let records: StoredRecord[] = app.store.records(table.id);
  const filters = [viewFilter(app, table, plan.view), plan.filter].filter((f) => f !== undefined);
  for (const f of filters) records = records.filter((r) => isTruthy(reader.evaluate(f, table, r)));
  const ids = sortRecords(reader, table, records, plan.sort).map((r) => r.id);
  return plan.maxRecords === undefined ? ids : ids.slice(0, plan.maxRecords);
}

function viewFilter(app: App, table: TableDef, view: ViewDef | undefined): CompiledFormula | undefined {
  if (!view?.filterFormula) return undefined;
  try {
    return compileCached(view.filterFormula, table, app.store.schemaVersion);
  } catch {
    return undefined; // a view whose filter no longer compiles shows everything rather than failing lists
  }
}

export function listRecords(
  app: App,
  base: BaseDef,
  table: TableDef,
  p: ListParams,
): Record<string, unknown> {
  const plan = planList(app, table, p);
  const now = Date.now();
  const reader = new Reader(app.store, base, {
    now: new Date(now),
    timeZone: p.timeZone,
    userLocale: p.userLocale,
  });
  const cursor = p.offset
    ? app.iterators.resume(p.offset, plan.fingerprint, now)
    : { itrId: undefined, ids: snapshot(app, reader, table, plan), start: 0 };
  const page: StoredRecord[] = [];
  let i = cursor.start;
  for (; i < cursor.ids.length && page.length < plan.pageSize; i++) {
    const rec = app.store.getRecord(table.id, cursor.ids[i]!);
    if (rec) page.push(rec);
  }
  while (i < cursor.ids.length && !app.store.getRecord(table.id, cursor.ids[i]!)) i++;
  const out: Record<string, unknown> = {
    records: page.map((r) => renderRecord(reader, table, r, plan.render)),
  };
  const last = page.at(-1);
  if (i < cursor.ids.length && last) {
    const itrId = cursor.itrId ?? app.iterators.create(plan.fingerprint, cursor.ids, now);
    out.offset = `${itrId}/${last.id}`;
  }
  return out;
}
