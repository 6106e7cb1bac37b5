/**
 * Sends one logical request to Airtable: waits for the rate limiter, applies
 * per-attempt timeouts and the overall deadline, maps failures to
 * AirtableError and retries what is safe to retry.
 *
 * Never duplicating writes: GET, PUT, PATCH (including upsert), DELETE and
 * POST listRecords are idempotent and are retried after network errors and
 * timeouts. A create (POST of records, comments, tables, fields) is resent
 * only when the failed attempt demonstrably was not processed: a 429, a 502
 * or 503 (Airtable documents both as safe to retry), or a connection error
 * raised before any byte was sent (refused, DNS). A timeout, reset or dropped
 * connection after sending — or a 504 from a gateway — may come after Airtable
 * applied the write, so resending could create a second record; those fail
 * with kind 'ambiguous' and a hint to check before retrying.
 *
 * Idempotent is not the same as "the retry's answer describes the first
 * attempt": when an attempt's answer was lost (reset, attempt timeout, 504)
 * Airtable may already have applied it, and the resend then sees the result.
 * A DELETE resent that way answers "not found"; an upsert answers "updated"
 * for the records the lost attempt created. `RequestCounter.lostAnswers`
 * tells callers that this happened so they can read the answer accordingly.
 */
import { createHash } from 'node:crypto';
import { Deadline } from './deadline.js';
import {
  AirtableError,
  abortedError,
  ambiguousError,
  errorFromResponse,
  invalidResponse,
  networkError,
  type RequestContext,
  timeoutError,
} from './errors.js';
import type { RateLimiter, RateLimitRelease } from './limiter.js';
import { createMemoryLimiter } from './memory-limiter.js';
import type { AirtableClientOptions, CallOptions, ClientEvent } from './options.js';
import { redactSecret } from './redact.js';
import {
  backoffDelay,
  describeNetworkError,
  isPreSendFailure,
  networkErrorCode,
  parseRetryAfter,
  sleep,
} from './retry.js';
import { fetchTransport, nodeTransport, type Transport } from './transport.js';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface RequestSpec {
  method: HttpMethod;
  /** Encoded path without query, e.g. `/v0/app…/Tasks`. */
  path: string;
  query?: URLSearchParams;
  body?: unknown;
  /** The base the path names, for the per-base rate limit. */
  baseId?: string;
  /** False for creates (see the file comment). */
  idempotent: boolean;
}

/** Counts HTTP attempts actually sent (for batch results). */
export interface RequestCounter {
  requests: number;
  /**
   * Attempts that failed after the request may have reached Airtable and been applied — a reset or
   * dropped connection after sending, an attempt timeout, a 504 — and were then resent. Counted just
   * before the resend. A caller that sees this rise during one `send` knows the answer it got (or the
   * error it caught) came from a resend that may have found the first attempt's work already done.
   */
  lostAnswers: number;
}

/** `mayHaveApplied`: the failed attempt may have been processed by Airtable (see RequestCounter.lostAnswers). */
type Retry =
  | { penalty: true; waitMs: number }
  | { penalty: false; retryAfterMs?: number; mayHaveApplied?: boolean };
type AttemptResult = { ok: true; data: unknown } | { ok: false; error: AirtableError; retry?: Retry };

/** First 12 hex characters of sha256(token): identifies the token in limiter keys without revealing it. */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 12);
}

/** Per-call state: the caller's signal, the deadline, and how to explain a stop. */
class CallState {
  readonly ctx: RequestContext;
  readonly deadlineAt: number;
  readonly #deadline: Deadline;

  constructor(
    readonly spec: RequestSpec,
    readonly caller: AbortSignal | undefined,
    readonly deadlineMs: number,
    readonly timeoutMs: number,
  ) {
    this.ctx = { method: spec.method, path: spec.path };
    this.deadlineAt = Date.now() + deadlineMs;
    this.#deadline = new Deadline(deadlineMs, caller);
  }

  /** Aborts when the caller cancels or the deadline passes. */
  get signal(): AbortSignal {
    return this.#deadline.signal;
  }

  dispose(): void {
    this.#deadline.dispose();
  }

  /** The error for `signal` having fired; `writeInFlight` when a create was on the wire at the time. */
  stopError(writeInFlight: boolean, cause?: unknown): AirtableError {
    if (this.caller?.aborted) return abortedError(this.ctx, writeInFlight, cause);
    if (writeInFlight) return ambiguousError(this.ctx, `the ${this.deadlineMs} ms deadline passed`, cause);
    return timeoutError(this.ctx, this.deadlineMs, 'deadline');
  }
}

