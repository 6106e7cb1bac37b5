/**
 * Runs a batch write in chunks of 10 (Airtable's per-request cap), one chunk
 * at a time and in input order; the rate limiter spaces the requests.
 *
 * Airtable applies a chunk atomically: a 422 means nothing in it was written.
 * So a rejected chunk is resent one record at a time to find which records
 * are bad, and only those are reported as failed.
 *
 * Deletes whose answer was lost: a DELETE is resent after a reset, timeout or
 * 504 (http.ts), but the lost attempt may already have deleted the records,
 * so the resend is told they are not in the table. With `alreadyGone` set
 * (deleteRecords), such a not-found is read as "deleted" — for a one-record
 * request at once; for a larger chunk only when the one-by-one resends find
 * every record of the chunk missing. A chunk is deleted all or nothing, so if
 * any of its records is still there the lost attempt was not applied and the
 * missing ones are genuine failures. A not-found on a request that lost no
 * answer is always a failure.
 */
import {
  AirtableError,
  abortedError,
  invalidResponse,
  isRecordNotFound,
  mayHaveWritten,
  type RequestContext,
} from './errors.js';
import type { RequestCounter } from './http.js';
import type { BatchOptions, BatchResult, FailedOutcome, RecordOutcome } from './options.js';

export const CHUNK_SIZE = 10;

export interface BatchEntry<I> {
  index: number;
  item: I;
  /** The record id, when the input names one (reported with failures). */
  id?: string;
}

export interface BatchPlan<I, T> {
  ctx: RequestContext;
  total: number;
  /** Inputs that passed local validation, in input order. */
  entries: BatchEntry<I>[];
  /** Inputs rejected locally; never sent. */
  rejected: FailedOutcome<T>[];
  /** One request for `items`; resolves to one value per item, in order. */
  send: (items: I[], counter: RequestCounter) => Promise<T[]>;
  options: BatchOptions;
  /**
   * Deletes only: the value reported for a record found missing by a request that was resent after
   * an attempt whose answer was lost (see the file comment). Without it such a record fails.
   */
  alreadyGone?: (item: I) => T;
}

/** Rejections that mean "nothing in this request was applied, and a record in it is to blame". */
function isAtomicRejection(error: AirtableError): boolean {
  return error.kind === 'validation' || isRecordNotFound(error);
}

