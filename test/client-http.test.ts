/** Retry, timeout and error behaviour against a scripted fetch (no network). */
import { describe, expect, it } from 'vitest';
import {
  AirtableClient,
  type AirtableClientOptions,
  type AirtableError,
  type ClientEvent,
  createMemoryLimiter,
  type RateLimiter,
} from '../src/airtable/index.js';
import { failure } from './helpers/airtable-failure.js';

const BASE = 'appAAAAAAAAAAAAAA';
const REC = 'recAAAAAAAAAAAAAA';
const TOKEN = 'patTEST.secretvalue123';
const RECORD = { id: REC, createdTime: '2026-01-01T00:00:00.000Z', fields: { Name: 'x' } };

interface Call {
  method: string;
  url: URL;
  body: unknown;
  headers: Headers;
}
type Step = Response | Error | ((call: Call, signal: AbortSignal) => Promise<Response> | Response);

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

const netError = (code: string) =>
  new TypeError('fetch failed', { cause: Object.assign(new Error(`connect ${code} 1.2.3.4:443`), { code }) });

/** Never answers; rejects when the request's signal aborts. */
const hang: Step = (_call, signal) =>
  new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));

function scripted(steps: Step[]) {
  const calls: Call[] = [];
  const fetchImpl = (async (input: string | URL | Request, init: RequestInit = {}) => {
    const call: Call = {
      method: init.method ?? 'GET',
      url: new URL(String(input)),
      body: init.body ? JSON.parse(String(init.body)) : undefined,
      headers: new Headers(init.headers),
    };
    calls.push(call);
    const step = steps[Math.min(calls.length, steps.length) - 1]!;
    if (step instanceof Error) throw step;
    if (typeof step === 'function') return step(call, init.signal!);
    return step.clone();
  }) as typeof fetch;
  return { fetch: fetchImpl, calls };
}

function client(steps: Step[], options: Partial<AirtableClientOptions> = {}) {
  const s = scripted(steps);
  const events: ClientEvent[] = [];
  const c = new AirtableClient({
    token: TOKEN,
    baseUrl: 'https://example.test/',
    fetch: s.fetch,
    retryBaseDelayMs: 1,
    retryMaxDelayMs: 5,
    onEvent: (e) => events.push(e),
    ...options,
  });
  return { c, calls: s.calls, events };
}

describe('requests', () => {
  it('sends auth, user agent and JSON, and tolerates a trailing slash in baseUrl', async () => {
    const { c, calls } = client([json(200, RECORD)]);
    await c.createRecord(BASE, 'My Table', { Name: 'x' }, { typecast: true });
    expect(calls[0]!.url.href).toBe(`https://example.test/v0/${BASE}/My%20Table`);
    expect(calls[0]!.headers.get('authorization')).toBe(`Bearer ${TOKEN}`);
    expect(calls[0]!.headers.get('user-agent')).toBe('airtable-mcp-kit');
    expect(calls[0]!.headers.get('content-type')).toBe('application/json');
    expect(calls[0]!.body).toEqual({ fields: { Name: 'x' }, typecast: true });
  });

  it('rejects bad ids without any request', async () => {
    const { c, calls } = client([json(200, RECORD)]);
    for (const id of ['recX/../../meta', '../meta/bases', 'rec%2F..']) {
      expect((await failure(c.getRecord(BASE, 'T', id))).kind).toBe('invalid_argument');
      expect((await failure(c.deleteRecord(BASE, 'T', id))).kind).toBe('invalid_argument');
      expect((await failure(c.listComments(BASE, 'T', id))).kind).toBe('invalid_argument');
    }
    expect((await failure(c.getBaseSchema('../meta'))).kind).toBe('invalid_argument');
    expect(calls).toHaveLength(0);
  });

  it('fails with kind auth and no request when the token is empty', async () => {
    const { c, calls } = client([json(200, {})], { token: '  ' });
    const e = await failure(c.whoami());
    expect(e.kind).toBe('auth');
    expect(e.hint).toMatch(/AIRTABLE_TOKEN/);
    expect(calls).toHaveLength(0);
  });

  it('maps a non-JSON 2xx body to kind server', async () => {
    const { c } = client([new Response('<html>hi</html>', { status: 200 })]);
    const e = await failure(c.getRecord(BASE, 'T', REC));
    expect(e).toMatchObject({ kind: 'server', type: 'INVALID_RESPONSE', status: 200 });
  });

  it('switches to POST listRecords when the GET URL would pass 16,000 characters', async () => {
    const { c, calls } = client([json(200, { records: [] })]);
    const formula = `OR(${Array.from({ length: 1200 }, (_, i) => `{Name}='n${i}'`).join(',')})`;
    await c.listRecordsPage(BASE, 'T', { filterByFormula: formula, timeZone: 'UTC', pageSize: 10 });
    expect(calls[0]!.method).toBe('POST');
    expect(calls[0]!.url.pathname).toBe(`/v0/${BASE}/T/listRecords`);
    expect(calls[0]!.url.search).toBe('?timeZone=UTC');
    expect(calls[0]!.body).toEqual({ filterByFormula: formula, pageSize: 10 });
  });

  it('caps listRecords and returns the offset to resume from', async () => {
    const page = (n: number, offset?: string) =>
      json(200, { records: Array.from({ length: n }, () => RECORD), ...(offset ? { offset } : {}) });
    const { c, calls } = client([page(100, 'itr1/rec1'), page(100, 'itr2/rec2'), page(50, 'itr3/rec3')]);
    const seen: number[] = [];
    const res = await c.listRecords(
      BASE,
      'T',
      { maxRecords: 250 },
      { onPage: (_p, soFar) => seen.push(soFar) },
    );
    expect(res.records).toHaveLength(250);
    expect(res.offset).toBe('itr3/rec3');
    expect(seen).toEqual([100, 200, 250]);
    expect(calls.map((x) => x.url.searchParams.get('pageSize'))).toEqual(['100', '100', '50']);
    expect(calls.map((x) => x.url.searchParams.get('offset'))).toEqual([null, 'itr1/rec1', 'itr2/rec2']);
    expect(calls.every((x) => !x.url.searchParams.has('maxRecords'))).toBe(true);
  });
});

