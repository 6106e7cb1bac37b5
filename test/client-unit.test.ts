import { describe, expect, it } from 'vitest';
import { errorFromResponse, hintFor, kindForStatus } from '../src/airtable/errors.js';
import { tokenFingerprint } from '../src/airtable/http.js';
import { AirtableError, toErrorPayload } from '../src/airtable/index.js';
import { checkListParams, listRecordsBody, listRecordsQuery, paths } from '../src/airtable/paths.js';
import { backoffDelay, isPreSendFailure, networkErrorCode, parseRetryAfter } from '../src/airtable/retry.js';

const BASE = 'appAAAAAAAAAAAAAA';
const REC = 'recAAAAAAAAAAAAAA';

function invalid(fn: () => unknown): AirtableError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AirtableError);
    expect((err as AirtableError).kind).toBe('invalid_argument');
    return err as AirtableError;
  }
  throw new Error('expected invalid_argument');
}

describe('paths', () => {
  it('encodes table names as one segment', () => {
    expect(paths.records(BASE, 'My Table')).toBe(`/v0/${BASE}/My%20Table`);
    expect(paths.records(BASE, 'a/b?c#d%e')).toBe(`/v0/${BASE}/a%2Fb%3Fc%23d%25e`);
    expect(paths.records(BASE, '../meta')).toBe(`/v0/${BASE}/..%2Fmeta`);
    expect(paths.record(BASE, 'Tâches & co', REC)).toBe(`/v0/${BASE}/T%C3%A2ches%20%26%20co/${REC}`);
    expect(paths.field(BASE, 'T', 'fldAAAAAAAAAAAAAA')).toBe(
      `/v0/meta/bases/${BASE}/tables/T/fields/fldAAAAAAAAAAAAAA`,
    );
    expect(paths.comment(BASE, 'T', REC, 'comAAAAAAAAAAAAAA')).toBe(
      `/v0/${BASE}/T/${REC}/comments/comAAAAAAAAAAAAAA`,
    );
  });

  it('rejects ids with the wrong shape before building anything', () => {
    for (const bad of [
      'recX/../../meta',
      '../meta/bases',
      'rec%2F..',
      'rec',
      `${REC}x`,
      'recAAAAAAAAAAAA-A',
      '',
    ]) {
      invalid(() => paths.record(BASE, 'T', bad));
    }
    invalid(() => paths.records('app123', 'T'));
    invalid(() => paths.records('meta', 'T'));
    invalid(() => paths.field(BASE, 'T', 'fld/../x'));
    invalid(() => paths.comment(BASE, 'T', REC, 'comments'));
    expect(invalid(() => paths.record(BASE, 'T', 'recX/../../meta')).message).toContain('Invalid record id');
  });

  it('rejects empty and dot-segment table names, which URL parsers would collapse', () => {
    invalid(() => paths.records(BASE, ''));
    invalid(() => paths.records(BASE, '.'));
    invalid(() => paths.records(BASE, '..'));
    // Proof of the hazard: WHATWG URL normalises even encoded dot segments.
    expect(new URL(`http://h/v0/${BASE}/%2E%2E/x`).pathname).toBe('/v0/x');
  });
});

describe('list records query', () => {
  it('uses the wire format of airtable.js', () => {
    const q = listRecordsQuery({
      fields: ['Name', 'Due Date'],
      filterByFormula: "AND({Name}='x y', {N} > 2)",
      maxRecords: 5,
      pageSize: 3,
      sort: [{ field: 'Name', direction: 'desc' }, { field: 'N' }],
      view: 'Grid view',
      returnFieldsByFieldId: true,
      offset: 'itrAAAAAAAAAAAAAA/recAAAAAAAAAAAAAA',
    });
    expect(q.getAll('fields[]')).toEqual(['Name', 'Due Date']);
    expect(q.get('sort[0][field]')).toBe('Name');
    expect(q.get('sort[0][direction]')).toBe('desc');
    expect(q.get('sort[1][field]')).toBe('N');
    expect(q.has('sort[1][direction]')).toBe(false);
    expect(q.toString()).toContain('fields%5B%5D=Name&fields%5B%5D=Due+Date');
    expect(q.toString()).toContain('offset=itrAAAAAAAAAAAAAA%2FrecAAAAAAAAAAAAAA');
    expect(q.get('returnFieldsByFieldId')).toBe('true');
  });

  it('puts timeZone and userLocale in the query of POST listRecords', () => {
    const { body, query } = listRecordsBody({
      filterByFormula: '1',
      cellFormat: 'string',
      timeZone: 'Europe/London',
      userLocale: 'en-gb',
      sort: [{ field: 'A' }],
    });
    expect(body).toEqual({ filterByFormula: '1', cellFormat: 'string', sort: [{ field: 'A' }] });
    expect(query.toString()).toBe('timeZone=Europe%2FLondon&userLocale=en-gb');
  });

  it('checks parameters cheaply', () => {
    invalid(() => checkListParams({ pageSize: 101 }));
    invalid(() => checkListParams({ pageSize: 0 }));
    invalid(() => checkListParams({ maxRecords: 1.5 }));
    invalid(() => checkListParams({ sort: [{ field: 'A', direction: 'up' as 'asc' }] }));
    invalid(() => checkListParams({ cellFormat: 'string' }));
    invalid(() => checkListParams({ fields: 'Name' as unknown as string[] }));
    expect(() => checkListParams({ pageSize: 100, maxRecords: 1 })).not.toThrow();
  });
});

