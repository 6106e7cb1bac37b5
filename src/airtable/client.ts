/**
 * Airtable Web API client. Knows nothing about MCP: callers pass plain values
 * and get typed results or an AirtableError. All state (token, limiter, fetch,
 * hooks) comes in through the options.
 */
import { AirtableError, invalidArgument, invalidResponse, isRecordNotFound } from './errors.js';
import { HttpCore, type RequestCounter, type RequestSpec } from './http.js';
import { type ListAllOptions, listRecords, listRecordsPage } from './list.js';
import type { AirtableClientOptions, BatchOptions, BatchResult, CallOptions } from './options.js';
import { checkId, paths } from './paths.js';
import {
  createRecords,
  deleteRecords,
  type UpsertResult,
  updateRecords,
  upsertRecords,
} from './records-batch.js';
import type {
  AirtableRecord,
  BaseInfo,
  Comment,
  CommentPage,
  DeletedRecord,
  FieldSchema,
  Fields,
  ListRecordsParams,
  NewFieldSpec,
  RecordPage,
  TableSchema,
} from './types.js';

/** Guards against a server that keeps returning offsets. */
const MAX_BASE_PAGES = 1000;

function checkFields(fields: unknown): Fields {
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
    throw invalidArgument('fields must be an object of field name (or id) to value');
  }
  return fields as Fields;
}

function checkText(text: unknown, what: string): string {
  if (typeof text !== 'string' || text.trim() === '')
    throw invalidArgument(`${what} must be a non-empty string`);
  return text;
}

function checkPatch<P extends { name?: string; description?: string }>(patch: P): P {
  if (!patch || (patch.name === undefined && patch.description === undefined)) {
    throw invalidArgument('Give a new name and/or description');
  }
  if (patch.name !== undefined) checkText(patch.name, 'name');
  return patch;
}

/** Only the options that mean something to a single request. */
function callOf(o?: CallOptions): CallOptions {
  return { signal: o?.signal, timeoutMs: o?.timeoutMs, deadlineMs: o?.deadlineMs };
}

export class AirtableClient {
  readonly #http: HttpCore;

  constructor(options: AirtableClientOptions) {
    this.#http = new HttpCore(options);
  }