describe('retries', () => {
  it('retries a GET after 503, 502, 504 and a reset', async () => {
    const { c, calls, events } = client([
      json(503, { error: { type: 'RETRIABLE_ERROR' } }),
      json(502, {}),
      json(504, {}),
      netError('ECONNRESET'),
      json(200, RECORD),
    ]);
    expect(await c.getRecord(BASE, 'T', REC)).toEqual(RECORD);
    expect(calls).toHaveLength(5);
    expect(events.filter((e) => e.type === 'retry').map((e) => e.reason)).toEqual([
      'server',
      'server',
      'server',
      'network',
    ]);
  });

  it('gives up after maxRetries with the last error', async () => {
    const { c, calls } = client([json(503, { error: { type: 'RETRIABLE_ERROR', message: 'm' } })], {
      maxRetries: 2,
    });
    const e = await failure(c.getRecord(BASE, 'T', REC));
    expect(e).toMatchObject({ kind: 'server', status: 503, type: 'RETRIABLE_ERROR', retryable: true });
    expect(calls).toHaveLength(3);
  });

  it('does not retry 4xx or 500', async () => {
    for (const status of [401, 403, 404, 422, 500]) {
      const { c, calls } = client([json(status, { error: { type: 'X' } })]);
      await failure(c.getRecord(BASE, 'T', REC));
      expect(calls).toHaveLength(1);
    }
  });

  it('retries a create after 503, 502 and a refused connection', async () => {
    const { c, calls } = client([json(503, {}), json(502, {}), netError('ECONNREFUSED'), json(200, RECORD)]);
    expect(await c.createRecord(BASE, 'T', { Name: 'x' })).toEqual(RECORD);
    expect(calls).toHaveLength(4);
  });

  it('never resends a create after a reset, a drop or a 504: kind ambiguous', async () => {
    for (const step of [netError('ECONNRESET'), netError('UND_ERR_SOCKET'), json(504, {})]) {
      const { c, calls } = client([step, json(200, RECORD)]);
      const e = await failure(c.createRecord(BASE, 'T', { Name: 'x' }));
      expect(e.kind).toBe('ambiguous');
      expect(e.hint).toMatch(/may or may not have happened/);
      expect(e.retryable).toBe(false);
      expect(calls).toHaveLength(1);
    }
    const batch = client([netError('ECONNRESET'), json(200, { records: [RECORD] })]);
    const res = await batch.c.createRecords(BASE, 'T', [{ Name: 'x' }]);
    expect(res.failed[0]!.error.kind).toBe('ambiguous');
    expect(batch.calls).toHaveLength(1);
  });

  it('on 429 closes the base key in the limiter for Retry-After or the penalty', async () => {
    const penalties: [string, number][] = [];
    const limiter: RateLimiter = {
      acquire: async () => {},
      penalize: (key, until) => {
        penalties.push([key, until - Date.now()]);
      },
    };
    const r429 = (h: Record<string, string> = {}) => json(429, { error: { type: 'RATE_LIMIT_REACHED' } }, h);
    const { c, calls, events } = client([r429(), r429({ 'retry-after': '2' }), json(200, RECORD)], {
      limiter,
      rateLimitPenaltyMs: 700,
    });
    await c.getRecord(BASE, 'T', REC);
    expect(calls).toHaveLength(3);
    expect(penalties.map(([k]) => k)).toEqual([`base:${BASE}`, `base:${BASE}`]);
    expect(penalties[0]![1]).toBeGreaterThan(650);
    expect(penalties[1]![1]).toBeGreaterThan(1950);
    expect(events.filter((e) => e.type === 'rate_limited').map((e) => e.waitMs)).toEqual([700, 2000]);
    const whoami = client([r429(), json(200, { id: 'usr1' })], { limiter, rateLimitPenaltyMs: 1 });
    await whoami.c.whoami();
    expect(penalties.at(-1)![0]).toMatch(/^token:[0-9a-f]{12}$/);
  });

  it('fails fast when a 429 penalty would outlast the deadline', async () => {
    const { c, calls } = client([json(429, { error: { type: 'RATE_LIMIT_REACHED' } })], {
      rateLimitPenaltyMs: 30_000,
      deadlineMs: 1000,
    });
    const started = Date.now();
    const e = await failure(c.getRecord(BASE, 'T', REC));
    expect(e.kind).toBe('rate_limited');
    expect(Date.now() - started).toBeLessThan(500);
    expect(calls).toHaveLength(1);
  });
});

