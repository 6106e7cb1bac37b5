/** Public surface of the Airtable client. */
export { AirtableClient } from './client.js';
export {
  AirtableError,
  type AirtableErrorKind,
  toErrorPayload,
} from './errors.js';
export type { RateLimiter, RateLimitRelease } from './limiter.js';
export { createMemoryLimiter, type MemoryLimiterOptions, type RateLimit } from './memory-limiter.js';
export type {
  AirtableClientOptions,
  BatchOptions,
  BatchResult,
  CallOptions,
  ClientEvent,
  FailedOutcome,
  RecordOutcome,
} from './options.js';
export { isId } from './paths.js';
export type { UpsertResult } from './records-batch.js';
export type * from './types.js';
