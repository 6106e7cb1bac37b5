/**
 * One error type for everything the Airtable client can fail with: Airtable's
 * own error bodies (both envelopes), HTTP statuses without a usable body,
 * network failures, timeouts, cancellation and bad arguments. Each carries a
 * `hint` written for the person or model deciding what to do next.
 */

export type AirtableErrorKind =
  | 'auth'
  | 'forbidden_or_not_found'
  | 'not_found'
  | 'validation'
  | 'rate_limited'
  | 'too_large'
  | 'server'
  | 'network'
  | 'timeout'
  | 'aborted'
  | 'ambiguous'
  | 'invalid_argument';

export interface AirtableErrorInit {
  kind: AirtableErrorKind;
  type: string;
  message: string;
  hint?: string;
  status?: number;
  retryable?: boolean;
  method?: string;
  path?: string;
  cause?: unknown;
}

export class AirtableError extends Error {
  override readonly name = 'AirtableError';
  readonly status?: number;
  readonly type: string;
  readonly kind: AirtableErrorKind;
  readonly hint: string;
  readonly retryable: boolean;
  readonly method: string;
  /** Request path without query string (never contains the token). */
  readonly path: string;

  constructor(init: AirtableErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.kind = init.kind;
    this.type = init.type;
    this.status = init.status;
    this.hint = init.hint ?? hintFor(init.kind, init.type);
    this.retryable = init.retryable ?? RETRYABLE_KINDS.has(init.kind);
    this.method = init.method ?? '';
    this.path = init.path ?? '';
  }
}

const RETRYABLE_KINDS = new Set<AirtableErrorKind>(['rate_limited', 'network', 'timeout']);

/** Plain JSON for callers (MCP tool results, logs). */
export function toErrorPayload(err: unknown): {
  status?: number;
  type: string;
  message: string;
  hint: string;
} {
  if (err instanceof AirtableError) {
    const payload: { status?: number; type: string; message: string; hint: string } = {
      type: err.type,
      message: err.message,
      hint: err.hint,
    };
    if (err.status !== undefined) payload.status = err.status;
    return payload;
  }
  const message = err instanceof Error ? err.message : String(err);
  return {
    type: 'UNEXPECTED_ERROR',
    message,
    hint: 'An unexpected error occurred in the client; see the message.',
  };
}

export interface RequestContext {
  method: string;
  path: string;
}

const STATUS_TYPES: Record<number, string> = {
  400: 'INVALID_REQUEST',
  401: 'AUTHENTICATION_REQUIRED',
  403: 'NOT_AUTHORIZED',
  404: 'NOT_FOUND',
  413: 'REQUEST_TOO_LARGE',
  422: 'INVALID_REQUEST_UNKNOWN',
  429: 'TOO_MANY_REQUESTS',
  500: 'SERVER_ERROR',
  502: 'BAD_GATEWAY',
  503: 'SERVICE_UNAVAILABLE',
  504: 'GATEWAY_TIMEOUT',
};

export function kindForStatus(status: number): AirtableErrorKind {
  if (status === 401) return 'auth';
  if (status === 403) return 'forbidden_or_not_found';
  if (status === 404) return 'not_found';
  if (status === 413) return 'too_large';
  if (status === 429) return 'rate_limited';
  if (status >= 500 || status < 400) return 'server';
  return 'validation';
}

/** Reads `{error:{type,message}}`, `{error:"NOT_FOUND"}` or anything else. */
function parseEnvelope(bodyText: string): { type?: string; message?: string; json: boolean } {
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    return { json: false };
  }
  const error = (body as { error?: unknown } | null)?.error;
  if (typeof error === 'string') return { type: error, json: true };
  if (error && typeof error === 'object') {
    const { type, message } = error as { type?: unknown; message?: unknown };
    return {
      type: typeof type === 'string' ? type : undefined,
      message: typeof message === 'string' ? message : undefined,
      json: true,
    };
  }
  return { json: true };
}