function asAirtableError(err: unknown, ctx: RequestContext): AirtableError {
  if (err instanceof AirtableError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new AirtableError({ kind: 'server', type: 'UNEXPECTED_ERROR', message, ...ctx });
}

function notAttempted(ctx: RequestContext): AirtableError {
  return new AirtableError({
    kind: 'aborted',
    type: 'NOT_ATTEMPTED',
    message: 'Not sent: an earlier chunk failed and continueOnError is false',
    hint: 'Fix the failed records, then resend these.',
    ...ctx,
  });
}

/** One request's result; `afterLostAnswer`: it was resent after an attempt whose answer was lost. */
type Attempt = { ok: true } | { ok: false; error: AirtableError; afterLostAnswer: boolean };

export async function runBatch<I, T>(plan: BatchPlan<I, T>): Promise<BatchResult<T>> {
  const { options: o, ctx } = plan;
  const outcomes: RecordOutcome<T>[] = new Array(plan.total);
  for (const r of plan.rejected) outcomes[r.index] = r;
  const counter: RequestCounter = { requests: 0, lostAnswers: 0 };
  /** `sent`: the request carrying the record went out, so a failure that is not a refusal leaves it unknown. */
  const fail = (e: BatchEntry<I>, error: AirtableError, sent: boolean) => {
    const unknown = sent && mayHaveWritten(error) ? { unknown: true } : {};
    outcomes[e.index] = { index: e.index, ok: false, ...(e.id ? { id: e.id } : {}), error, ...unknown };
  };
  const sendChunk = async (chunk: BatchEntry<I>[]): Promise<Attempt> => {
    // Chunks and their one-by-one resends go out one at a time, so a rise in lostAnswers is this request's.
    const lostBefore = counter.lostAnswers;
    try {
      const values = await plan.send(
        chunk.map((e) => e.item),
        counter,
      );
      if (!Array.isArray(values) || values.length !== chunk.length) {
        throw invalidResponse(ctx, `expected ${chunk.length} records in the response`);
      }
      chunk.forEach((e, i) => {
        outcomes[e.index] = { index: e.index, ok: true, value: values[i] as T };
      });
      return { ok: true };
    } catch (err) {
      return {
        ok: false,
        error: asAirtableError(err, ctx),
        afterLostAnswer: counter.lostAnswers > lostBefore,
      };
    }
  };
  const { alreadyGone } = plan;
  const gone = alreadyGone
    ? (e: BatchEntry<I>) => {
        outcomes[e.index] = { index: e.index, ok: true, value: alreadyGone(e.item) };
      }
    : undefined;
  const runner: ChunkRunner<I> = { sendChunk, fail, gone, ctx, signal: o.signal };

  let stop: AirtableError | undefined;
  let done = plan.rejected.length;
  for (let start = 0; start < plan.entries.length; start += CHUNK_SIZE) {
    const chunk = plan.entries.slice(start, start + CHUNK_SIZE);
    if (!stop && o.signal?.aborted) stop = abortedError(ctx, false, o.signal.reason);
    if (stop) {
      for (const e of chunk) fail(e, stop, false);
      continue;
    }
    const anyFailed = await runChunk(chunk, runner);
    if (o.signal?.aborted) stop = abortedError(ctx, false, o.signal.reason);
    else if (anyFailed && o.continueOnError === false) stop = notAttempted(ctx);
    done += chunk.length;
    try {
      o.onProgress?.(done, plan.total);
    } catch {
      // A progress hook must not interrupt a half-written batch.
    }
  }
  const failed = outcomes.filter((x): x is FailedOutcome<T> => !x.ok);
  const succeeded = outcomes.flatMap((x) => (x.ok ? [x.value] : []));
  return { outcomes, succeeded, failed, requests: counter.requests };
}

interface ChunkRunner<I> {
  /** Sends the records; on success their outcomes are recorded. */
  sendChunk: (c: BatchEntry<I>[]) => Promise<Attempt>;
  fail: (e: BatchEntry<I>, error: AirtableError, sent: boolean) => void;
  /** Records the entry as already deleted (deletes only). */
  gone: ((e: BatchEntry<I>) => void) | undefined;
  ctx: RequestContext;
  signal?: AbortSignal;
}

/** Sends one chunk; on an atomic rejection, resends its records one by one. Returns whether any failed. */
async function runChunk<I>(chunk: BatchEntry<I>[], run: ChunkRunner<I>): Promise<boolean> {
  const { sendChunk, fail, gone, ctx, signal } = run;
  /** A not-found from a resend that followed a lost answer: the lost attempt may have deleted the records. */
  const missingAfterLoss = (r: Attempt) =>
    gone !== undefined && !r.ok && r.afterLostAnswer && isRecordNotFound(r.error);

  const first = await sendChunk(chunk);
  if (first.ok) return false;
  if (chunk.length === 1 && missingAfterLoss(first)) {
    gone?.(chunk[0]!);
    return false;
  }
  if (chunk.length === 1 || !isAtomicRejection(first.error)) {
    for (const e of chunk) fail(e, first.error, true);
    return true;
  }
  // Safe to resend: the rejected request wrote nothing. (After a lost answer, the lost attempt may have.)
  let anyFailed = false;
  let goneCount = 0;
  const missing: [BatchEntry<I>, AirtableError][] = [];
  for (const e of chunk) {
    if (signal?.aborted) {
      fail(e, abortedError(ctx, false, signal.reason), false);
      anyFailed = true;
      continue;
    }
    const r = await sendChunk([e]);
    if (r.ok) continue;
    if (missingAfterLoss(r)) {
      gone?.(e);
      goneCount++;
    } else if (isRecordNotFound(r.error)) {
      missing.push([e, r.error]);
    } else {
      fail(e, r.error, true);
      anyFailed = true;
    }
  }
  // All or nothing: if the chunk's lost attempt was applied, every one of its records is gone now.
  const lostAttemptDeletedAll = missingAfterLoss(first) && goneCount + missing.length === chunk.length;
  for (const [e, error] of missing) {
    if (lostAttemptDeletedAll) gone?.(e);
    else {
      fail(e, error, true);
      anyFailed = true;
    }
  }
  return anyFailed;
}
