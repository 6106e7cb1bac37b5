/**
 * The route table (reference §1.6). `/v0/meta/…` routes come first; base, record and comment segments
 * must have the right id shape, otherwise nothing matches and the caller answers 404 `{"error":"NOT_FOUND"}`.
 * Webhook routes (`/v0/bases/…`) are not implemented and fall through to that 404 too.
 */
import * as comments from './comments.js';
import type { Handler } from './context.js';
import { isId } from './ids.js';
import * as meta from './metadata.js';
import * as records from './records.js';
import { uploadAttachment } from './upload.js';

interface Route {
  method: string;
  path: string[];
  handler: Handler;
}

export interface RouteMatch {
  handler: Handler;
  params: Record<string, string>;
  /** The base the request is about (it counts against that base's rate limit). */
  baseId?: string;
}

/** Shapes of `:param` segments; unlisted params accept any non-empty text (table and field names). */
const SHAPES: Record<string, (s: string) => boolean> = {
  base: (s) => isId('app', s),
  record: (s) => isId('rec', s),
  comment: (s) => isId('com', s),
};

const route = (method: string, path: string, handler: Handler): Route => ({
  method,
  path: path.split('/').filter(Boolean),
  handler,
});

const ROUTES: Route[] = [
  route('GET', 'v0/meta/whoami', meta.whoami),
  route('GET', 'v0/meta/bases', meta.listBases),
  route('POST', 'v0/meta/bases', meta.createBase),
  route('GET', 'v0/meta/bases/:base/tables', meta.getSchema),
  route('POST', 'v0/meta/bases/:base/tables', meta.createTable),
  route('PATCH', 'v0/meta/bases/:base/tables/:table', meta.updateTable),
  route('POST', 'v0/meta/bases/:base/tables/:table/fields', meta.createField),
  route('PATCH', 'v0/meta/bases/:base/tables/:table/fields/:field', meta.updateField),
  route('POST', 'v0/:base/:record/:field/uploadAttachment', uploadAttachment),
  route('GET', 'v0/:base/:table', records.listRecordsGet),
  route('POST', 'v0/:base/:table/listRecords', records.listRecordsPost),
  route('POST', 'v0/:base/:table', records.createRecords),
  route('PATCH', 'v0/:base/:table', records.updateRecords),
  route('PUT', 'v0/:base/:table', records.updateRecords),
  route('DELETE', 'v0/:base/:table', records.deleteRecords),
  route('GET', 'v0/:base/:table/:record', records.getRecord),
  route('PATCH', 'v0/:base/:table/:record', records.updateRecord),
  route('PUT', 'v0/:base/:table/:record', records.updateRecord),
  route('DELETE', 'v0/:base/:table/:record', records.deleteRecord),
  route('GET', 'v0/:base/:table/:record/comments', comments.listComments),
  route('POST', 'v0/:base/:table/:record/comments', comments.createComment),
  route('PATCH', 'v0/:base/:table/:record/comments/:comment', comments.updateComment),
  route('DELETE', 'v0/:base/:table/:record/comments/:comment', comments.deleteComment),
];

function matchPath(pattern: string[], segments: string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const s = segments[i]!;
    if (p.startsWith(':')) {
      const name = p.slice(1);
      if (!(SHAPES[name]?.(s) ?? true)) return undefined;
      params[name] = s;
    } else if (p !== s) {
      return undefined;
    }
  }
  return params;
}

export function matchRoute(method: string, segments: string[]): RouteMatch | undefined {
  // `meta` and `bases` are never base ids, so their subtrees never fall through to record routes.
  for (const r of ROUTES) {
    if (r.method !== method) continue;
    const params = matchPath(r.path, segments);
    if (params) return { handler: r.handler, params, baseId: params.base };
  }
  return undefined;
}
