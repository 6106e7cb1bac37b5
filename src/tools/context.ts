/**
 * What a tool gets to do its work. Built per call by the server from
 * long-lived dependencies; a tool never sees the transport.
 */
import type { Logger } from 'pino';
import { BASE_ID_PATTERN } from '../airtable/ids.js';
import { type AirtableClient, AirtableError } from '../airtable/index.js';
import type { BaseInfo, FieldSchema, TableSchema } from '../airtable/types.js';
import { canUseBase, type Principal } from '../app/principal.js';
import { ToolDeniedError, ToolInputError } from './errors.js';

export interface ToolContext {
  client: AirtableClient;
  schemas: SchemaCache;
  /** Base used when a tool call omits base_id. */
  defaultBase?: string;
  /** Most characters a tool result may carry (text and structured parts each). */
  maxResponseChars: number;
  signal: AbortSignal;
  /** Reports progress when the client asked for it; otherwise a no-op. */
  progress(done: number, total?: number, message?: string): Promise<void>;
  logger: Logger;
  /** Who is calling; absent for an embedder's own server (everything allowed). */
  principal?: Principal;
}

/** The base to use for a call: the one given, else the configured default. */
export function resolveBaseId(
  ctx: Pick<ToolContext, 'defaultBase' | 'principal'>,
  baseId: string | undefined,
): string {
  const id = baseId?.trim() || ctx.defaultBase;
  if (!id) {
    throw new ToolInputError(
      'base_id is required (no default base is configured). Call list_bases to find it; it looks like appXXXXXXXXXXXXXX.',
    );
  }
  if (!BASE_ID_PATTERN.test(id)) {
    throw new ToolInputError(
      `"${id}" is not a base id. Base ids look like appXXXXXXXXXXXXXX (17 characters); call list_bases to find it.`,
    );
  }
  if (ctx.principal && !canUseBase(ctx.principal, id)) {
    throw new ToolDeniedError(
      `You have no access to base ${id}. Call list_bases to see the bases you may use, or ask an admin for access.`,
    );
  }
  return id;
}

interface Cached<T> {
  value: T;
  fetchedAt: number;
}

/** What SchemaCache needs of a cache shared between replicas (Redis in server mode). */
export interface SharedCache {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown, ttlMs: number): Promise<void>;
  invalidate(key: string): Promise<void>;
}

export interface SchemaCacheOptions {
  /** How long this process trusts what it fetched; default 60 s. */
  ttlMs?: number;
  /** A cache shared by replicas, consulted before Airtable. */
  shared?: SharedCache;
  /** How long the shared cache keeps a schema or base list; default 5 minutes. */
  sharedTtlMs?: number;
  /** Told when this process changed a base's schema, so other replicas can forget theirs (pub/sub). */
  onInvalidate?: (baseId: string) => void;
}

const BASES_KEY = 'bases';
const schemaKey = (baseId: string) => `schema:${baseId}`;

/**
 * Base schemas and the base list, cached so that resolving a table name or
 * checking field types does not cost a request on every call: first in this
 * process, then in the shared cache, then from Airtable. A miss refreshes
 * once before reporting "unknown", so tables created elsewhere are found.
 */
export class SchemaCache {
  private readonly local = new Map<string, Cached<unknown>>();
  private readonly inflight = new Map<string, Promise<unknown>>();
  /** Bumped by every invalidation: a load that started before it must not store what it read. */
  private readonly generations = new Map<string, number>();
  private readonly ttlMs: number;

  constructor(
    private readonly client: AirtableClient,
    private readonly options: SchemaCacheOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 60_000;
  }

  /** `fresh` skips both caches (a table or field may have been added elsewhere). */
  tables(baseId: string, signal?: AbortSignal, fresh = false): Promise<TableSchema[]> {
    return this.cached(schemaKey(baseId), fresh, signal, () => this.client.getBaseSchema(baseId));
  }

  bases(signal?: AbortSignal): Promise<BaseInfo[]> {
    return this.cached(BASES_KEY, false, signal, () => this.client.listBases());
  }

  /** Forget a base's schema after this server changed it, here, in the shared cache and on other replicas. */
  invalidate(baseId: string): void {
    this.forget(baseId);
    this.local.delete(BASES_KEY);
    // Tell the other replicas only once the shared copy is gone, or they could read it straight back.
    const shared = this.options.shared?.invalidate(schemaKey(baseId)) ?? Promise.resolve();
    void shared.catch(() => {}).finally(() => this.options.onInvalidate?.(baseId));
  }

  /** Forget a base's schema in this process only (another replica changed it). */
  forget(baseId: string): void {
    const key = schemaKey(baseId);
    this.local.delete(key);
    this.inflight.delete(key);
    this.inflight.delete(`${key}#fresh`);
    this.generations.set(key, this.generation(key) + 1);
  }

