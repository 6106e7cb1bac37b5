/**
 * URL paths and query strings for the Airtable Web API.
 *
 * Every id is checked against its shape before a path is built, and every
 * segment is percent-encoded, so that a value like `recX/../../meta` can never
 * reach another route (one public MCP server concatenated ids unencoded and
 * turned exactly that into `GET /v0/appX/meta`).
 */
import { invalidArgument } from './errors.js';
import { ID_PATTERNS } from './ids.js';
import { loneSurrogateAt } from './text.js';
import type { ListRecordsParams } from './types.js';

export type IdKind = keyof typeof ID_PATTERNS;

const ID_EXAMPLES: Record<IdKind, string> = {
  base: 'app + 14 letters/digits, e.g. appAbCdEf12345678',
  record: 'rec + 14 letters/digits, e.g. recAbCdEf12345678',
  comment: 'com + 14 letters/digits',
  field: 'fld + 14 letters/digits',
};

export function isId(kind: IdKind, value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERNS[kind].test(value);
}

export function checkId(kind: IdKind, value: unknown): string {
  if (isId(kind, value)) return value;
  throw invalidArgument(`Invalid ${kind} id ${JSON.stringify(value)}: expected ${ID_EXAMPLES[kind]}`);
}

/** A table (or view/field) addressed by name or id: any non-empty string, encoded as one segment. */
export function nameSegment(value: unknown, what = 'table'): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw invalidArgument(`Invalid ${what}: expected a non-empty name or id`);
  }
  // URL parsers collapse "." and ".." segments (even as %2E), so they cannot be sent safely.
  if (value === '.' || value === '..') throw invalidArgument(`Invalid ${what} name ${JSON.stringify(value)}`);
  // encodeURIComponent would throw a URIError on a lone surrogate.
  const at = loneSurrogateAt(value);
  if (at >= 0) {
    throw invalidArgument(
      `Invalid ${what} name ${JSON.stringify(value)}: it holds a lone surrogate at position ${at}, which is not valid text`,
    );
  }
  return encodeURIComponent(value);
}

export const paths = {
  whoami: () => '/v0/meta/whoami',
  bases: () => '/v0/meta/bases',
  tables: (baseId: string) => `/v0/meta/bases/${checkId('base', baseId)}/tables`,
  table: (baseId: string, table: string) => `${paths.tables(baseId)}/${nameSegment(table)}`,
  fields: (baseId: string, table: string) => `${paths.table(baseId, table)}/fields`,
  field: (baseId: string, table: string, fieldId: string) =>
    `${paths.fields(baseId, table)}/${checkId('field', fieldId)}`,
  records: (baseId: string, table: string) => `/v0/${checkId('base', baseId)}/${nameSegment(table)}`,
  listRecords: (baseId: string, table: string) => `${paths.records(baseId, table)}/listRecords`,
  record: (baseId: string, table: string, recordId: string) =>
    `${paths.records(baseId, table)}/${checkId('record', recordId)}`,
  comments: (baseId: string, table: string, recordId: string) =>
    `${paths.record(baseId, table, recordId)}/comments`,
  comment: (baseId: string, table: string, recordId: string, commentId: string) =>
    `${paths.comments(baseId, table, recordId)}/${checkId('comment', commentId)}`,
};

function checkPositiveInt(name: string, value: unknown, max = Number.MAX_SAFE_INTEGER): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw invalidArgument(`${name} must be an integer from 1 to ${max}, got ${JSON.stringify(value)}`);
  }
}

/** Cheap checks that would otherwise cost a request and a 422. */
export function checkListParams(p: ListRecordsParams): void {
  if (p.pageSize !== undefined) checkPositiveInt('pageSize', p.pageSize, 100);
  if (p.maxRecords !== undefined) checkPositiveInt('maxRecords', p.maxRecords);
  if (p.fields !== undefined && (!Array.isArray(p.fields) || p.fields.some((f) => typeof f !== 'string'))) {
    throw invalidArgument('fields must be an array of field names or ids');
  }
  for (const s of p.sort ?? []) {
    if (typeof s?.field !== 'string' || s.field === '')
      throw invalidArgument('Each sort entry needs a field');
    if (s.direction !== undefined && s.direction !== 'asc' && s.direction !== 'desc') {
      throw invalidArgument(`Sort direction must be "asc" or "desc", got ${JSON.stringify(s.direction)}`);
    }
  }
  if (p.cellFormat === 'string' && (!p.timeZone || !p.userLocale)) {
    throw invalidArgument('cellFormat "string" requires both timeZone and userLocale');
  }
}

/** Query for `GET /v0/{base}/{table}` in the wire format airtable.js and pyairtable use. */
export function listRecordsQuery(p: ListRecordsParams): URLSearchParams {
  const q = new URLSearchParams();
  for (const f of p.fields ?? []) q.append('fields[]', f);
  if (p.filterByFormula !== undefined) q.set('filterByFormula', p.filterByFormula);
  if (p.maxRecords !== undefined) q.set('maxRecords', String(p.maxRecords));
  if (p.pageSize !== undefined) q.set('pageSize', String(p.pageSize));
  (p.sort ?? []).forEach((s, i) => {
    q.set(`sort[${i}][field]`, s.field);
    if (s.direction) q.set(`sort[${i}][direction]`, s.direction);
  });
  if (p.view !== undefined) q.set('view', p.view);
  if (p.cellFormat !== undefined) q.set('cellFormat', p.cellFormat);
  if (p.timeZone !== undefined) q.set('timeZone', p.timeZone);
  if (p.userLocale !== undefined) q.set('userLocale', p.userLocale);
  if (p.returnFieldsByFieldId) q.set('returnFieldsByFieldId', 'true');
  if (p.offset !== undefined) q.set('offset', p.offset);
  return q;
}

const BODY_KEYS = [
  'fields',
  'filterByFormula',
  'maxRecords',
  'pageSize',
  'sort',
  'view',
  'cellFormat',
  'returnFieldsByFieldId',
  'offset',
] as const satisfies readonly (keyof ListRecordsParams)[];

/** Body for `POST …/listRecords`; timeZone and userLocale stay in the query, as other clients send them. */
export function listRecordsBody(p: ListRecordsParams): {
  body: Record<string, unknown>;
  query: URLSearchParams;
} {
  const body: Record<string, unknown> = {};
  for (const key of BODY_KEYS) if (p[key] !== undefined) body[key] = p[key];
  const query = new URLSearchParams();
  if (p.timeZone !== undefined) query.set('timeZone', p.timeZone);
  if (p.userLocale !== undefined) query.set('userLocale', p.userLocale);
  return { body, query };
}

/** Airtable rejects GET URLs longer than this; longer queries go through POST listRecords. */
export const MAX_GET_URL_LENGTH = 16_000;
