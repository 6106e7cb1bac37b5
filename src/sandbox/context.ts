/** What handlers see: the parsed request and the sandbox's shared state. */
import { invalidRequest, modelNotFound } from './errors.js';
import type { IteratorStore } from './iterators.js';
import type { BaseDef } from './model.js';
import { requirePermission } from './schema.js';
import type { Store } from './store.js';

export interface App {
  store: Store;
  iterators: IteratorStore;
  /** The sandbox's own URL (for attachment URLs it serves). */
  url(): string;
}

export interface ApiRequest {
  method: string;
  /** Decoded path parameters: base, table, record, comment, field. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** The parsed JSON body; undefined when empty. Throws 422 INVALID_REQUEST_BODY on bad JSON. */
  body(): unknown;
}

/** Handlers return the 200 JSON body. */
export type Handler = (req: ApiRequest, app: App) => unknown;

export type PermissionLevel = 'read' | 'comment' | 'edit' | 'create';

export function baseFor(app: App, req: ApiRequest, level: PermissionLevel): BaseDef {
  const base = app.store.getBase(req.params.base ?? '');
  if (!base) throw modelNotFound();
  requirePermission(base, level);
  return base;
}

/** The body as a JSON object (an empty body counts as `{}`); anything else is a 422. */
export function objectBody(req: ApiRequest): Record<string, unknown> {
  const body = req.body();
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidRequest();
  return body as Record<string, unknown>;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