  private generation(key: string): number {
    return this.generations.get(key) ?? 0;
  }

  /**
   * One fetch per key at a time, shared by every caller. It runs without any
   * caller's signal (the client's deadline bounds it), so one caller
   * cancelling never fails the others; each caller stops waiting on its own.
   */
  private async cached<T>(
    key: string,
    fresh: boolean,
    signal: AbortSignal | undefined,
    fetch: () => Promise<T>,
  ): Promise<T> {
    const hit = this.local.get(key);
    if (!fresh && hit && Date.now() - hit.fetchedAt < this.ttlMs) return hit.value as T;
    // A fresh lookup must not join a normal load, which may be answered from the shared cache.
    const slot = fresh ? `${key}#fresh` : key;
    let pending = this.inflight.get(slot) as Promise<T> | undefined;
    if (!pending) {
      const generation = this.generation(key);
      const current = () => this.generation(key) === generation;
      pending = this.load(key, fresh, fetch, current).then((value) => {
        if (current()) this.local.set(key, { value, fetchedAt: Date.now() });
        return value;
      });
      const self = pending;
      // Only clear our own entry: an invalidation may have started a newer load under the same key.
      self
        .finally(() => {
          if (this.inflight.get(slot) === self) this.inflight.delete(slot);
        })
        .catch(() => {});
      this.inflight.set(slot, pending);
    }
    return untilAborted(pending, signal);
  }

  private async load<T>(
    key: string,
    fresh: boolean,
    fetch: () => Promise<T>,
    current: () => boolean,
  ): Promise<T> {
    const { shared } = this.options;
    if (shared && !fresh) {
      const value = await shared.get<T>(key).catch(() => undefined);
      if (value !== undefined) return value;
    }
    const value = await fetch();
    if (current()) await shared?.set(key, value, this.options.sharedTtlMs ?? 300_000).catch(() => {});
    return value;
  }

  /** A table by id or name (exact, then case-insensitive); ToolInputError listing the tables if none. */
  async table(baseId: string, tableIdOrName: string, signal?: AbortSignal): Promise<TableSchema> {
    const wanted = tableIdOrName.trim();
    const found = findTable(await this.tables(baseId, signal), wanted);
    if (found) return found;
    const refreshed = await this.tables(baseId, signal, true);
    const retry = findTable(refreshed, wanted);
    if (retry) return retry;
    const names = refreshed.map((t) => `${t.name} (${t.id})`).join(', ');
    throw new ToolInputError(`No table "${wanted}" in base ${baseId}. Tables: ${names || 'none'}.`);
  }
}

/** The promise's outcome, or the signal's reason as soon as it aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function findTable(tables: TableSchema[], wanted: string): TableSchema | undefined {
  const lower = wanted.toLowerCase();
  return (
    tables.find((t) => t.id === wanted || t.name === wanted) ??
    tables.find((t) => t.name.toLowerCase() === lower)
  );
}

/** A field by id or name (exact, then case-insensitive). */
export function findField(table: TableSchema, wanted: string): FieldSchema | undefined {
  const lower = wanted.trim().toLowerCase();
  return (
    table.fields.find((f) => f.id === wanted || f.name === wanted) ??
    table.fields.find((f) => f.name.toLowerCase() === lower)
  );
}

/** Resolve field names/ids to fields, or a ToolInputError naming the unknown ones and the valid choices. */
export function requireFields(table: TableSchema, wanted: readonly string[]): FieldSchema[] {
  const unknown: string[] = [];
  const fields: FieldSchema[] = [];
  for (const name of wanted) {
    const field = findField(table, name);
    if (field) fields.push(field);
    else unknown.push(name);
  }
  if (unknown.length) {
    const known = table.fields.map((f) => f.name).join(', ');
    throw new ToolInputError(
      `Unknown field${unknown.length > 1 ? 's' : ''} in table "${table.name}": ${unknown.map((n) => `"${n}"`).join(', ')}. Fields: ${known}.`,
    );
  }
  return fields;
}

/**
 * Run a table request. Airtable answers a wrong table name (even one that
 * differs only in case) with a deliberately vague 403 ("no permission, or not
 * found"), so on that answer look at the schema: an unknown table becomes a
 * ToolInputError listing the tables; a table found under another spelling is
 * retried once by its id. `run` receives the table reference to use.
 */
export async function withTableCheck<T>(
  ctx: Pick<ToolContext, 'schemas' | 'signal'>,
  baseId: string,
  table: string,
  run: (tableRef: string) => Promise<T>,
): Promise<T> {
  try {
    return await run(table);
  } catch (error) {
    if (!(error instanceof AirtableError && error.kind === 'forbidden_or_not_found')) throw error;
    const schema = await ctx.schemas.table(baseId, table, ctx.signal);
    if (schema.id === table) throw error;
    return run(schema.id);
  }
}