describe('timeouts and cancellation', () => {
  it('times out each attempt, retries reads, then reports kind timeout', async () => {
    const { c, calls } = client([hang], { timeoutMs: 30, maxRetries: 2 });
    const e = await failure(c.getRecord(BASE, 'T', REC));
    expect(e.kind).toBe('timeout');
    expect(calls).toHaveLength(3);
  });

  it('a create that times out is ambiguous and not resent', async () => {
    const { c, calls } = client([hang, json(200, RECORD)], { timeoutMs: 30 });
    expect((await failure(c.createRecord(BASE, 'T', { Name: 'x' }))).kind).toBe('ambiguous');
    expect(calls).toHaveLength(1);
  });

  it('stops at the deadline with kind timeout', async () => {
    const { c } = client([hang], { timeoutMs: 10_000, deadlineMs: 80 });
    const started = Date.now();
    const e = await failure(c.getRecord(BASE, 'T', REC));
    expect(e.kind).toBe('timeout');
    expect(e.message).toMatch(/deadline/);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('aborts promptly while in flight, in backoff, and in the limiter', async () => {
    const inFlight = client([hang]);
    const ac1 = new AbortController();
    setTimeout(() => ac1.abort(), 20);
    expect((await failure(inFlight.c.getRecord(BASE, 'T', REC, { signal: ac1.signal }))).kind).toBe(
      'aborted',
    );

    const backoff = client([json(503, {}, { 'retry-after': '60' })]);
    const ac2 = new AbortController();
    setTimeout(() => ac2.abort(), 50);
    let started = Date.now();
    expect((await failure(backoff.c.getRecord(BASE, 'T', REC, { signal: ac2.signal }))).kind).toBe('aborted');
    expect(Date.now() - started).toBeLessThan(1000);

    const limited = client([json(200, RECORD)]);
    await limited.c.getRecord(BASE, 'T', REC);
    const ac3 = new AbortController();
    const waits = Array.from({ length: 8 }, () =>
      limited.c.getRecord(BASE, 'T', REC, { signal: ac3.signal }),
    );
    setTimeout(() => ac3.abort(), 50);
    started = Date.now();
    const settled = await Promise.allSettled(waits);
    expect(Date.now() - started).toBeLessThan(1000);
    const kinds = settled.map((s) => (s.status === 'rejected' ? (s.reason as AirtableError).kind : 'ok'));
    expect(kinds.filter((k) => k === 'ok')).toHaveLength(4); // 5 per window, one used above
    expect(kinds.filter((k) => k === 'aborted')).toHaveLength(4);
  });

  it('a create cancelled in flight says the write may have happened', async () => {
    const { c } = client([hang]);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 20);
    const e = await failure(c.createRecord(BASE, 'T', { Name: 'x' }, { signal: ac.signal }));
    expect(e.kind).toBe('aborted');
    expect(e.hint).toMatch(/may or may not have happened/);
  });
});

describe('secrecy', () => {
  it('never puts the token in errors, events or limiter keys', async () => {
    const keys: string[] = [];
    const limiter: RateLimiter = {
      acquire: async (k) => {
        keys.push(...k);
      },
      penalize: () => {},
    };
    const leaky = new TypeError('fetch failed', {
      cause: Object.assign(new Error(`socket hang up ${TOKEN}`), { code: 'ECONNRESET' }),
    });
    const { c, events } = client([leaky], { limiter, maxRetries: 1 });
    const e = await failure(c.getRecord(BASE, 'T', REC));
    const everything = JSON.stringify([e.message, e.hint, e.path, events, keys]);
    expect(everything).not.toContain('secretvalue123');
    expect(everything).not.toContain('patTEST');
    expect(events.every((ev) => !ev.path.includes('?'))).toBe(true);
  });
});

describe('batches', () => {
  const rec = (i: number) => ({ ...RECORD, id: `rec${String(i).padStart(14, '0')}` });
  const echo: Step = (call) =>
    json(200, { records: (call.body as { records: unknown[] }).records.map((_, i) => rec(i)) });

  it('sends chunks of 10 in order and isolates a rejected chunk record by record', async () => {
    const reject: Step = (call) => {
      const records = (call.body as { records: { fields: { Name: string } }[] }).records;
      if (records.some((r) => r.fields.Name === 'bad')) {
        return json(422, { error: { type: 'INVALID_VALUE_FOR_COLUMN', message: 'bad value' } });
      }
      return echo(call, new AbortController().signal);
    };
    const { c, calls } = client([reject]);
    const inputs = Array.from({ length: 25 }, (_, i) => ({ Name: i === 13 ? 'bad' : `n${i}` }));
    const progress: number[] = [];
    const res = await c.createRecords(BASE, 'T', inputs, { onProgress: (d) => progress.push(d) });
    expect(res.succeeded).toHaveLength(24);
    expect(res.failed).toHaveLength(1);
    expect(res.failed[0]).toMatchObject({ index: 13, ok: false });
    expect(res.failed[0]!.error).toMatchObject({ status: 422, kind: 'validation' });
    expect(res.outcomes.map((o) => o.index)).toEqual(inputs.map((_, i) => i));
    expect(res.requests).toBe(3 + 10);
    expect(calls).toHaveLength(13);
    expect(progress).toEqual([10, 20, 25]);
  });

  it('marks the rest aborted when cancelled between chunks', async () => {
    const ac = new AbortController();
    const { c } = client([
      (call) => {
        ac.abort();
        return echo(call, ac.signal);
      },
    ]);
    const res = await c.createRecords(
      BASE,
      'T',
      Array.from({ length: 25 }, (_, i) => ({ Name: `n${i}` })),
      { signal: ac.signal },
    );
    expect(res.succeeded).toHaveLength(10);
    expect(res.failed).toHaveLength(15);
    expect(res.failed.every((f) => f.error.kind === 'aborted')).toBe(true);
    expect(res.requests).toBe(1);
  });

  it('stops after a failed chunk when continueOnError is false', async () => {
    const { c } = client([json(403, { error: { type: 'INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND' } })]);
    const ids = Array.from({ length: 25 }, (_, i) => rec(i).id);
    const res = await c.deleteRecords(BASE, 'T', ids, { continueOnError: false });
    expect(res.requests).toBe(1);
    expect(res.failed.slice(0, 10).every((f) => f.error.kind === 'forbidden_or_not_found')).toBe(true);
    expect(res.failed.slice(10).every((f) => f.error.type === 'NOT_ATTEMPTED')).toBe(true);
    expect(res.failed[3]!.id).toBe(ids[3]);
  });

  it('rejects bad inputs locally and sends the rest; empty input sends nothing', async () => {
    const { c, calls } = client([echo]);
    const res = await c.updateRecords(BASE, 'T', [
      { id: 'recX/../../meta', fields: {} },
      { id: rec(1).id, fields: { Name: 'ok' } },
      { id: rec(2).id, fields: null as unknown as Record<string, unknown> },
    ]);
    expect(res.outcomes.map((o) => o.ok)).toEqual([false, true, false]);
    expect(res.failed[0]!.error.kind).toBe('invalid_argument');
    expect(calls).toHaveLength(1);
    expect((calls[0]!.body as { records: unknown[] }).records).toHaveLength(1);
    const empty = await c.deleteRecords(BASE, 'T', []);
    expect(empty).toEqual({ outcomes: [], succeeded: [], failed: [], requests: 0 });
    expect(calls).toHaveLength(1);
    await expect(c.upsertRecords(BASE, 'T', [{ fields: {} }], { fieldsToMergeOn: [] })).rejects.toMatchObject(
      {
        kind: 'invalid_argument',
      },
    );
  });
});

describe('deletes whose answer was lost', () => {
  const ids = Array.from({ length: 3 }, (_, i) => `rec${String(i).padStart(14, '0')}`);
  const MISSING = 'recMISSINGMISSING';

  /**
   * How the n-th call (1-based) misbehaves: 'lost' applies the delete, then resets the connection (the
   * answer is lost); 'lost504' applies it, then a gateway answers 504; 'reset' resets before Airtable
   * saw it; '503' is Airtable's "not processed, retry".
   */
  type Fault = 'lost' | 'lost504' | 'reset' | '503';

  /** A table behind a scripted connection: deletes are all or nothing, like Airtable's. */
  function table(existing: string[], faults: Record<number, Fault> = {}) {
    const rows = new Set(existing);
    let n = 0;
    const step: Step = (call) => {
      const fault = faults[++n];
      if (fault === 'reset') throw netError('ECONNRESET');
      if (fault === '503') return json(503, { error: { type: 'SERVICE_UNAVAILABLE' } });
      const single = call.url.pathname.match(/\/(rec[A-Za-z0-9]{14})$/)?.[1];
      const wanted = single ? [single] : call.url.searchParams.getAll('records[]');
      const missing = wanted.find((id) => !rows.has(id));
      if (missing && single) {
        return json(404, { error: { type: 'MODEL_ID_NOT_FOUND', message: 'Record not found' } });
      }
      if (missing) {
        const message = `Record ID ${missing} does not exist in this table`;
        return json(422, { error: { type: 'ROW_DOES_NOT_EXIST', message } });
      }
      for (const id of wanted) rows.delete(id);
      if (fault === 'lost') throw netError('ECONNRESET');
      if (fault === 'lost504') return json(504, {});
      const deleted = wanted.map((id) => ({ id, deleted: true }));
      return json(200, single ? deleted[0] : { records: deleted });
    };
    return { step, rows };
  }

  it('reports a batch as deleted when the retry finds the records gone', async () => {
    const t = table(ids, { 1: 'lost' });
    const { c, calls } = client([t.step]);
    const res = await c.deleteRecords(BASE, 'T', ids);
    expect(t.rows.size).toBe(0);
    expect(res.failed).toEqual([]);
    expect(res.succeeded).toEqual(ids.map((id) => ({ id, deleted: true, alreadyDeleted: true })));
    // the lost attempt, its resend, then one resend per record to prove they are all gone
    expect(res.requests).toBe(2 + ids.length);
    expect(calls).toHaveLength(2 + ids.length);
    expect(calls.slice(2).map((x) => x.url.searchParams.getAll('records[]'))).toEqual(ids.map((id) => [id]));
  });

  it('reads a one-record chunk as deleted without resending it again', async () => {
    const t = table(ids, { 1: 'lost504' });
    const { c, calls } = client([t.step]);
    const res = await c.deleteRecords(BASE, 'T', ids.slice(0, 1));
    expect(res.outcomes).toEqual([
      { index: 0, ok: true, value: { id: ids[0], deleted: true, alreadyDeleted: true } },
    ]);
    expect(res.requests).toBe(2);
    expect(calls).toHaveLength(2);
  });

  it('keeps only the chunk that lost its answer: later chunks report plain deletes', async () => {
    const many = Array.from({ length: 12 }, (_, i) => `rec${String(i).padStart(14, '0')}`);
    const t = table(many, { 1: 'lost' });
    const fast = { perBase: { limit: 100, windowMs: 1000 }, perToken: { limit: 100, windowMs: 1000 } };
    const { c } = client([t.step], { limiter: createMemoryLimiter(fast) });
    const res = await c.deleteRecords(BASE, 'T', many);
    expect(res.failed).toEqual([]);
    expect(res.succeeded.map((d) => d.alreadyDeleted ?? false)).toEqual([
      ...Array(10).fill(true),
      false,
      false,
    ]);
    expect(res.requests).toBe(2 + 10 + 1);
  });

  it('a not-found on the first attempt still fails', async () => {
    const t = table(ids);
    const { c } = client([t.step]);
    const res = await c.deleteRecords(BASE, 'T', [ids[0]!, MISSING, ids[1]!]);
    expect(res.outcomes.map((o) => o.ok)).toEqual([true, false, true]);
    expect(res.succeeded).toEqual([ids[0], ids[1]].map((id) => ({ id, deleted: true })));
    expect(res.failed[0]).toMatchObject({ index: 1, id: MISSING, error: { type: 'ROW_DOES_NOT_EXIST' } });
    expect(res.requests).toBe(1 + 3);
    const alone = await c.deleteRecords(BASE, 'T', [MISSING]);
    expect(alone.failed[0]!.error.type).toBe('ROW_DOES_NOT_EXIST');
  });

  it('a not-found after a 503 still fails: Airtable did not process that attempt', async () => {
    const t = table(ids, { 1: '503' });
    const { c } = client([t.step]);
    const res = await c.deleteRecords(BASE, 'T', [MISSING]);
    expect(res.failed[0]!.error.type).toBe('ROW_DOES_NOT_EXIST');
    expect(res.requests).toBe(2);
  });

  it('a lost attempt that was not applied: existing records delete, the missing one fails', async () => {
    const t = table(ids, { 1: 'reset' });
    const { c } = client([t.step]);
    const res = await c.deleteRecords(BASE, 'T', [ids[0]!, MISSING, ids[1]!]);
    expect(t.rows).toEqual(new Set([ids[2]]));
    expect(res.succeeded).toEqual([ids[0], ids[1]].map((id) => ({ id, deleted: true })));
    expect(res.failed).toHaveLength(1);
    expect(res.failed[0]).toMatchObject({ index: 1, id: MISSING, error: { type: 'ROW_DOES_NOT_EXIST' } });
    expect(res.requests).toBe(2 + 3);
  });

  it('deleteRecord: deleted after a lost answer, not found on a first attempt', async () => {
    const t = table(ids, { 1: 'lost' });
    const { c, calls } = client([t.step]);
    expect(await c.deleteRecord(BASE, 'T', ids[0]!)).toEqual({
      id: ids[0],
      deleted: true,
      alreadyDeleted: true,
    });
    expect(calls).toHaveLength(2);
    expect(await c.deleteRecord(BASE, 'T', ids[1]!)).toEqual({ id: ids[1], deleted: true });
    const e = await failure(c.deleteRecord(BASE, 'T', ids[0]!));
    expect(e).toMatchObject({ status: 404, type: 'MODEL_ID_NOT_FOUND' });
    expect(calls).toHaveLength(4);
  });

  it('deleteRecord after a 504 whose delete was applied', async () => {
    const t = table(ids, { 1: 'lost504' });
    const { c } = client([t.step]);
    expect(await c.deleteRecord(BASE, 'T', ids[0]!)).toMatchObject({ alreadyDeleted: true });
  });
});

describe('upserts whose answer was lost', () => {
  const created = { ...RECORD, id: 'recCREATEDCREATED' };
  const body = (createdRecords: string[], updatedRecords: string[]) =>
    json(200, { records: [created], createdRecords, updatedRecords });

  it('flags "updated" records of a resent chunk as possibly created', async () => {
    // The lost attempt created the record; the resend matched it and calls it updated.
    const { c, calls } = client([netError('ECONNRESET'), body([], [created.id])]);
    const res = await c.upsertRecords(BASE, 'T', [{ fields: { Name: 'x' } }], { fieldsToMergeOn: ['Name'] });
    expect(calls).toHaveLength(2);
    expect(res.updatedRecordIds).toEqual([created.id]);
    expect(res.createdRecordIds).toEqual([]);
    expect(res.possiblyCreatedRecordIds).toEqual([created.id]);
  });

  it('leaves the split alone when no answer was lost (including after a 503)', async () => {
    const { c } = client([json(503, {}), body([], [created.id]), body([created.id], [])]);
    const opts = { fieldsToMergeOn: ['Name'] };
    const res = await c.upsertRecords(BASE, 'T', [{ fields: { Name: 'x' } }], opts);
    expect(res.updatedRecordIds).toEqual([created.id]);
    expect(res.possiblyCreatedRecordIds).toEqual([]);
    const again = await c.upsertRecords(BASE, 'T', [{ fields: { Name: 'x' } }], opts);
    expect(again.createdRecordIds).toEqual([created.id]);
    expect(again.possiblyCreatedRecordIds).toEqual([]);
  });
});