export class HttpCore {
  readonly baseUrl: string;
  readonly #token: string;
  readonly #tokenKey: string;
  readonly #limiter: RateLimiter;
  readonly #transport: Transport;
  readonly #o: Required<Omit<AirtableClientOptions, 'onEvent' | 'limiter' | 'fetch' | 'token' | 'baseUrl'>>;
  readonly #onEvent: ((e: ClientEvent) => void) | undefined;

  constructor(options: AirtableClientOptions) {
    this.#token = typeof options.token === 'string' ? options.token.trim() : '';
    this.#tokenKey = `token:${tokenFingerprint(this.#token)}`;
    this.baseUrl = (options.baseUrl ?? 'https://api.airtable.com').replace(/\/+$/, '');
    this.#limiter = options.limiter ?? createMemoryLimiter();
    this.#transport = options.fetch ? fetchTransport(options.fetch) : nodeTransport();
    this.#onEvent = options.onEvent;
    this.#o = {
      timeoutMs: options.timeoutMs ?? 30_000,
      deadlineMs: options.deadlineMs ?? 120_000,
      maxRetries: options.maxRetries ?? 5,
      retryBaseDelayMs: options.retryBaseDelayMs ?? 500,
      retryMaxDelayMs: options.retryMaxDelayMs ?? 8_000,
      rateLimitPenaltyMs: options.rateLimitPenaltyMs ?? 30_000,
      userAgent: options.userAgent ?? 'airtable-mcp-kit',
    };
  }

  url(path: string, query?: URLSearchParams): string {
    const qs = query?.toString() ?? '';
    return `${this.baseUrl}${path}${qs ? `?${qs}` : ''}`;
  }

  async send<T>(spec: RequestSpec, call: CallOptions = {}, counter?: RequestCounter): Promise<T> {
    if (!this.#token) {
      throw new AirtableError({
        kind: 'auth',
        type: 'AUTHENTICATION_REQUIRED',
        message: 'No Airtable token configured',
        method: spec.method,
        path: spec.path,
      });
    }
    const state = new CallState(
      spec,
      call.signal,
      call.deadlineMs ?? this.#o.deadlineMs,
      call.timeoutMs ?? this.#o.timeoutMs,
    );
    try {
      return await this.#sendWithRetries<T>(state, counter);
    } finally {
      state.dispose();
    }
  }

  async #sendWithRetries<T>(state: CallState, counter: RequestCounter | undefined): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const waitStarted = performance.now();
      const release = await this.#acquire(state);
      const waitMs = Math.round(performance.now() - waitStarted);
      let result: AttemptResult;
      try {
        result = await this.#attempt(state, attempt, waitMs, counter);
      } finally {
        release?.();
      }
      if (result.ok) return result.data as T;
      if (result.retry?.penalty) await this.#penalize(state, attempt, result.retry.waitMs);
      if (!result.retry || attempt > this.#o.maxRetries) throw result.error;
      await this.#beforeRetry(state, attempt, result.error, result.retry);
      if (counter && !result.retry.penalty && result.retry.mayHaveApplied) counter.lostAnswers++;
    }
  }

  async #acquire(state: CallState): Promise<RateLimitRelease | undefined> {
    const keys = state.spec.baseId ? [`base:${state.spec.baseId}`, this.#tokenKey] : [this.#tokenKey];
    try {
      return (await this.#limiter.acquire(keys, state.signal)) ?? undefined;
    } catch (err) {
      if (state.signal.aborted) throw state.stopError(false, err);
      throw err;
    }
  }

  /** `waitMs`: how long this attempt waited on the limiter (reported on the `request` event). */
  async #attempt(
    state: CallState,
    attempt: number,
    waitMs: number,
    counter?: RequestCounter,
  ): Promise<AttemptResult> {
    const { spec } = state;
    const attemptDeadline = new Deadline(state.timeoutMs, state.signal);
    this.#emit({ type: 'request', ...state.ctx, attempt, waitMs });
    if (counter) counter.requests++;
    const started = performance.now();
    let status: number;
    let text: string;
    let retryAfter: string | null;
    try {
      ({ status, retryAfter, text } = await this.#transport({
        method: spec.method,
        url: this.url(spec.path, spec.query),
        headers: this.#headers(spec.body !== undefined),
        body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
        signal: attemptDeadline.signal,
      }));
    } catch (err) {
      return this.#failure(state, err, attemptDeadline.timedOut);
    } finally {
      attemptDeadline.dispose();
    }
    const durationMs = Math.round(performance.now() - started);
    this.#emit({ type: 'response', ...state.ctx, status, attempt, durationMs });
    return this.#fromResponse(state, status, text, retryAfter);
  }

  #headers(hasBody: boolean): Record<string, string> {
    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.#token}`,
      'User-Agent': this.#o.userAgent,
      Accept: 'application/json',
    };
    if (hasBody) headers['Content-Type'] = 'application/json';
    return headers;
  }

  /** The transport threw: cancelled, timed out, or the connection failed. */
  #failure(state: CallState, err: unknown, attemptTimedOut: boolean): AttemptResult {
    const create = !state.spec.idempotent;
    const { ctx } = state;
    if (state.signal.aborted) return { ok: false, error: state.stopError(create, err) };
    if (attemptTimedOut) {
      if (create)
        return { ok: false, error: ambiguousError(ctx, `no answer within ${state.timeoutMs} ms`, err) };
      return {
        ok: false,
        error: timeoutError(ctx, state.timeoutMs, 'attempt'),
        retry: { penalty: false, mayHaveApplied: true },
      };
    }
    if (err instanceof TypeError && err.cause === undefined && networkErrorCode(err) === undefined) {
      // The request could not be built (e.g. a header value): nothing was sent, and resending cannot help.
      const message = this.#scrub(err instanceof Error ? err.message : String(err));
      const error = new AirtableError({ kind: 'invalid_argument', type: 'INVALID_REQUEST', message, ...ctx });
      return { ok: false, error };
    }
    const detail = this.#scrub(describeNetworkError(err));
    if (create && !isPreSendFailure(err)) return { ok: false, error: ambiguousError(ctx, detail, err) };
    return {
      ok: false,
      error: networkError(ctx, detail, err),
      retry: { penalty: false, mayHaveApplied: !isPreSendFailure(err) },
    };
  }

  #fromResponse(state: CallState, status: number, text: string, retryAfter: string | null): AttemptResult {
    const { ctx } = state;
    if (status >= 200 && status < 300) {
      try {
        return { ok: true, data: JSON.parse(text) };
      } catch {
        return { ok: false, error: invalidResponse(ctx, `HTTP ${status} with a non-JSON body`, status) };
      }
    }
    const error = errorFromResponse(status, text, ctx);
    const retryAfterMs = parseRetryAfter(retryAfter);
    if (status === 429 && error.retryable) {
      return {
        ok: false,
        error,
        retry: { penalty: true, waitMs: retryAfterMs ?? this.#o.rateLimitPenaltyMs },
      };
    }
    if (status === 502 || status === 503)
      return { ok: false, error, retry: { penalty: false, retryAfterMs } };
    if (status === 504) {
      if (!state.spec.idempotent) {
        return { ok: false, error: ambiguousError(ctx, 'the gateway timed out (HTTP 504)', error, status) };
      }
      return { ok: false, error, retry: { penalty: false, retryAfterMs, mayHaveApplied: true } };
    }
    return { ok: false, error };
  }

  /** After a 429 (retried or not): close the key for everyone sharing the limiter. */
  async #penalize(state: CallState, attempt: number, waitMs: number): Promise<void> {
    const key = state.spec.baseId ? `base:${state.spec.baseId}` : this.#tokenKey;
    await this.#limiter.penalize(key, Date.now() + waitMs);
    this.#emit({ type: 'rate_limited', ...state.ctx, status: 429, attempt, waitMs });
  }

  /** Waits before the next attempt, or throws `error` if the wait would outlast the deadline. */
  async #beforeRetry(state: CallState, attempt: number, error: AirtableError, retry: Retry): Promise<void> {
    if (retry.penalty) {
      // The key is closed (see #penalize): the next acquire() waits the penalty out.
      if (Date.now() + retry.waitMs > state.deadlineAt) throw error;
      return;
    }
    const jitter = backoffDelay(attempt - 1, this.#o.retryBaseDelayMs, this.#o.retryMaxDelayMs);
    const waitMs = Math.max(retry.retryAfterMs ?? 0, jitter);
    if (Date.now() + waitMs > state.deadlineAt) throw error;
    this.#emit({ type: 'retry', ...state.ctx, status: error.status, attempt, waitMs, reason: error.kind });
    try {
      await sleep(waitMs, state.signal);
    } catch (err) {
      throw state.stopError(false, err);
    }
  }

  #emit(event: ClientEvent): void {
    if (event.status === undefined) delete event.status;
    try {
      this.#onEvent?.(event);
    } catch {
      // A broken metrics hook must not break requests.
    }
  }

  #scrub(text: string): string {
    return redactSecret(text, this.#token);
  }
}
