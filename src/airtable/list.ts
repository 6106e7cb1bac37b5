/** Listing records: one page (GET, or POST listRecords for long queries) and capped paging. */
import { invalidResponse } from './errors.js';
import type { HttpCore, RequestSpec } from './http.js';
import type { CallOptions } from './options.js';
import { checkListParams, listRecordsBody, listRecordsQuery, MAX_GET_URL_LENGTH, paths } from './paths.js';
import type { ListRecordsParams, RecordPage } from './types.js';

export const DEFAULT_MAX_RECORDS = 1000;

/** The GET request for a page, or the POST listRecords one when the GET URL would be too long (or `forcePost`). */
export function pageRequest(
  http: HttpCore,
  baseId: string,
  table: string,
  params: ListRecordsParams,
  forcePost = false,
): RequestSpec {
  const path = paths.records(baseId, table);
  const query = listRecordsQuery(params);
  if (!forcePost && http.url(path, query).length <= MAX_GET_URL_LENGTH) {
    return { method: 'GET', path, query, baseId, idempotent: true };
  }
  const post = listRecordsBody(params);
  // POST listRecords only reads: safe to retry like a GET.
  return { method: 'POST', path: paths.listRecords(baseId, table), ...post, baseId, idempotent: true };
}

async function sendPage(http: HttpCore, spec: RequestSpec, o?: CallOptions): Promise<RecordPage> {
  const res = await http.send<{ records?: unknown; offset?: unknown }>(spec, o);
  if (!Array.isArray(res?.records))
    throw invalidResponse({ method: spec.method, path: spec.path }, 'no "records" array');
  const page: RecordPage = { records: res.records };
  if (typeof res.offset === 'string' && res.offset !== '') page.offset = res.offset;
  return page;
}

export function listRecordsPage(
  http: HttpCore,
  baseId: string,
  table: string,
  params: ListRecordsParams = {},
  o?: CallOptions,
): Promise<RecordPage> {
  checkListParams(params);
  return sendPage(http, pageRequest(http, baseId, table, params), o);
}

export type ListAllOptions = CallOptions & { onPage?: (page: RecordPage, soFar: number) => void };

/**
 * Pages through offsets until `maxRecords` (default 1000, never unbounded) or
 * the end. The cap is applied here, by shrinking the last page's pageSize,
 * rather than sent as Airtable's maxRecords: Airtable drops the offset once its
 * maxRecords is reached, and we want to hand back the offset to resume from.
 */
export async function listRecords(
  http: HttpCore,
  baseId: string,
  table: string,
  params: ListRecordsParams = {},
  o: ListAllOptions = {},
): Promise<RecordPage> {
  const { maxRecords = DEFAULT_MAX_RECORDS, ...query } = params;
  checkListParams({ ...query, maxRecords });
  const pageSize = query.pageSize ?? 100;
  const records: RecordPage['records'] = [];
  let offset = query.offset;
  let post = false;
  for (;;) {
    const pageParams = { ...query, pageSize: Math.min(pageSize, maxRecords - records.length), offset };
    const spec = pageRequest(http, baseId, table, pageParams, post);
    // Once a query needs POST, every later page uses it too, so all pages see the same query.
    post = spec.method === 'POST';
    const page = await sendPage(http, spec, o);
    records.push(...page.records);
    o.onPage?.(page, records.length);
    if (!page.offset) return { records };
    if (records.length >= maxRecords) return { records, offset: page.offset };
    if (page.offset === offset)
      throw invalidResponse({ method: spec.method, path: spec.path }, 'offset did not advance');
    offset = page.offset;
  }
}
