/** Options and result types of the Airtable client (everything is passed in; no globals). */
import type { AirtableError } from './errors.js';
import type { RateLimiter } from './limiter.js';

export interface ClientEvent {
  type: 'request' | 'retry' | 'rate_limited' | 'response';
  method: string;
  /** Path without query string; never contains the token. */
  path: string;
  status?: number;
  /** 1-based attempt number of the request this event belongs to. */
  attempt: number;
  durationMs?: number;
  /**
   * For `retry` and `rate_limited`: how long the client will wait before the next attempt.
   * For `request`: how long this attempt waited on the rate limiter before being sent.
   */
  waitMs?: number;
  /** For `retry`: why (the error kind of the failed attempt). */
  reason?: string;
}

export interface AirtableClientOptions {
  token: string;
  /** Default `https://api.airtable.com` (no `/v0`; a trailing slash is tolerated). */
  baseUrl?: string;
  /** Per attempt; default 30 000. */
  timeoutMs?: number;
  /** One request including its retries and limiter waits; default 120 000. */
  deadlineMs?: number;
  /** Default 5 (so up to 6 attempts). */
  maxRetries?: number;
  /** Default 500: capped exponential backoff with full jitter. */
  retryBaseDelayMs?: number;
  /** Default 8 000. */
  retryMaxDelayMs?: number;
  /** How long a base/token stays closed after a 429 without Retry-After; default 30 000 (Airtable's penalty). */
  rateLimitPenaltyMs?: number;
  /** Default: a new `createMemoryLimiter()` with Airtable's limits. Share one between clients using the same token. */
  limiter?: RateLimiter;
  /** Send requests with this fetch instead of the built-in node:http(s) transport (keep-alive, gzip/br). */
  fetch?: typeof fetch;
  /** Default `airtable-mcp-kit`. */
  userAgent?: string;
  /** Metrics/log hook; exceptions it throws are ignored. */
  onEvent?: (e: ClientEvent) => void;
}

export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  deadlineMs?: number;
}

export interface BatchOptions extends CallOptions {
  typecast?: boolean;
  /** Called after each chunk with the number of inputs that have an outcome so far. */
  onProgress?: (done: number, total: number) => void;
  /** Default true: later chunks still run after a failed chunk. */
  continueOnError?: boolean;
}

export type RecordOutcome<T> =
  | { index: number; ok: true; value: T }
  | {
      index: number;
      ok: false;
      id?: string;
      error: AirtableError;
      /**
       * True when the request carrying this record was sent and failed in a way that does not say whether
       * Airtable applied it (lost answer, timeout, server error, cancelled in flight): it may have been
       * written. False or absent: it was certainly not written (refused, rejected locally, or never sent).
       */
      unknown?: boolean;
    };

export type FailedOutcome<T> = Extract<RecordOutcome<T>, { ok: false }>;

export interface BatchResult<T> {
  /** One per input, in input order. */
  outcomes: RecordOutcome<T>[];
  succeeded: T[];
  failed: FailedOutcome<T>[];
  /** HTTP requests sent, including retries and one-by-one isolation of rejected chunks. */
  requests: number;
}
