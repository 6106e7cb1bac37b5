/**
 * Airtable's error bodies (reference §3). Handlers throw `ApiError`; the server turns it into a JSON
 * response. Two envelopes coexist on the real API: `{"error":"NOT_FOUND"}` and `{"error":{type,message}}`.
 */

export type ErrorBody = { error: string | { type: string; message?: string } };

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof body.error === 'string' ? body.error : (body.error.message ?? body.error.type));
  }
}

export function apiError(status: number, type: string, message?: string): ApiError {
  return new ApiError(status, { error: message === undefined ? { type } : { type, message } });
}

/** Unknown route or a path id of the wrong shape. */
export const notFound = (): ApiError => new ApiError(404, { error: 'NOT_FOUND' });

export const authRequired = (): ApiError =>
  apiError(401, 'AUTHENTICATION_REQUIRED', 'Authentication required');

export const MODEL_NOT_FOUND_MESSAGE =
  'Invalid permissions, or the requested model was not found. Check that both your user and your token have the required permissions, and that the model names and/or ids are correct.';

/** Unknown base/table and missing permission are deliberately indistinguishable. */
export const modelNotFound = (): ApiError =>
  apiError(403, 'INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND', MODEL_NOT_FOUND_MESSAGE);

export const recordNotFound = (): ApiError => apiError(404, 'MODEL_ID_NOT_FOUND', 'Record not found');
export const commentNotFound = (): ApiError => apiError(404, 'MODEL_ID_NOT_FOUND', 'Comment not found');

export const INVALID_REQUEST_MESSAGE =
  'Invalid request: parameter validation failed. Check your request data.';

/** The generic 422; a more specific message may replace the documented one. */
export const invalidRequest = (message = INVALID_REQUEST_MESSAGE): ApiError =>
  apiError(422, 'INVALID_REQUEST_UNKNOWN', message);

export const unparsableBody = (): ApiError =>
  apiError(422, 'INVALID_REQUEST_BODY', 'Could not parse request body');

export const missingFields = (): ApiError =>
  apiError(422, 'INVALID_REQUEST_MISSING_FIELDS', 'Could not find field "fields" in the request body');

export const unknownField = (name: string): ApiError =>
  apiError(422, 'UNKNOWN_FIELD_NAME', `Unknown field name: "${name}"`);

export const invalidValue = (fieldName: string): ApiError =>
  apiError(422, 'INVALID_VALUE_FOR_COLUMN', `Field "${fieldName}" cannot accept the provided value`);

export const computedField = (fieldName: string): ApiError =>
  apiError(
    422,
    'INVALID_VALUE_FOR_COLUMN',
    `Field "${fieldName}" cannot accept a value because the field is computed`,
  );

export const invalidChoice = (value: string): ApiError =>
  apiError(
    422,
    'INVALID_MULTIPLE_CHOICE_OPTIONS',
    `Insufficient permissions to create new select option ""${value}""`,
  );

export const rowDoesNotExist = (id: string): ApiError =>
  apiError(422, 'ROW_DOES_NOT_EXIST', `Record ID ${id} does not exist in this table`);

export const BATCH_UPDATE_MESSAGE =
  'You must provide an array of up to 10 record objects, each with an "id" ID field and a "fields" object for cell values.';

export const invalidRecords = (message = BATCH_UPDATE_MESSAGE): ApiError =>
  apiError(422, 'INVALID_RECORDS', message);

export const tooManyToCreate = (count: number): ApiError =>
  invalidRecords(`A maximum of 10 records can be created per request but you have provided ${count}.`);

export const invalidFormula = (detail: string): ApiError =>
  apiError(422, 'INVALID_FILTER_BY_FORMULA', `The formula for filtering records is invalid: ${detail}`);

export const invalidOffset = (offset: string): ApiError =>
  apiError(422, 'INVALID_OFFSET_VALUE', `The value of offset ${offset} is invalid`);

export const iteratorExpired = (): ApiError => apiError(422, 'LIST_RECORDS_ITERATOR_NOT_AVAILABLE');

export const RATE_LIMIT_MESSAGE = 'Rate limit exceeded. Please try again later';

export const rateLimited = (retryAfterSeconds?: number): ApiError =>
  new ApiError(
    429,
    { error: { type: 'RATE_LIMIT_REACHED', message: RATE_LIMIT_MESSAGE } },
    retryAfterSeconds === undefined ? {} : { 'Retry-After': String(retryAfterSeconds) },
  );

export const tooLarge = (limit: number): ApiError =>
  apiError(413, 'REQUEST_TOO_LARGE', `Request body exceeds the maximum size of ${limit} bytes`);

export const serverError = (detail?: string): ApiError =>
  apiError(500, 'SERVER_ERROR', detail ? `Unexpected sandbox error: ${detail}` : 'Unexpected sandbox error');

export const badGateway = (): ApiError =>
  apiError(502, 'BAD_GATEWAY', 'Bad gateway: the servers are restarting. It is safe to retry the request');

export const retriable = (): ApiError =>
  apiError(
    503,
    'RETRIABLE_ERROR',
    'Server encountered an error while processing your request, and it is safe to retry the request',
  );