/** Builds the error for a non-2xx HTTP response. */
export function errorFromResponse(status: number, bodyText: string, ctx: RequestContext): AirtableError {
  const env = parseEnvelope(bodyText);
  const kind = kindForStatus(status);
  const type = env.type ?? STATUS_TYPES[status] ?? `HTTP_${status}`;
  const message =
    env.message ??
    (env.json
      ? `Airtable answered HTTP ${status} ${type}`
      : `Airtable answered HTTP ${status} with a non-JSON body`);
  const retryable =
    status === 429 ? type !== 'PUBLIC_API_BILLING_LIMIT_EXCEEDED' : [502, 503, 504].includes(status);
  return new AirtableError({ kind, type, message, status, retryable, ...ctx });
}

/**
 * Airtable's answer that a record id named in the request is not in the table: 404 MODEL_ID_NOT_FOUND
 * (single-record routes) or 422 ROW_DOES_NOT_EXIST (batch routes); either status with either type is
 * accepted. Not a plain 404 NOT_FOUND, which also means a wrong base or table.
 */
export function isRecordNotFound(error: AirtableError): boolean {
  return (
    (error.status === 404 || error.status === 422) &&
    (error.type === 'MODEL_ID_NOT_FOUND' || error.type === 'ROW_DOES_NOT_EXIST')
  );
}

const TYPE_HINTS: Record<string, string> = {
  AUTHENTICATION_REQUIRED: 'Check AIRTABLE_TOKEN: it is missing, revoked or expired.',
  INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND:
    'The token may lack the scope (data.records:read/write, schema.bases:read/write) or access to this base, ' +
    'or the base/table name or id is wrong — list bases/tables to check.',
  INVALID_PERMISSIONS:
    'The field or table is locked for this user: ask a base owner for permission, or leave that field out.',
  MODEL_ID_NOT_FOUND:
    'That id (record or comment) does not exist in this table: check the id, or list records to find it.',
  NOT_FOUND: 'No such route or object: check the base id (app…), the table name or id, and any record id.',
  ROW_DOES_NOT_EXIST:
    'A record id in the request does not exist in this table: check the ids (or upsert to create missing rows).',
  INVALID_FILTER_BY_FORMULA:
    'Check the formula: field names go in {braces} exactly as in the schema, text in matching quotes ' +
    "(escape \\ and quotes), and functions must exist (e.g. AND({Status}='Done', {Due} < TODAY())).",
  UNKNOWN_FIELD_NAME:
    'A field name does not exist in this table: check field names (exact case) with the schema.',
  INVALID_VALUE_FOR_COLUMN:
    'A value does not fit its field type (or the field is computed): check the field type in the schema, ' +
    'or pass typecast=true to let Airtable convert it.',
  INVALID_MULTIPLE_CHOICE_OPTIONS:
    'Use an existing select option (see the field choices in the schema), or set typecast=true to create it.',
  LIST_RECORDS_ITERATOR_NOT_AVAILABLE:
    'The pagination offset expired or no longer matches the query: restart the listing without offset.',
  INVALID_OFFSET_VALUE: 'The pagination offset is invalid: restart the listing without offset.',
  INVALID_RECORDS: 'Send at most 10 records per request, each with a fields object (and an id for updates).',
  INVALID_REQUEST_MISSING_FIELDS: 'Every record needs a "fields" object.',
  VIEW_NAME_NOT_FOUND: 'The view does not exist in this table: check view names in the schema.',
  VIEW_ID_NOT_FOUND: 'The view does not exist in this table: check view ids in the schema.',
  PUBLIC_API_BILLING_LIMIT_EXCEEDED:
    "The workspace's monthly API call allowance is used up: upgrade the plan or wait for the next period.",
};

