/**
 * Proactive rate limiting for Airtable requests.
 *
 * Airtable allows 5 requests per second per base and 50 per second per token,
 * and answers anything over that with a 429 and a 30-second penalty. The
 * client asks a RateLimiter for a slot before every request, keyed by
 * `base:<id>` and `token:<fingerprint>`, so ordinary use never meets a 429.
 *
 * This is an interface so that several replicas can share one limiter
 * (a Redis-backed implementation arrives with server mode).
 */
export interface RateLimiter {
  /**
   * Resolves when one request may be sent for every key at once (a slot is
   * taken from each). Rejects with the signal's reason if it aborts first.
   *
   * A limiter may resolve to a `RateLimitRelease`; the caller then calls it
   * once the response has arrived (or the attempt failed). Limiters that do
   * not need it resolve to nothing.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: implementations that return Promise<void> stay valid.
  acquire(keys: readonly string[], signal?: AbortSignal): Promise<RateLimitRelease | void>;
  /** Keep `key` closed until `untilEpochMs` (after Airtable answered 429). */
  penalize(key: string, untilEpochMs: number): void | Promise<void>;
  /** Milliseconds spent waiting in `acquire` so far (for metrics). */
  readonly waitedMs?: number;
}

/**
 * "This request has finished." Lets a limiter count the request from its
 * completion rather than its grant: Airtable received it at some moment in
 * between, so counting from completion can never undercount its window.
 */
export type RateLimitRelease = () => void;
