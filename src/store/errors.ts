import { StoreUnavailableError } from './types.js';

/** Socket-level failures: the database host or the network between us is gone. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * PostgreSQL SQLSTATEs meaning "not now" rather than "wrong query": admin or
 * crash shutdown, still starting up, too many connections. Class 08 (connection
 * exception) is matched by prefix.
 */
const POSTGRES_UNAVAILABLE_CODES = new Set(['57P01', '57P02', '57P03', '53300']);

/** SQLite: the file is locked by another process past busy_timeout, or the disk/file is unusable. */
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR)/;

/** pg and pg-pool report lost or timed-out connections with plain messages and no code. */
const UNAVAILABLE_MESSAGES = [
  /connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /not queryable/i,
  /query read timeout/i,
  /server closed the connection unexpectedly/i,
];

/** Whether an error means "the database cannot be reached" (HTTP 503) rather than a bad query or bug. */
export function isConnectionError(error: unknown): boolean {
  for (const candidate of errorChain(error)) {
    const code = typeof candidate.code === 'string' ? candidate.code : '';
    if (NETWORK_CODES.has(code) || POSTGRES_UNAVAILABLE_CODES.has(code)) return true;
    if (/^08[0-9A-Z]{3}$/.test(code) || SQLITE_UNAVAILABLE.test(code)) return true;
    if (UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(candidate.message ?? ''))) return true;
  }
  return false;
}

/** A one-line reason. Node's AggregateError (one failure per resolved address) has an empty message. */
export function describeError(error: unknown): string {
  const chain = errorChain(error);
  const withMessage = chain.find((candidate) => candidate.message);
  if (withMessage?.message) return withMessage.message;
  const withCode = chain.find((candidate) => candidate.code);
  return withCode ? String(withCode.code) : String(error);
}

/** Rethrow connection failures as StoreUnavailableError; anything else passes through unchanged. */
export function toStoreError(error: unknown, operation: string, location: string): unknown {
  if (error instanceof StoreUnavailableError || !isConnectionError(error)) return error;
  return new StoreUnavailableError(
    `Database unavailable (${location}) during ${operation}: ${describeError(error)}`,
    { cause: error },
  );
}

interface ErrorLike {
  code?: unknown;
  message?: string;
}

/** The error, its causes and (for AggregateError) its members, breadth-first, bounded against cycles. */
function errorChain(error: unknown): ErrorLike[] {
  const seen: ErrorLike[] = [];
  const queue: unknown[] = [error];
  while (queue.length > 0 && seen.length < 20) {
    const next = queue.shift();
    if (typeof next !== 'object' || next === null || seen.includes(next as ErrorLike)) continue;
    seen.push(next as ErrorLike);
    const { cause, errors } = next as { cause?: unknown; errors?: unknown };
    if (cause !== undefined) queue.push(cause);
    if (Array.isArray(errors)) queue.push(...errors);
  }
  return seen;
}