  #get<T>(path: string, baseId?: string, o?: CallOptions, query?: URLSearchParams): Promise<T> {
    return this.#http.send<T>({ method: 'GET', path, query, baseId, idempotent: true }, callOf(o));
  }

  #send<T>(spec: RequestSpec, o?: CallOptions): Promise<T> {
    return this.#http.send<T>(spec, callOf(o));
  }

  // ---- metadata ----

  async whoami(o?: CallOptions): Promise<{ id: string; email?: string }> {
    return this.#get(paths.whoami(), undefined, o);
  }

  /** All bases the token can see, following offsets. */
  async listBases(o?: CallOptions): Promise<BaseInfo[]> {
    const bases: BaseInfo[] = [];
    let offset: string | undefined;
    for (let page = 0; page < MAX_BASE_PAGES; page++) {
      const query = new URLSearchParams(offset ? { offset } : {});
      const res = await this.#get<{ bases?: BaseInfo[]; offset?: string }>(
        paths.bases(),
        undefined,
        o,
        query,
      );
      if (!Array.isArray(res?.bases))
        throw invalidResponse({ method: 'GET', path: paths.bases() }, 'no "bases"');
      bases.push(...res.bases);
      if (!res.offset || res.offset === offset) return bases;
      offset = res.offset;
    }
    return bases;
  }

  async getBaseSchema(baseId: string, o?: CallOptions): Promise<TableSchema[]> {
    const path = paths.tables(baseId);
    const res = await this.#get<{ tables?: TableSchema[] }>(path, baseId, o);
    if (!Array.isArray(res?.tables)) throw invalidResponse({ method: 'GET', path }, 'no "tables"');
    return res.tables;
  }

  async createTable(
    baseId: string,
    spec: { name: string; description?: string; fields: NewFieldSpec[] },
    o?: CallOptions,
  ): Promise<TableSchema> {
    checkText(spec?.name, 'Table name');
    if (!Array.isArray(spec.fields) || spec.fields.length === 0) {
      throw invalidArgument('A table needs at least one field (the first becomes the primary field)');
    }
    const body = { name: spec.name, description: spec.description, fields: spec.fields };
    return this.#send({ method: 'POST', path: paths.tables(baseId), body, baseId, idempotent: false }, o);
  }

  async updateTable(
    baseId: string,
    tableIdOrName: string,
    patch: { name?: string; description?: string },
    o?: CallOptions,
  ): Promise<TableSchema> {
    const path = paths.table(baseId, tableIdOrName);
    const { name, description } = checkPatch(patch);
    return this.#send({ method: 'PATCH', path, body: { name, description }, baseId, idempotent: true }, o);
  }

  async createField(
    baseId: string,
    tableIdOrName: string,
    spec: NewFieldSpec,
    o?: CallOptions,
  ): Promise<FieldSchema> {
    const path = paths.fields(baseId, tableIdOrName);
    checkText(spec?.name, 'Field name');
    checkText(spec.type, 'Field type');
    return this.#send({ method: 'POST', path, body: spec, baseId, idempotent: false }, o);
  }

  async updateField(
    baseId: string,
    tableIdOrName: string,
    fieldId: string,
    patch: { name?: string; description?: string },
    o?: CallOptions,
  ): Promise<FieldSchema> {
    const path = paths.field(baseId, tableIdOrName, fieldId);
    const { name, description } = checkPatch(patch);
    return this.#send({ method: 'PATCH', path, body: { name, description }, baseId, idempotent: true }, o);
  }

  // ---- records ----

  /** Exactly one request. */
  async listRecordsPage(
    baseId: string,
    table: string,
    params?: ListRecordsParams,
    o?: CallOptions,
  ): Promise<RecordPage> {
    return listRecordsPage(this.#http, baseId, table, params, callOf(o));
  }

  /** Follows offsets up to `maxRecords` (default 1000); `offset` in the result resumes exactly where it stopped. */
  async listRecords(
    baseId: string,
    table: string,
    params?: ListRecordsParams & { maxRecords?: number },
    o?: ListAllOptions,
  ): Promise<RecordPage> {
    return listRecords(this.#http, baseId, table, params, { ...callOf(o), onPage: o?.onPage });
  }

  async getRecord(baseId: string, table: string, recordId: string, o?: CallOptions): Promise<AirtableRecord> {
    return this.#get(paths.record(baseId, table, recordId), baseId, o);
  }

  async createRecord(
    baseId: string,
    table: string,
    fields: Fields,
    o?: CallOptions & { typecast?: boolean },
  ): Promise<AirtableRecord> {
    const path = paths.records(baseId, table);
    const body = {
      fields: checkFields(fields),
      ...(o?.typecast === undefined ? {} : { typecast: o.typecast }),
    };
    return this.#send({ method: 'POST', path, body, baseId, idempotent: false }, o);
  }

  async updateRecord(
    baseId: string,
    table: string,
    recordId: string,
    fields: Fields,
    o?: CallOptions & { typecast?: boolean; replace?: boolean },
  ): Promise<AirtableRecord> {
    const path = paths.record(baseId, table, recordId);
    const body = {
      fields: checkFields(fields),
      ...(o?.typecast === undefined ? {} : { typecast: o.typecast }),
    };
    return this.#send({ method: o?.replace ? 'PUT' : 'PATCH', path, body, baseId, idempotent: true }, o);
  }

  /**
   * If an attempt's answer is lost (reset, timeout, 504) and the resend finds the record missing, the
   * lost attempt most likely deleted it: the result is then `{ id, deleted: true, alreadyDeleted: true }`.
   * A not-found without a lost answer fails as usual.
   */
  async deleteRecord(
    baseId: string,
    table: string,
    recordId: string,
    o?: CallOptions,
  ): Promise<DeletedRecord> {
    const path = paths.record(baseId, table, recordId);
    const counter: RequestCounter = { requests: 0, lostAnswers: 0 };
    try {
      return await this.#http.send<DeletedRecord>(
        { method: 'DELETE', path, baseId, idempotent: true },
        callOf(o),
        counter,
      );
    } catch (err) {
      if (err instanceof AirtableError && counter.lostAnswers > 0 && isRecordNotFound(err)) {
        return { id: recordId, deleted: true, alreadyDeleted: true };
      }
      throw err;
    }
  }

  async createRecords(
    baseId: string,
    table: string,
    records: Fields[],
    o?: BatchOptions,
  ): Promise<BatchResult<AirtableRecord>> {
    return createRecords(this.#http, baseId, table, records, o);
  }

  async updateRecords(
    baseId: string,
    table: string,
    records: { id: string; fields: Fields }[],
    o?: BatchOptions & { replace?: boolean },
  ): Promise<BatchResult<AirtableRecord>> {
    return updateRecords(this.#http, baseId, table, records, o);
  }

  /**
   * Creates or updates by `fieldsToMergeOn`, in chunks of 10. Caveat: a chunk resent after a lost
   * answer (reset, timeout, 504) may have been applied by the lost attempt; the resend then reports
   * the records that attempt created as updated — Airtable's answer cannot tell. Those ids are also
   * listed in `possiblyCreatedRecordIds`; without a lost answer the created/updated split is exact.
   */
  async upsertRecords(
    baseId: string,
    table: string,
    records: { id?: string; fields: Fields }[],
    o: BatchOptions & { fieldsToMergeOn: string[]; replace?: boolean },
  ): Promise<UpsertResult> {
    return upsertRecords(this.#http, baseId, table, records, o);
  }

  async deleteRecords(
    baseId: string,
    table: string,
    recordIds: string[],
    o?: BatchOptions,
  ): Promise<BatchResult<DeletedRecord>> {
    return deleteRecords(this.#http, baseId, table, recordIds, o);
  }

  // ---- comments ----

  async listComments(
    baseId: string,
    table: string,
    recordId: string,
    o?: CallOptions & { pageSize?: number; offset?: string },
  ): Promise<CommentPage> {
    const path = paths.comments(baseId, table, recordId);
    const query = new URLSearchParams();
    if (o?.pageSize !== undefined) {
      if (!Number.isInteger(o.pageSize) || o.pageSize < 1 || o.pageSize > 100) {
        throw invalidArgument('pageSize must be an integer from 1 to 100');
      }
      query.set('pageSize', String(o.pageSize));
    }
    if (o?.offset) query.set('offset', o.offset);
    const res = await this.#get<{ comments?: Comment[]; offset?: string | null }>(path, baseId, o, query);
    if (!Array.isArray(res?.comments)) throw invalidResponse({ method: 'GET', path }, 'no "comments"');
    return { comments: res.comments, offset: res.offset || null };
  }

  async createComment(
    baseId: string,
    table: string,
    recordId: string,
    text: string,
    o?: CallOptions & { parentCommentId?: string },
  ): Promise<Comment> {
    const path = paths.comments(baseId, table, recordId);
    const body: { text: string; parentCommentId?: string } = { text: checkText(text, 'Comment text') };
    if (o?.parentCommentId !== undefined) body.parentCommentId = checkId('comment', o.parentCommentId);
    return this.#send({ method: 'POST', path, body, baseId, idempotent: false }, o);
  }

  async updateComment(
    baseId: string,
    table: string,
    recordId: string,
    commentId: string,
    text: string,
    o?: CallOptions,
  ): Promise<Comment> {
    const path = paths.comment(baseId, table, recordId, commentId);
    const body = { text: checkText(text, 'Comment text') };
    return this.#send({ method: 'PATCH', path, body, baseId, idempotent: true }, o);
  }

  async deleteComment(
    baseId: string,
    table: string,
    recordId: string,
    commentId: string,
    o?: CallOptions,
  ): Promise<{ id: string; deleted: boolean }> {
    const path = paths.comment(baseId, table, recordId, commentId);
    return this.#send({ method: 'DELETE', path, baseId, idempotent: true }, o);
  }
}