const KIND_HINTS: Record<AirtableErrorKind, string> = {
  auth: TYPE_HINTS.AUTHENTICATION_REQUIRED!,
  forbidden_or_not_found: TYPE_HINTS.INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND!,
  not_found: TYPE_HINTS.NOT_FOUND!,
  validation:
    'Airtable rejected the request: check field names and value types against the schema, and the ids used.',
  rate_limited:
    'Airtable rate limit reached (5 requests/s per base, 50/s per token); the client waited and retried. ' +
    'Try again later or send fewer requests.',
  too_large: 'The request is too large: send fewer records per call or smaller cell values.',
  server: 'Airtable had a server error. Retry later; if it persists check https://status.airtable.com.',
  network: 'Could not reach Airtable (network error): check connectivity and the base URL, then retry.',
  timeout:
    'Airtable did not answer in time: retry later, ask for less (a filter, fewer fields, smaller pageSize) ' +
    'or raise the timeout.',
  aborted: 'The request was cancelled by the caller.',
  ambiguous:
    'The write may or may not have happened (the connection failed after the request was sent). Check first — ' +
    'e.g. search by a unique field — before retrying, or the record may be created twice.',
  invalid_argument: 'Fix the argument; no request was sent.',
};

export function hintFor(kind: AirtableErrorKind, type: string): string {
  return TYPE_HINTS[type] ?? KIND_HINTS[kind];
}

/** Error kinds that mean Airtable refused the request, so nothing of it was written. */
const REFUSED_KINDS: ReadonlySet<AirtableErrorKind> = new Set([
  'validation',
  'not_found',
  'forbidden_or_not_found',
  'invalid_argument',
  'auth',
  'rate_limited',
  'too_large',
]);

/**
 * Whether a write whose request was sent and failed with `error` may have
 * been applied all the same: anything but a refusal (the answer was lost,
 * timed out, a server error, cancelled in flight).
 */
export function mayHaveWritten(error: AirtableError): boolean {
  return error.type !== 'NOT_ATTEMPTED' && !REFUSED_KINDS.has(error.kind);
}

/** Argument rejected before any request was built or sent. */
export function invalidArgument(message: string): AirtableError {
  return new AirtableError({ kind: 'invalid_argument', type: 'INVALID_ARGUMENT', message });
}

export function abortedError(ctx: RequestContext, writeInFlight: boolean, cause?: unknown): AirtableError {
  const hint = writeInFlight
    ? 'The request was cancelled while a create was in flight: it may or may not have happened. ' +
      'Check (e.g. search by a unique field) before retrying.'
    : KIND_HINTS.aborted;
  return new AirtableError({
    kind: 'aborted',
    type: 'ABORTED',
    message: 'Request cancelled',
    hint,
    cause,
    ...ctx,
  });
}

export function timeoutError(ctx: RequestContext, ms: number, what: 'attempt' | 'deadline'): AirtableError {
  const message =
    what === 'attempt'
      ? `Airtable did not answer within ${ms} ms`
      : `Request did not complete within its ${ms} ms deadline (including retries and rate-limit waits)`;
  return new AirtableError({ kind: 'timeout', type: 'TIMEOUT', message, ...ctx });
}

export function networkError(ctx: RequestContext, detail: string, cause?: unknown): AirtableError {
  return new AirtableError({
    kind: 'network',
    type: 'NETWORK_ERROR',
    message: `Network error talking to Airtable: ${detail}`,
    cause,
    ...ctx,
  });
}

export function ambiguousError(
  ctx: RequestContext,
  detail: string,
  cause?: unknown,
  status?: number,
): AirtableError {
  return new AirtableError({
    kind: 'ambiguous',
    type: 'AMBIGUOUS_WRITE',
    message: `Outcome unknown: ${detail}`,
    status,
    retryable: false,
    cause,
    ...ctx,
  });
}

export function invalidResponse(ctx: RequestContext, detail: string, status?: number): AirtableError {
  return new AirtableError({
    kind: 'server',
    type: 'INVALID_RESPONSE',
    message: `Unexpected response from Airtable: ${detail}`,
    status,
    ...ctx,
  });
}
