/**
 * Runs a batch write in chunks of 10 (Airtable's per-request cap), one chunk
 * at a time and in input order; the rate limiter spaces the requests.
 *
 * Airtable applies a chunk atomically: a 422 means nothing in it was written.
 * So a rejected chunk is resent one record at a time to find which records
 * are bad, and only those are reported as failed.
 */
import { AirtableError, abortedError, invalidResponse, type RequestContext } from './errors.js';
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
}

/** Rejections that mean "nothing in this request was applied, and a record in it is to blame". */
function isAtomicRejection(error: AirtableError): boolean {
  if (error.kind === 'validation') return true;
  return error.status === 404 && (error.type === 'MODEL_ID_NOT_FOUND' || error.type === 'ROW_DOES_NOT_EXIST');
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

export async function runBatch<I, T>(plan: BatchPlan<I, T>): Promise<BatchResult<T>> {
  const { options: o, ctx } = plan;
  const outcomes: RecordOutcome<T>[] = new Array(plan.total);
  for (const r of plan.rejected) outcomes[r.index] = r;
  const counter: RequestCounter = { requests: 0 };
  const fail = (e: BatchEntry<I>, error: AirtableError) => {
    outcomes[e.index] = { index: e.index, ok: false, ...(e.id ? { id: e.id } : {}), error };
  };
  const sendChunk = async (chunk: BatchEntry<I>[]): Promise<void> => {
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
  };

  let stop: AirtableError | undefined;
  let done = plan.rejected.length;
  for (let start = 0; start < plan.entries.length; start += CHUNK_SIZE) {
    const chunk = plan.entries.slice(start, start + CHUNK_SIZE);
    if (!stop && o.signal?.aborted) stop = abortedError(ctx, false, o.signal.reason);
    if (stop) {
      for (const e of chunk) fail(e, stop);
      continue;
    }
    const anyFailed = await runChunk(chunk, sendChunk, fail, ctx, o.signal);
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

/** Sends one chunk; on an atomic rejection, resends its records one by one. Returns whether any failed. */
async function runChunk<I>(
  chunk: BatchEntry<I>[],
  sendChunk: (c: BatchEntry<I>[]) => Promise<void>,
  fail: (e: BatchEntry<I>, error: AirtableError) => void,
  ctx: RequestContext,
  signal?: AbortSignal,
): Promise<boolean> {
  try {
    await sendChunk(chunk);
    return false;
  } catch (err) {
    const error = asAirtableError(err, ctx);
    if (chunk.length === 1 || !isAtomicRejection(error)) {
      for (const e of chunk) fail(e, error);
      return true;
    }
  }
  // Safe to resend: the rejected request wrote nothing.
  let anyFailed = false;
  for (const e of chunk) {
    try {
      if (signal?.aborted) throw abortedError(ctx, false, signal.reason);
      await sendChunk([e]);
    } catch (err) {
      fail(e, asAirtableError(err, ctx));
      anyFailed = true;
    }
  }
  return anyFailed;
}
