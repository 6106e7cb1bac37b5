/** Batch create/update/upsert/delete on top of runBatch: local validation, request shapes, response checks. */

import { type BatchEntry, runBatch } from './batch.js';
import { invalidArgument, invalidResponse, type RequestContext } from './errors.js';
import type { HttpCore, HttpMethod, RequestCounter } from './http.js';
import type { BatchOptions, BatchResult, FailedOutcome } from './options.js';
import { isId, paths } from './paths.js';
import type { AirtableRecord, DeletedRecord, Fields } from './types.js';

export interface UpsertResult extends BatchResult<AirtableRecord> {
  /** Ids Airtable reported as created. */
  createdRecordIds: string[];
  /**
   * Ids Airtable reported as updated (matched on `fieldsToMergeOn`). May include records this call
   * created: see `possiblyCreatedRecordIds`.
   */
  updatedRecordIds: string[];
  /**
   * The part of `updatedRecordIds` whose request was resent after an attempt whose answer was lost
   * (connection reset, timeout, 504). That attempt may have been applied and created these records;
   * the resend then matched them and reported them as updated. Airtable's answer cannot tell the two
   * apart, so these may have been created or updated by this call. Empty when no answer was lost.
   */
  possiblyCreatedRecordIds: string[];
}

function isFields(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Splits inputs into sendable entries and locally rejected outcomes (a message per bad input). */
function prepare<I, T>(
  inputs: readonly I[],
  check: (item: I) => string | undefined,
  idOf: (item: I) => string | undefined,
): { entries: BatchEntry<I>[]; rejected: FailedOutcome<T>[] } {
  if (!Array.isArray(inputs)) throw invalidArgument('records must be an array');
  const entries: BatchEntry<I>[] = [];
  const rejected: FailedOutcome<T>[] = [];
  inputs.forEach((item, index) => {
    const problem = check(item);
    const id = idOf(item);
    if (problem) rejected.push({ index, ok: false, ...(id ? { id } : {}), error: invalidArgument(problem) });
    else entries.push({ index, item, ...(id ? { id } : {}) });
  });
  return { entries, rejected };
}

function recordsOf<T>(response: unknown, ctx: RequestContext): T[] {
  const records = (response as { records?: unknown } | null)?.records;
  if (!Array.isArray(records)) throw invalidResponse(ctx, 'no "records" array');
  return records as T[];
}

function typecastOf(o: BatchOptions): { typecast?: boolean } {
  return o.typecast === undefined ? {} : { typecast: o.typecast };
}

const idOfRecord = (r: { id?: unknown }): string | undefined =>
  typeof r?.id === 'string' ? r.id : undefined;

function checkIdAndFields(r: { id?: unknown; fields?: unknown }, idRequired: boolean): string | undefined {
  if (!isFields(r)) return 'Each record must be an object with "fields"';
  if ((idRequired || r.id !== undefined) && !isId('record', r.id)) {
    return `Invalid record id ${JSON.stringify(r.id)}: expected rec + 14 letters/digits`;
  }
  if (!isFields(r.fields)) return 'Each record needs a "fields" object';
  return undefined;
}

export function createRecords(
  http: HttpCore,
  baseId: string,
  table: string,
  records: Fields[],
  o: BatchOptions = {},
): Promise<BatchResult<AirtableRecord>> {
  const path = paths.records(baseId, table);
  const ctx = { method: 'POST', path };
  const { entries, rejected } = prepare<Fields, AirtableRecord>(
    records,
    (f) => (isFields(f) ? undefined : 'Each record must be a fields object'),
    () => undefined,
  );
  const send = async (items: Fields[], counter: RequestCounter) => {
    const body = { records: items.map((fields) => ({ fields })), ...typecastOf(o) };
    const res = await http.send({ method: 'POST', path, body, baseId, idempotent: false }, o, counter);
    return recordsOf<AirtableRecord>(res, ctx);
  };
  return runBatch({ ctx, total: records.length, entries, rejected, send, options: o });
}

export function updateRecords(
  http: HttpCore,
  baseId: string,
  table: string,
  records: { id: string; fields: Fields }[],
  o: BatchOptions & { replace?: boolean } = {},
): Promise<BatchResult<AirtableRecord>> {
  const path = paths.records(baseId, table);
  const method: HttpMethod = o.replace ? 'PUT' : 'PATCH';
  const ctx = { method, path };
  const { entries, rejected } = prepare<{ id: string; fields: Fields }, AirtableRecord>(
    records,
    (r) => checkIdAndFields(r, true),
    idOfRecord,
  );
  const send = async (items: { id: string; fields: Fields }[], counter: RequestCounter) => {
    const body = { records: items.map(({ id, fields }) => ({ id, fields })), ...typecastOf(o) };
    const res = await http.send({ method, path, body, baseId, idempotent: true }, o, counter);
    return recordsOf<AirtableRecord>(res, ctx);
  };
  return runBatch({ ctx, total: records.length, entries, rejected, send, options: o });
}

function checkMergeFields(fieldsToMergeOn: unknown): string[] {
  const ok =
    Array.isArray(fieldsToMergeOn) &&
    fieldsToMergeOn.length >= 1 &&
    fieldsToMergeOn.length <= 3 &&
    fieldsToMergeOn.every((f) => typeof f === 'string' && f !== '');
  if (!ok) throw invalidArgument('fieldsToMergeOn must list 1 to 3 field names or ids');
  return fieldsToMergeOn as string[];
}

/**
 * Upsert in chunks of 10 (`performUpsert`). PATCH/PUT upserts are resent after a lost answer (reset,
 * timeout, 504) — safe, since the resend matches what a lost attempt created instead of creating it
 * again — but Airtable then reports those records as updated, not created. Such ids are listed in
 * `possiblyCreatedRecordIds` (see UpsertResult); the created/updated split is exact otherwise.
 */
export async function upsertRecords(
  http: HttpCore,
  baseId: string,
  table: string,
  records: { id?: string; fields: Fields }[],
  o: BatchOptions & { fieldsToMergeOn: string[]; replace?: boolean },
): Promise<UpsertResult> {
  const fieldsToMergeOn = checkMergeFields(o?.fieldsToMergeOn);
  const path = paths.records(baseId, table);
  const method: HttpMethod = o.replace ? 'PUT' : 'PATCH';
  const ctx = { method, path };
  const createdRecordIds: string[] = [];
  const updatedRecordIds: string[] = [];
  const possiblyCreatedRecordIds: string[] = [];
  const { entries, rejected } = prepare<{ id?: string; fields: Fields }, AirtableRecord>(
    records,
    (r) => checkIdAndFields(r, false),
    idOfRecord,
  );
  const send = async (items: { id?: string; fields: Fields }[], counter: RequestCounter) => {
    const body = {
      records: items.map(({ id, fields }) => (id ? { id, fields } : { fields })),
      performUpsert: { fieldsToMergeOn },
      ...typecastOf(o),
    };
    // Chunks go out one at a time, so a rise in lostAnswers belongs to this request.
    const lostBefore = counter.lostAnswers;
    const res = await http.send<{ createdRecords?: string[]; updatedRecords?: string[] }>(
      { method, path, body, baseId, idempotent: true },
      o,
      counter,
    );
    const out = recordsOf<AirtableRecord>(res, ctx);
    const updated = res.updatedRecords ?? [];
    createdRecordIds.push(...(res.createdRecords ?? []));
    updatedRecordIds.push(...updated);
    // A lost attempt may have created these and this resend matched them: "updated" is not certain.
    if (counter.lostAnswers > lostBefore) possiblyCreatedRecordIds.push(...updated);
    return out;
  };
  const result = await runBatch({ ctx, total: records.length, entries, rejected, send, options: o });
  return { ...result, createdRecordIds, updatedRecordIds, possiblyCreatedRecordIds };
}

/**
 * Delete in chunks of 10. A record that a resend (after a lost answer) finds missing is reported as
 * `{ id, deleted: true, alreadyDeleted: true }` rather than failed; see batch.ts for the rule.
 */
export function deleteRecords(
  http: HttpCore,
  baseId: string,
  table: string,
  recordIds: string[],
  o: BatchOptions = {},
): Promise<BatchResult<DeletedRecord>> {
  const path = paths.records(baseId, table);
  const ctx = { method: 'DELETE', path };
  const { entries, rejected } = prepare<string, DeletedRecord>(
    recordIds,
    (id) =>
      isId('record', id)
        ? undefined
        : `Invalid record id ${JSON.stringify(id)}: expected rec + 14 letters/digits`,
    (id) => (typeof id === 'string' ? id : undefined),
  );
  const send = async (ids: string[], counter: RequestCounter) => {
    const query = new URLSearchParams(ids.map((id): [string, string] => ['records[]', id]));
    const res = await http.send({ method: 'DELETE', path, query, baseId, idempotent: true }, o, counter);
    return recordsOf<DeletedRecord>(res, ctx);
  };
  const alreadyGone = (id: string): DeletedRecord => ({ id, deleted: true, alreadyDeleted: true });
  return runBatch({ ctx, total: recordIds.length, entries, rejected, send, options: o, alreadyGone });
}