describe('errors', () => {
  const ctx = { method: 'GET', path: `/v0/${BASE}/T` };

  it('reads the object envelope', () => {
    const e = errorFromResponse(
      422,
      '{"error":{"type":"INVALID_FILTER_BY_FORMULA","message":"The formula for filtering records is invalid"}}',
      ctx,
    );
    expect(e).toMatchObject({
      status: 422,
      kind: 'validation',
      type: 'INVALID_FILTER_BY_FORMULA',
      message: 'The formula for filtering records is invalid',
      retryable: false,
      method: 'GET',
      path: `/v0/${BASE}/T`,
    });
    expect(e.hint).toMatch(/braces/);
  });

  it('reads the string envelope and bodies without message or JSON', () => {
    expect(errorFromResponse(404, '{"error":"NOT_FOUND"}', ctx)).toMatchObject({
      kind: 'not_found',
      type: 'NOT_FOUND',
    });
    const iter = errorFromResponse(422, '{"error":{"type":"LIST_RECORDS_ITERATOR_NOT_AVAILABLE"}}', ctx);
    expect(iter.hint).toMatch(/restart .*without offset/);
    expect(iter.message).toContain('LIST_RECORDS_ITERATOR_NOT_AVAILABLE');
    const html = errorFromResponse(502, '<html>Bad gateway</html>', ctx);
    expect(html).toMatchObject({ kind: 'server', type: 'BAD_GATEWAY', retryable: true });
    expect(html.message).toContain('non-JSON');
  });

  it('maps statuses to kinds and hints', () => {
    expect(kindForStatus(401)).toBe('auth');
    expect(kindForStatus(403)).toBe('forbidden_or_not_found');
    expect(kindForStatus(413)).toBe('too_large');
    expect(kindForStatus(429)).toBe('rate_limited');
    expect(kindForStatus(400)).toBe('validation');
    expect(kindForStatus(503)).toBe('server');
    const auth = errorFromResponse(401, '{"error":{"type":"AUTHENTICATION_REQUIRED","message":"x"}}', ctx);
    expect(auth.hint).toBe('Check AIRTABLE_TOKEN: it is missing, revoked or expired.');
    const forbidden = errorFromResponse(
      403,
      '{"error":{"type":"INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND"}}',
      ctx,
    );
    expect(forbidden.hint).toMatch(/scope .*list bases\/tables/);
    expect(hintFor('validation', 'MODEL_ID_NOT_FOUND')).toMatch(/does not exist in this table/);
    expect(hintFor('validation', 'UNKNOWN_FIELD_NAME')).toMatch(/schema/);
    expect(hintFor('validation', 'INVALID_MULTIPLE_CHOICE_OPTIONS')).toMatch(/typecast=true/);
    expect(hintFor('validation', 'INVALID_OFFSET_VALUE')).toMatch(/without offset/);
    expect(hintFor('ambiguous', 'AMBIGUOUS_WRITE')).toMatch(/may or may not have happened/);
    const billing = errorFromResponse(429, '{"error":{"type":"PUBLIC_API_BILLING_LIMIT_EXCEEDED"}}', ctx);
    expect(billing.retryable).toBe(false);
  });

  it('gives callers a plain payload', () => {
    const e = errorFromResponse(
      422,
      '{"error":{"type":"UNKNOWN_FIELD_NAME","message":"Unknown field name: \\"X\\""}}',
      ctx,
    );
    const payload = toErrorPayload(e);
    expect(payload).toEqual({
      status: 422,
      type: 'UNKNOWN_FIELD_NAME',
      message: 'Unknown field name: "X"',
      hint: e.hint,
    });
    expect(JSON.parse(JSON.stringify(payload))).toEqual(payload);
    expect(toErrorPayload(new Error('boom'))).toMatchObject({ type: 'UNEXPECTED_ERROR', message: 'boom' });
  });
});

describe('retry helpers', () => {
  it('backs off exponentially with full jitter, capped', () => {
    expect(backoffDelay(0, 500, 8000, () => 0.999)).toBe(499);
    expect(backoffDelay(3, 500, 8000, () => 0.999)).toBe(3996);
    expect(backoffDelay(10, 500, 8000, () => 0.999)).toBe(7992);
    expect(backoffDelay(10, 500, 8000, () => 0)).toBe(0);
  });

  it('parses Retry-After as seconds or a date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter('0')).toBe(0);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
  });

  it('tells pre-send connection errors from ones after sending', () => {
    const wrap = (code: string) =>
      new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code }) });
    expect(isPreSendFailure(wrap('ECONNREFUSED'))).toBe(true);
    expect(isPreSendFailure(wrap('ENOTFOUND'))).toBe(true);
    expect(isPreSendFailure(wrap('EAI_AGAIN'))).toBe(true);
    expect(isPreSendFailure(wrap('ECONNRESET'))).toBe(false);
    expect(isPreSendFailure(wrap('UND_ERR_SOCKET'))).toBe(false);
    const multi = new TypeError('fetch failed', {
      cause: new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]),
    });
    expect(networkErrorCode(multi)).toBe('ECONNREFUSED');
  });

  it('fingerprints tokens without revealing them', () => {
    const fp = tokenFingerprint('patSecret.abcdef');
    expect(fp).toMatch(/^[0-9a-f]{12}$/);
    expect(fp).not.toContain('Secret');
    expect(tokenFingerprint('patSecret.abcdef')).toBe(fp);
  });
});
