/** The sandbox over plain fetch: exact Airtable bodies, offsets, cells, links, metadata, comments, limits, faults. */

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type OutgoingHttpHeaders, request } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SandboxHandle, type SandboxOptions, startSandbox } from '../src/sandbox/index.js';
import { SandboxServer } from '../src/sandbox/server.js';

const DEMO = 'appSandboxDemo001';
const ARCHIVE = 'appSandboxArchive';
const MODEL_NOT_FOUND = {
  error: {
    type: 'INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND',
    message:
      'Invalid permissions, or the requested model was not found. Check that both your user and your token have the required permissions, and that the model names and/or ids are correct.',
  },
};
const GENERIC_422 = {
  error: {
    type: 'INVALID_REQUEST_UNKNOWN',
    message: 'Invalid request: parameter validation failed. Check your request data.',
  },
};

// biome-ignore lint/suspicious/noExplicitAny: response bodies are loosely shaped JSON in these tests
type J = any;

let sb: SandboxHandle;

interface Reply {
  status: number;
  body: J;
  headers: Headers;
}

async function call(
  target: SandboxHandle,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const res = await fetch(target.url + path, {
    method,
    headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
  call(sb, method, path, body, headers);

/** A raw HTTP request whose path is sent byte for byte (fetch would normalise `..`). */
function rawGet(target: SandboxHandle, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: target.port, path, headers: { authorization: `Bearer ${target.token}` } },
      (res) => {
        let data = '';
        res.on('data', (c) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function withSandbox<T>(options: SandboxOptions, run: (s: SandboxHandle) => Promise<T>): Promise<T> {
  const s = await startSandbox(options);
  try {
    return await run(s);
  } finally {
    await s.stop();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function firstRecord(table: string): Promise<J> {
  const { body } = await api('GET', `/v0/${DEMO}/${table}?maxRecords=1`);
  return body.records[0];
}

beforeAll(async () => {
  sb = await startSandbox({ rateLimit: false, iteratorTtlMs: 1500 });
});

afterAll(() => sb.stop());

describe('routing, auth and error envelopes', () => {
  it('answers JSON with CORS headers, and preflights', async () => {
    const r = await api('GET', '/v0/meta/whoami');
    expect(r.status).toBe(200);
    expect(r.body.id).toMatch(/^usr[0-9A-Za-z]{14}$/);
    expect(r.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    const pre = await fetch(`${sb.url}/v0/${DEMO}/Tasks`, { method: 'OPTIONS' });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-methods')).toBe('DELETE,GET,OPTIONS,PATCH,POST,PUT');
  });

  it('unknown routes, wrong id shapes and webhooks are 404 {"error":"NOT_FOUND"}', async () => {
    for (const path of [
      '/v0/nope',
      '/v1/x',
      `/v0/appBad/Tasks`,
      `/v0/${DEMO}/Tasks/notARecord`,
      `/v0/bases/${DEMO}/webhooks`,
    ]) {
      const r = await api('GET', path);
      expect(r.status, path).toBe(404);
      expect(r.body).toEqual({ error: 'NOT_FOUND' });
      expect(r.headers.get('content-type')).toBe('application/json; charset=utf-8');
    }
  });

  it('401 for missing or wrong tokens', async () => {
    const expected = { error: { type: 'AUTHENTICATION_REQUIRED', message: 'Authentication required' } };
    const wrong = await api('GET', `/v0/${DEMO}/Tasks`, undefined, { authorization: 'Bearer patNope.x' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual(expected);
    const none = await fetch(`${sb.url}/v0/${DEMO}/Tasks`);
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual(expected);
  });

  it('403 for unknown bases and tables, 404 MODEL_ID_NOT_FOUND for unknown records', async () => {
    expect((await api('GET', '/v0/appAAAAAAAAAAAAAA/Tasks')).body).toEqual(MODEL_NOT_FOUND);
    const t = await api('GET', `/v0/${DEMO}/Nope`);
    expect(t.status).toBe(403);
    expect(t.body).toEqual(MODEL_NOT_FOUND);
    const r = await api('GET', `/v0/${DEMO}/Tasks/recAAAAAAAAAAAAAA`);
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ error: { type: 'MODEL_ID_NOT_FOUND', message: 'Record not found' } });
  });

  it('invalid JSON is 422 INVALID_REQUEST_BODY; pageSize > 100 the generic 422', async () => {
    const bad = await api('POST', `/v0/${DEMO}/Tasks`, '{"fields":');
    expect(bad.status).toBe(422);
    expect(bad.body).toEqual({
      error: { type: 'INVALID_REQUEST_BODY', message: 'Could not parse request body' },
    });
    for (const q of ['pageSize=101', 'pageSize=0', 'maxRecords=abc', 'cellFormat=csv']) {
      const r = await api('GET', `/v0/${DEMO}/Tasks?${q}`);
      expect(r.status, q).toBe(422);
      expect(r.body).toEqual(GENERIC_422);
    }
  });

  it('tolerates airtable.js quirks: trailing ?, /? and JSON content type on GET/DELETE', async () => {
    const rec = await firstRecord('Tasks');
    expect((await api('GET', `/v0/${DEMO}/Tasks/${rec.id}?`)).status).toBe(200);
    const created = await api('POST', `/v0/${DEMO}/Tasks/?`, { fields: { Title: 'slash' } });
    expect(created.status).toBe(200);
    const del = await api('DELETE', `/v0/${DEMO}/Tasks/${created.body.id}?`);
    expect(del.body).toEqual({ deleted: true, id: created.body.id });
    const legacy = await api('GET', `/v0/${DEMO}/Tasks/?limit=3`, undefined, { 'x-api-version': '0.1.0' });
    expect(legacy.body.records).toHaveLength(3);
  });

  it('path injection never reaches another route', async () => {
    const encoded = await api('GET', `/v0/${DEMO}/Tasks/recX%2F..%2F..%2Fmeta`);
    expect(encoded.status).toBe(404);
    expect(encoded.body).toEqual({ error: 'NOT_FOUND' });
    const raw = await rawGet(sb, `/v0/${DEMO}/Tasks/recX/../../meta`);
    expect(raw.status).toBe(404);
    expect(JSON.parse(raw.body)).toEqual({ error: 'NOT_FOUND' });
    const commentPath = await rawGet(sb, `/v0/${DEMO}/Tasks/recAAAAAAAAAAAAAA/comments/../../..`);
    expect(commentPath.status).toBe(404);
  });

  it('413 with a JSON body past maxBodyBytes', async () => {
    await withSandbox({ rateLimit: false, maxBodyBytes: 1000 }, async (small) => {
      const r = await call(small, 'POST', `/v0/${DEMO}/Tasks`, { fields: { Title: 'x'.repeat(2000) } });
      expect(r.status).toBe(413);
      expect(r.body.error.type).toBe('REQUEST_TOO_LARGE');
      expect(r.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect((await call(small, 'GET', '/v0/meta/whoami')).status).toBe(200);
    });
  });
});

describe('list records', () => {
  it('pages with offsets; the last page has no offset key', async () => {
    const ids: string[] = [];
    let offset: string | undefined;
    let pages = 0;
    do {
      const r = await api(
        'GET',
        `/v0/${DEMO}/Tasks?pageSize=40${offset ? `&offset=${encodeURIComponent(offset)}` : ''}`,
      );
      expect(r.status).toBe(200);
      ids.push(...r.body.records.map((x: J) => x.id));
      offset = r.body.offset;
      if (offset) expect(offset).toMatch(/^itr[0-9A-Za-z]{14}\/rec[0-9A-Za-z]{14}$/);
      else expect('offset' in r.body).toBe(false);
      pages++;
    } while (offset);
    expect(pages).toBe(4);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('maxRecords counts across pages', async () => {
    const first = await api('GET', `/v0/${DEMO}/Tasks?pageSize=10&maxRecords=15`);
    expect(first.body.records).toHaveLength(10);
    const second = await api(
      'GET',
      `/v0/${DEMO}/Tasks?pageSize=10&maxRecords=15&offset=${encodeURIComponent(first.body.offset)}`,
    );
    expect(second.body.records).toHaveLength(5);
    expect('offset' in second.body).toBe(false);
  });

  it('garbage, foreign and expired offsets', async () => {
    const garbage = await api('GET', `/v0/${DEMO}/Tasks?offset=itrZX%2Frec5X`);
    expect(garbage.status).toBe(422);
    expect(garbage.body).toEqual({
      error: { type: 'INVALID_OFFSET_VALUE', message: 'The value of offset itrZX/rec5X is invalid' },
    });
    const page = await api('GET', `/v0/${DEMO}/Tasks?pageSize=5`);
    const offset = encodeURIComponent(page.body.offset);
    const otherQuery = await api('GET', `/v0/${DEMO}/Tasks?pageSize=5&filterByFormula=1&offset=${offset}`);
    expect(otherQuery.body.error.type).toBe('INVALID_OFFSET_VALUE');
    await sleep(1600);
    const expired = await api('GET', `/v0/${DEMO}/Tasks?pageSize=5&offset=${offset}`);
    expect(expired.status).toBe(422);
    expect(expired.body).toEqual({ error: { type: 'LIST_RECORDS_ITERATOR_NOT_AVAILABLE' } });
  });

  it('a record deleted mid-iteration does not break the iteration', async () => {
    const page1 = await api('GET', `/v0/${DEMO}/People?pageSize=10`);
    const all = (await api('GET', `/v0/${DEMO}/People`)).body.records.map((r: J) => r.id);
    const victim = all[10];
    const lastOfPage1 = page1.body.records.at(-1).id;
    await api('DELETE', `/v0/${DEMO}/People/${lastOfPage1}`);
    await api('DELETE', `/v0/${DEMO}/People/${victim}`);
    const page2 = await api(
      'GET',
      `/v0/${DEMO}/People?pageSize=10&offset=${encodeURIComponent(page1.body.offset)}`,
    );
    expect(page2.status).toBe(200);
    expect(page2.body.records.map((r: J) => r.id)).toEqual(all.slice(11, 21));
  });

  it('fields in every encoding; unknown names are 422 UNKNOWN_FIELD_NAME', async () => {
    for (const q of ['fields%5B%5D=Title', 'fields[]=Title', 'fields=Title', 'fields%5B0%5D=Title']) {
      const r = await api('GET', `/v0/${DEMO}/Tasks?maxRecords=2&${q}`);
      expect(r.status, q).toBe(200);
      for (const rec of r.body.records) expect(Object.keys(rec.fields)).toEqual(['Title']);
    }
    const unknown = await api('GET', `/v0/${DEMO}/Tasks?fields[]=Nope`);
    expect(unknown.body).toEqual({
      error: { type: 'UNKNOWN_FIELD_NAME', message: 'Unknown field name: "Nope"' },
    });
  });

  it('sorts: numbers numerically with blanks first, explicit sort overrides the view', async () => {
    const q =
      'sort%5B0%5D%5Bfield%5D=Estimate+Hours&sort%5B0%5D%5Bdirection%5D=asc&fields%5B%5D=Estimate+Hours';
    const r = await api('GET', `/v0/${DEMO}/Tasks?${q}`);
    const values = r.body.records.map((x: J) => x.fields['Estimate Hours']);
    const firstValue = values.findIndex((v: unknown) => v !== undefined);
    expect(firstValue).toBeGreaterThan(0);
    expect(values.slice(0, firstValue).every((v: unknown) => v === undefined)).toBe(true);
    const numbers = values.slice(firstValue);
    expect(numbers).toEqual([...numbers].sort((a: number, b: number) => a - b));
    expect(numbers).toContain(0);
    const viewSorted = await api('GET', `/v0/${DEMO}/Tasks?view=Open%20tasks&sort[0][field]=Title`);
    const titles = viewSorted.body.records.map((x: J) => x.fields.Title.toLowerCase());
    expect(titles).toEqual([...titles].sort((a: string, b: string) => a.localeCompare(b)));
    const bad = await api('GET', `/v0/${DEMO}/Tasks?sort[0][field]=Nope`);
    expect(bad.body.error.type).toBe('UNKNOWN_FIELD_NAME');
  });

  it('views filter and order; unknown views are 422 VIEW_NAME_NOT_FOUND', async () => {
    const open = await api('GET', `/v0/${DEMO}/Tasks?view=Open+tasks&fields[]=Status&fields[]=Due`);
    expect(open.body.records.every((r: J) => r.fields.Status !== 'Done')).toBe(true);
    const dues = open.body.records.map((r: J) => r.fields.Due ?? '');
    expect(dues).toEqual([...dues].sort());
    const unknown = await api('GET', `/v0/${DEMO}/Tasks?view=Nope`);
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.type).toBe('VIEW_NAME_NOT_FOUND');
  });

  it('filterByFormula errors have Airtable messages', async () => {
    const cases: Array<[string, string]> = [
      ['AND(', 'Invalid formula. Please check your formula text.'],
      ['{firstname}', 'Unknown field names: firstname'],
      ['BAD(1)', 'Unknown function names: bad'],
    ];
    for (const [formula, detail] of cases) {
      const r = await api('GET', `/v0/${DEMO}/Tasks?filterByFormula=${encodeURIComponent(formula)}`);
      expect(r.status, formula).toBe(422);
      expect(r.body.error.type).toBe('INVALID_FILTER_BY_FORMULA');
      expect(r.body.error.message.toLowerCase()).toBe(
        `The formula for filtering records is invalid: ${detail}`.toLowerCase(),
      );
    }
  });

  it('returnFieldsByFieldId accepts true and 1; recordMetadata adds commentCount', async () => {
    const schema = (await api('GET', `/v0/meta/bases/${DEMO}/tables`)).body.tables[1];
    const titleId = schema.fields.find((f: J) => f.name === 'Title').id;
    for (const v of ['true', '1']) {
      const r = await api('GET', `/v0/${DEMO}/Tasks?maxRecords=1&returnFieldsByFieldId=${v}`);
      expect(Object.keys(r.body.records[0].fields)).toContain(titleId);
    }
    const meta = await api('GET', `/v0/${DEMO}/Tasks?maxRecords=3&recordMetadata%5B%5D=commentCount`);
    for (const rec of meta.body.records) expect(typeof rec.commentCount).toBe('number');
  });

  it('cellFormat=string needs timeZone and userLocale, then renders text', async () => {
    const missing = await api('GET', `/v0/${DEMO}/Projects?cellFormat=string&timeZone=UTC`);
    expect(missing.status).toBe(422);
    expect(missing.body.error.type).toBe('INVALID_REQUEST_UNKNOWN');
    const r = await api(
      'GET',
      `/v0/${DEMO}/Projects?maxRecords=1&cellFormat=string&timeZone=UTC&userLocale=en-us`,
    );
    const fields = r.body.records[0].fields;
    for (const value of Object.values(fields)) expect(typeof value).toBe('string');
    expect(fields.Budget).toMatch(/^\$\d{1,3}(,\d{3})*\.\d\d$/);
    expect(fields.Progress).toMatch(/%$/);
    expect(fields.Owner).not.toMatch(/^rec/);
  });

  it('POST listRecords ignores unknown body keys and matches GET', async () => {
    const post = await api(
      'POST',
      `/v0/${DEMO}/Tasks/listRecords?timeZone=Europe%2FLondon&userLocale=en-gb`,
      {
        method: 'post',
        filterByFormula: "{Status}='Blocked'",
        timeZone: 'Europe/London',
        userLocale: 'en-gb',
        pageSize: 2,
        sort: [{ field: 'Title', direction: 'desc' }],
      },
    );
    expect(post.status).toBe(200);
    const get = await api(
      'GET',
      `/v0/${DEMO}/Tasks?filterByFormula=${encodeURIComponent("{Status}='Blocked'")}&pageSize=2&sort[0][field]=Title&sort[0][direction]=desc`,
    );
    expect(post.body.records.map((r: J) => r.id)).toEqual(get.body.records.map((r: J) => r.id));
    const next = await api('POST', `/v0/${DEMO}/Tasks/listRecords`, {
      filterByFormula: "{Status}='Blocked'",
      pageSize: 2,
      sort: [{ field: 'Title', direction: 'desc' }],
      offset: post.body.offset,
    });
    expect(next.status).toBe(200);
    expect(next.body.records[0].id).not.toBe(post.body.records[0].id);
  });
});

describe('writing records', () => {
  it('omits empty cells, keeps 0, checkbox false reads back absent', async () => {
    const r = await api('POST', `/v0/${DEMO}/Tasks`, {
      fields: {
        Title: 'Empty cells',
        Notes: '',
        Labels: [],
        'Estimate Hours': 0,
        Completed: false,
        Due: null,
      },
    });
    expect(r.status).toBe(200);
    expect(r.body.fields).toMatchObject({ Title: 'Empty cells', 'Estimate Hours': 0 });
    for (const k of ['Notes', 'Labels', 'Completed', 'Due']) expect(r.body.fields).not.toHaveProperty(k);
    expect(Object.keys(r.body)).toEqual(['id', 'createdTime', 'fields']);
  });

  it('batch create keeps order; missing fields and bad batches are 422', async () => {
    const r = await api('POST', `/v0/${DEMO}/Tasks`, {
      records: [{ fields: { Title: 'one' } }, { fields: { Title: 'two' } }],
    });
    expect(r.body.records.map((x: J) => x.fields.Title)).toEqual(['one', 'two']);
    const missing = await api('POST', `/v0/${DEMO}/Tasks`, { typecast: true });
    expect(missing.body).toEqual({
      error: {
        type: 'INVALID_REQUEST_MISSING_FIELDS',
        message: 'Could not find field "fields" in the request body',
      },
    });
    const eleven = await api('POST', `/v0/${DEMO}/Tasks`, {
      records: Array.from({ length: 11 }, () => ({ fields: {} })),
    });
    expect(eleven.body).toEqual({
      error: {
        type: 'INVALID_RECORDS',
        message: 'A maximum of 10 records can be created per request but you have provided 11.',
      },
    });
  });

  it('a failing batch writes nothing', async () => {
    const before = (
      await api('GET', `/v0/${DEMO}/Tasks?filterByFormula=${encodeURIComponent("{Title}='atomic'")}`)
    ).body;
    const r = await api('POST', `/v0/${DEMO}/Tasks`, {
      records: [{ fields: { Title: 'atomic' } }, { fields: { Title: 'atomic', Rating: 9 } }],
    });
    expect(r.body).toEqual({
      error: { type: 'INVALID_VALUE_FOR_COLUMN', message: 'Field "Rating" cannot accept the provided value' },
    });
    const after = (
      await api('GET', `/v0/${DEMO}/Tasks?filterByFormula=${encodeURIComponent("{Title}='atomic'")}`)
    ).body;
    expect(after.records).toHaveLength(before.records.length);
  });

  it('PATCH merges, PUT clears unspecified fields', async () => {
    const { body: rec } = await api('POST', `/v0/${DEMO}/Tasks`, {
      fields: { Title: 'T', Notes: 'N', Labels: ['bug'] },
    });
    const patched = await api('PATCH', `/v0/${DEMO}/Tasks/${rec.id}`, {
      fields: { Labels: ['docs', 'chore'] },
    });
    expect(patched.body.fields).toMatchObject({ Title: 'T', Notes: 'N', Labels: ['docs', 'chore'] });
    const put = await api('PUT', `/v0/${DEMO}/Tasks`, { records: [{ id: rec.id, fields: { Title: 'T2' } }] });
    expect(put.body.records[0].fields.Title).toBe('T2');
    expect(put.body.records[0].fields.Notes).toBeUndefined();
    expect(put.body.records[0].fields.Labels).toBeUndefined();
    expect(put.body.records[0].fields['Task ID']).toBeTypeOf('number');
  });

  it('unknown ids: 422 ROW_DOES_NOT_EXIST in batches, 404 for single writes and other tables', async () => {
    const batch = await api('PATCH', `/v0/${DEMO}/Tasks`, {
      records: [{ id: 'recAAAAAAAAAAAAAA', fields: {} }],
    });
    expect(batch.body).toEqual({
      error: {
        type: 'ROW_DOES_NOT_EXIST',
        message: 'Record ID recAAAAAAAAAAAAAA does not exist in this table',
      },
    });
    const del = await api('DELETE', `/v0/${DEMO}/Tasks?records[]=recAAAAAAAAAAAAAA`);
    expect(del.body.error.type).toBe('ROW_DOES_NOT_EXIST');
    const single = await api('PATCH', `/v0/${DEMO}/Tasks/recAAAAAAAAAAAAAA`, { fields: {} });
    expect(single.status).toBe(404);
    const project = await firstRecord('Projects');
    const crossTable = await api('PATCH', `/v0/${DEMO}/Tasks/${project.id}`, { fields: { Title: 'x' } });
    expect(crossTable.status).toBe(404);
    expect(crossTable.body.error.type).toBe('MODEL_ID_NOT_FOUND');
    const tooMany = await api('PATCH', `/v0/${DEMO}/Tasks`, {
      records: Array.from({ length: 11 }, () => ({ id: project.id, fields: {} })),
    });
    expect(tooMany.body.error.type).toBe('INVALID_RECORDS');
  });

  it('batch delete with encoded and raw brackets', async () => {
    const { body } = await api('POST', `/v0/${DEMO}/Tasks`, {
      records: [{ fields: { Title: 'd1' } }, { fields: { Title: 'd2' } }, { fields: { Title: 'd3' } }],
    });
    const [a, b, c] = body.records.map((r: J) => r.id);
    const encoded = await api('DELETE', `/v0/${DEMO}/Tasks?records%5B%5D=${a}&records%5B%5D=${b}`);
    expect(encoded.body).toEqual({
      records: [
        { deleted: true, id: a },
        { deleted: true, id: b },
      ],
    });
    const raw = await api('DELETE', `/v0/${DEMO}/Tasks?records[]=${c}`);
    expect(raw.body.records).toEqual([{ deleted: true, id: c }]);
  });

  it('computed fields are present and not writable', async () => {
    const project = await firstRecord('Projects');
    expect(project.fields).toHaveProperty('Project Code');
    expect(project.fields).toHaveProperty('Created', project.createdTime);
    expect(project.fields['Task Count']).toBe(project.fields.Tasks?.length ?? 0);
    expect(project.fields.Summary).toBe(`${project.fields.Status} — ${project.fields.Priority}`);
    const r = await api('PATCH', `/v0/${DEMO}/Projects/${project.id}`, { fields: { 'Task Count': 3 } });
    expect(r.body).toEqual({
      error: {
        type: 'INVALID_VALUE_FOR_COLUMN',
        message: 'Field "Task Count" cannot accept a value because the field is computed',
      },
    });
    const created = await api('POST', `/v0/${DEMO}/Projects`, {
      fields: { Name: 'Counter', Status: 'Active', Priority: 'Low' },
    });
    expect(created.body.fields['Project Code']).toBeGreaterThan(project.fields['Project Code']);
    expect(created.body.fields['Task Count']).toBe(0);
    expect(created.body.fields.Summary).toBe('Active — Low');
  });

  it('select options: 422 without typecast, created with typecast', async () => {
    const no = await api('POST', `/v0/${DEMO}/Tasks`, { fields: { Title: 'x', Status: 'Someday' } });
    expect(no.body).toEqual({
      error: {
        type: 'INVALID_MULTIPLE_CHOICE_OPTIONS',
        message: 'Insufficient permissions to create new select option ""Someday""',
      },
    });
    const yes = await api('POST', `/v0/${DEMO}/Tasks`, {
      fields: { Title: 'x', Status: 'Someday', Labels: 'bug, shiny', Completed: 'true', Rating: '4' },
      typecast: true,
    });
    expect(yes.body.fields).toMatchObject({
      Status: 'Someday',
      Labels: ['bug', 'shiny'],
      Completed: true,
      Rating: 4,
    });
    const schema = (await api('GET', `/v0/meta/bases/${DEMO}/tables`)).body.tables[1];
    const status = schema.fields.find((f: J) => f.name === 'Status');
    expect(status.options.choices.at(-1)).toMatchObject({ name: 'Someday' });
    expect(status.options.choices.at(-1).id).toMatch(/^sel[0-9A-Za-z]{14}$/);
    const queryCast = await api('POST', `/v0/${DEMO}/Tasks?typecast=true`, { fields: { Status: 'Later' } });
    expect(queryCast.body.error.type).toBe('INVALID_MULTIPLE_CHOICE_OPTIONS');
  });

  it('dates, epoch milliseconds and attachments', async () => {
    const { body: log } = await api('POST', `/v0/${ARCHIVE}/Log`, {
      fields: { Name: 'epoch', When: 1640520000000 },
    });
    expect(log.fields.When).toBe('2021-12-26T12:00:00.000Z');
    const bad = await api('POST', `/v0/${DEMO}/Tasks`, { fields: { Due: '2024-02-30' } });
    expect(bad.body.error.type).toBe('INVALID_VALUE_FOR_COLUMN');
  });

  it('two-way links stay consistent on create, update and delete', async () => {
    const projects = (await api('GET', `/v0/${DEMO}/Projects?maxRecords=2`)).body.records;
    const [p1, p2] = projects;
    const linksOf = async (id: string) =>
      (await api('GET', `/v0/${DEMO}/Projects/${id}`)).body.fields.Tasks ?? [];
    const { body: task } = await api('POST', `/v0/${DEMO}/Tasks`, {
      fields: { Title: 'Linked', Project: [p1.id] },
    });
    expect(await linksOf(p1.id)).toContain(task.id);
    await api('PATCH', `/v0/${DEMO}/Tasks/${task.id}`, { fields: { Project: [p2.id] } });
    expect(await linksOf(p1.id)).not.toContain(task.id);
    expect(await linksOf(p2.id)).toContain(task.id);
    const p2Count = (await api('GET', `/v0/${DEMO}/Projects/${p2.id}`)).body.fields['Task Count'];
    await api('DELETE', `/v0/${DEMO}/Tasks/${task.id}`);
    expect(await linksOf(p2.id)).not.toContain(task.id);
    expect((await api('GET', `/v0/${DEMO}/Projects/${p2.id}`)).body.fields['Task Count']).toBe(p2Count - 1);
    const missing = await api('POST', `/v0/${DEMO}/Tasks`, { fields: { Project: ['recAAAAAAAAAAAAAA'] } });
    expect(missing.status).toBe(422);
    const byName = await api('POST', `/v0/${DEMO}/Tasks`, {
      fields: { Project: [p1.fields.Name] },
      typecast: true,
    });
    expect(byName.body.fields.Project).toEqual([p1.id]);
  });

  it('upsert: create, update, multi-match failure', async () => {
    const body = (notes: string) => ({
      performUpsert: { fieldsToMergeOn: ['Title'] },
      records: [{ fields: { Title: 'Upsert via fetch', Notes: notes } }],
    });
    const first = await api('PATCH', `/v0/${DEMO}/Tasks`, body('a'));
    expect(first.body.createdRecords).toHaveLength(1);
    expect(first.body.updatedRecords).toEqual([]);
    const second = await api('PATCH', `/v0/${DEMO}/Tasks`, body('b'));
    expect(second.body.updatedRecords).toEqual(first.body.createdRecords);
    expect(second.body.records[0].fields.Notes).toBe('b');
    await api('POST', `/v0/${DEMO}/Tasks`, { fields: { Title: 'Upsert via fetch' } });
    const multi = await api('PATCH', `/v0/${DEMO}/Tasks`, body('c'));
    expect(multi.status).toBe(422);
    expect(multi.body.error.type).toBe('INVALID_RECORDS');
    const badField = await api('PATCH', `/v0/${DEMO}/Tasks`, {
      performUpsert: { fieldsToMergeOn: ['Completed'] },
      records: [{ fields: { Title: 'x' } }],
    });
    expect(badField.body.error.type).toBe('INVALID_REQUEST_UNKNOWN');
    const plain = await api('PATCH', `/v0/${DEMO}/Tasks`, {
      records: [{ id: first.body.createdRecords[0], fields: {} }],
    });
    expect(plain.body).not.toHaveProperty('createdRecords');
  });

  it('uploadAttachment stores the file on the sandbox', async () => {
    const { body: rec } = await api('POST', `/v0/${DEMO}/Projects`, { fields: { Name: 'With file' } });
    const schema = (await api('GET', `/v0/meta/bases/${DEMO}/tables`)).body.tables[0];
    await api('POST', `/v0/meta/bases/${DEMO}/tables/${schema.id}/fields`, {
      name: 'Files',
      type: 'multipleAttachments',
    });
    const r = await api('POST', `/v0/${DEMO}/${rec.id}/Files/uploadAttachment`, {
      contentType: 'text/plain',
      file: Buffer.from('hello world').toString('base64'),
      filename: 'sample.txt',
    });
    expect(r.status).toBe(200);
    const [fieldId, files] =
      Object.entries(r.body.fields).find(([, v]) => Array.isArray(v) && (v as J)[0]?.filename) ?? [];
    expect(fieldId).toMatch(/^fld/);
    expect((files as J)[0]).toMatchObject({ filename: 'sample.txt', size: 11, type: 'text/plain' });
    const download = await fetch((files as J)[0].url);
    expect(await download.text()).toBe('hello world');
  });
});

describe('metadata', () => {
  it('lists bases and a schema without sandbox-only view keys', async () => {
    const bases = await api('GET', '/v0/meta/bases?');
    expect(bases.body).toEqual({
      bases: [
        { id: DEMO, name: 'Sandbox Demo', permissionLevel: 'create' },
        { id: ARCHIVE, name: 'Sandbox Archive', permissionLevel: 'edit' },
      ],
    });
    const schema = await api('GET', `/v0/meta/bases/${DEMO}/tables?include%5B%5D=visibleFieldIds`);
    const tasks = schema.body.tables[1];
    expect(tasks.primaryFieldId).toBe(tasks.fields[0].id);
    for (const v of tasks.views) {
      expect(v).not.toHaveProperty('filterFormula');
      expect(v).not.toHaveProperty('sort');
      expect(v.visibleFieldIds).toHaveLength(tasks.fields.length);
    }
  });

  it('creates and updates tables and fields, with validation', async () => {
    const path = `/v0/meta/bases/${DEMO}/tables`;
    const created = await api('POST', path, {
      name: 'Meta Table',
      description: 'made by a test',
      fields: [
        { name: 'Name', type: 'singleLineText' },
        {
          name: 'Kind',
          type: 'singleSelect',
          options: { choices: [{ name: 'a' }, { name: 'b', color: 'redBright' }] },
        },
      ],
    });
    expect(created.status).toBe(200);
    expect(created.body.id).toMatch(/^tbl/);
    expect(created.body.views).toEqual([
      { id: expect.stringMatching(/^viw/), name: 'Grid view', type: 'grid' },
    ]);
    expect(created.body.fields[1].options.choices[0].id).toMatch(/^sel/);
    const dup = await api('POST', path, {
      name: 'meta table',
      fields: [{ name: 'Name', type: 'singleLineText' }],
    });
    expect(dup.body.error.type).toBe('DUPLICATE_TABLE_NAME');
    const noFields = await api('POST', path, { name: 'Empty', fields: [] });
    expect(noFields.status).toBe(422);
    const badPrimary = await api('POST', path, { name: 'Bad', fields: [{ name: 'Done', type: 'checkbox' }] });
    expect(badPrimary.status).toBe(422);
    const dupField = await api('POST', path, {
      name: 'Dups',
      fields: [
        { name: 'Name', type: 'singleLineText' },
        { name: 'NAME', type: 'number' },
      ],
    });
    expect(dupField.body.error.type).toBe('DUPLICATE_OR_EMPTY_FIELD_NAME');
    const badType = await api('POST', path, {
      name: 'Bad type',
      fields: [{ name: 'Name', type: 'hologram' }],
    });
    expect(badType.body.error.type).toBe('INVALID_REQUEST_UNKNOWN');

    const renamed = await api('PATCH', `${path}/Meta%20Table`, { name: 'Meta Table 2' });
    expect(renamed.body.name).toBe('Meta Table 2');
    const field = await api('POST', `${path}/Meta%20Table%202/fields`, {
      name: 'Score',
      type: 'number',
      options: { precision: 1 },
    });
    expect(field.body).toMatchObject({ name: 'Score', type: 'number', options: { precision: 1 } });
    const rec = await api('POST', `/v0/${DEMO}/Meta%20Table%202`, {
      fields: { Name: 'r', Score: 1.5, Kind: 'b' },
    });
    expect(rec.body.fields).toEqual({ Name: 'r', Kind: 'b', Score: 1.5 });
    const fieldPath = `${path}/${created.body.id}/fields/${field.body.id}`;
    const updated = await api('PATCH', fieldPath, { name: 'Points', description: 'renamed' });
    expect(updated.body).toMatchObject({ id: field.body.id, name: 'Points', description: 'renamed' });
    expect((await api('PATCH', fieldPath, { type: 'singleLineText' })).body.error.type).toBe(
      'INVALID_REQUEST_UNKNOWN',
    );
    expect((await api('PATCH', fieldPath, {})).body).toEqual(GENERIC_422);
    expect((await api('PATCH', fieldPath, { name: 'name' })).body.error.type).toBe(
      'DUPLICATE_OR_EMPTY_FIELD_NAME',
    );
  });

  it('links created through the metadata API get an inverse field', async () => {
    const tables = (await api('GET', `/v0/meta/bases/${DEMO}/tables`)).body.tables;
    const people = tables.find((t: J) => t.name === 'People');
    const created = await api('POST', `/v0/meta/bases/${DEMO}/tables`, {
      name: 'Teams',
      fields: [
        { name: 'Team', type: 'singleLineText' },
        { name: 'Members', type: 'multipleRecordLinks', options: { linkedTableId: people.id } },
      ],
    });
    const members = created.body.fields[1];
    expect(members.options.inverseLinkFieldId).toMatch(/^fld/);
    const person = (await api('GET', `/v0/${DEMO}/People?maxRecords=1`)).body.records[0];
    await api('POST', `/v0/${DEMO}/Teams`, { fields: { Team: 'Blue', Members: [person.id] } });
    const back = await api('GET', `/v0/${DEMO}/People/${person.id}`);
    expect(back.body.fields.Teams).toHaveLength(1);
  });

  it('schema writes need create permission', async () => {
    const r = await api('POST', `/v0/meta/bases/${ARCHIVE}/tables`, {
      name: 'X',
      fields: [{ name: 'Name', type: 'singleLineText' }],
    });
    expect(r.status).toBe(403);
    expect(r.body).toEqual(MODEL_NOT_FOUND);
  });

  it('table names with spaces, /, ? and # work URL-encoded', async () => {
    for (const name of ['Space Name', 'a/b', 'what?', 'no#1']) {
      const created = await api('POST', `/v0/meta/bases/${DEMO}/tables`, {
        name,
        fields: [{ name: 'Name', type: 'singleLineText' }],
      });
      expect(created.status, name).toBe(200);
      const path = `/v0/${DEMO}/${encodeURIComponent(name)}`;
      const rec = await api('POST', path, { fields: { Name: `in ${name}` } });
      expect(rec.status, name).toBe(200);
      const list = await api('GET', path);
      expect(list.body.records.map((r: J) => r.fields.Name)).toEqual([`in ${name}`]);
      expect((await api('GET', `${path}/${rec.body.id}`)).body.id).toBe(rec.body.id);
    }
  });
});

describe('comments', () => {
  it('CRUD, newest first, offset null on the last page', async () => {
    const rec = await firstRecord('People');
    const path = `/v0/${DEMO}/People/${rec.id}/comments`;
    const ids: string[] = [];
    for (const text of ['first', 'second', 'third']) {
      const c = await api('POST', path, { text });
      expect(c.body).toMatchObject({ text, lastUpdatedTime: null });
      expect(c.body.id).toMatch(/^com/);
      ids.push(c.body.id);
    }
    const page1 = await api('GET', `${path}?pageSize=2`);
    expect(page1.body.comments.map((c: J) => c.text)).toEqual(['third', 'second']);
    expect(typeof page1.body.offset).toBe('string');
    const page2 = await api('GET', `${path}?pageSize=2&offset=${encodeURIComponent(page1.body.offset)}`);
    expect(page2.body.comments.map((c: J) => c.text)).toEqual(['first']);
    expect(page2.body.offset).toBeNull();
    const reply = await api('POST', path, { text: 'reply', parentCommentId: ids[0] });
    expect(reply.body.parentCommentId).toBe(ids[0]);
    const edited = await api('PATCH', `${path}/${ids[1]}`, { text: 'edited' });
    expect(edited.body.text).toBe('edited');
    expect(edited.body.lastUpdatedTime).toMatch(/Z$/);
    expect((await api('DELETE', `${path}/${ids[2]}`)).body).toEqual({ id: ids[2], deleted: true });
    const missing = await api('DELETE', `${path}/${ids[2]}`);
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: { type: 'MODEL_ID_NOT_FOUND', message: 'Comment not found' } });
    const noRecord = await api('GET', `/v0/${DEMO}/People/recAAAAAAAAAAAAAA/comments`);
    expect(noRecord.body).toEqual({ error: { type: 'MODEL_ID_NOT_FOUND', message: 'Record not found' } });
    const count = await api('GET', `/v0/${DEMO}/People/${rec.id}?`);
    expect(count.status).toBe(200);
    const listed = await api('GET', `/v0/${DEMO}/People?maxRecords=1&recordMetadata[]=commentCount`);
    expect(listed.body.records[0].commentCount).toBe(3);
  });
});

describe('rate limits, faults, stats and lifecycle', () => {
  it('6 quick requests with perBasePerSec 5: one 429, penalty, then recovery', async () => {
    await withSandbox({ rateLimit: { perBasePerSec: 5, penaltyMs: 300 } }, async (s) => {
      const replies = await Promise.all(
        Array.from({ length: 6 }, () => call(s, 'GET', `/v0/${DEMO}/Tasks?maxRecords=1`)),
      );
      const limited = replies.filter((r) => r.status === 429);
      expect(limited).toHaveLength(1);
      expect(limited[0]!.body).toEqual({
        error: { type: 'RATE_LIMIT_REACHED', message: 'Rate limit exceeded. Please try again later' },
      });
      expect(limited[0]!.headers.get('retry-after')).toBeNull();
      expect((await call(s, 'GET', `/v0/${DEMO}/Tasks?maxRecords=1`)).status).toBe(429);
      expect((await call(s, 'GET', `/v0/${ARCHIVE}/Log?maxRecords=1`)).status).toBe(200);
      await sleep(1100);
      expect((await call(s, 'GET', `/v0/${DEMO}/Tasks?maxRecords=1`)).status).toBe(200);
      const stats = (await fetch(`${s.url}/_sandbox/stats`).then((r) => r.json())) as J;
      expect(stats.bases[DEMO]).toMatchObject({ requests: 8, rateLimited: 2 });
      expect(stats.bases[DEMO].maxPerSecond).toBeGreaterThanOrEqual(7);
      expect(stats.totals).toMatchObject({ requests: 9, rateLimited: 2, faultsInjected: 0 });
      expect(s.stats()).toEqual(stats);
    });
  });

  it('emitRetryAfter and the per-token limit', async () => {
    await withSandbox(
      { rateLimit: { perTokenPerSec: 2, penaltyMs: 1500, emitRetryAfter: true } },
      async (s) => {
        await call(s, 'GET', '/v0/meta/whoami');
        await call(s, 'GET', '/v0/meta/bases');
        const r = await call(s, 'GET', '/v0/meta/whoami');
        expect(r.status).toBe(429);
        expect(r.headers.get('retry-after')).toBe('2');
      },
    );
  });

  it('fault injection: sequence, drop, latency, control route', async () => {
    await withSandbox(
      { rateLimit: false, faults: { sequence: [503, 'ok'], retryAfterSeconds: 1 } },
      async (s) => {
        const first = await call(s, 'GET', '/v0/meta/whoami');
        expect(first.status).toBe(503);
        expect(first.body.error.type).toBe('RETRIABLE_ERROR');
        expect(first.headers.get('retry-after')).toBe('1');
        expect((await call(s, 'GET', '/v0/meta/whoami')).status).toBe(200);
        s.setFaults({ sequence: ['drop'] });
        await expect(call(s, 'GET', '/v0/meta/whoami')).rejects.toThrow();
        const set = await fetch(`${s.url}/_sandbox/faults`, {
          method: 'POST',
          body: JSON.stringify({ latencyMs: 150 }),
        });
        expect(set.status).toBe(200);
        const t0 = Date.now();
        expect((await call(s, 'GET', '/v0/meta/whoami')).status).toBe(200);
        expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
        s.setFaults({ sequence: [500, 502, 429], pathPrefix: '/v0/meta/bases' });
        expect((await call(s, 'GET', '/v0/meta/whoami')).status).toBe(200);
        const codes = [];
        for (let i = 0; i < 3; i++) codes.push((await call(s, 'GET', '/v0/meta/bases')).body.error.type);
        expect(codes).toEqual(['SERVER_ERROR', 'BAD_GATEWAY', 'RATE_LIMIT_REACHED']);
        await fetch(`${s.url}/_sandbox/faults`, { method: 'POST', body: '{}' });
        expect((await call(s, 'GET', '/v0/meta/bases')).status).toBe(200);
        expect(s.stats().totals.faultsInjected).toBe(5);
        const bad = await fetch(`${s.url}/_sandbox/faults`, { method: 'POST', body: '{"rates":{"418":1}}' });
        expect(bad.status).toBe(422);
      },
    );
  });

  it('seeded rates are repeatable', async () => {
    const run = () =>
      withSandbox({ rateLimit: false, faults: { rates: { 500: 0.5 }, seed: 42 } }, async (s) => {
        const out: number[] = [];
        for (let i = 0; i < 12; i++) out.push((await call(s, 'GET', '/v0/meta/whoami')).status);
        return out;
      });
    const a = await run();
    expect(a).toContain(500);
    expect(a).toContain(200);
    expect(await run()).toEqual(a);
  });

  it('reset restores the seed and zeroes stats', async () => {
    await withSandbox({ rateLimit: false }, async (s) => {
      const created = await call(s, 'POST', `/v0/${DEMO}/Tasks`, { fields: { Title: 'temporary' } });
      expect(s.stats().totals.requests).toBe(1);
      const reset = await fetch(`${s.url}/_sandbox/reset`, { method: 'POST' });
      expect(reset.status).toBe(200);
      expect((await call(s, 'GET', `/v0/${DEMO}/Tasks/${created.body.id}`)).status).toBe(404);
      expect((await call(s, 'GET', `/v0/${DEMO}/Tasks?pageSize=100`)).body.records).toHaveLength(100);
      s.reset();
      expect(s.stats()).toEqual({ bases: {}, totals: { requests: 0, rateLimited: 0, faultsInjected: 0 } });
    });
  });

  it("seed 'empty' has one empty base", async () => {
    await withSandbox({ seed: 'empty', rateLimit: false }, async (s) => {
      expect(s.baseIds).toEqual(['appSandboxEmpty01']);
      const r = await call(s, 'GET', '/v0/appSandboxEmpty01/Table%201');
      expect(r.body).toEqual({ records: [] });
    });
  });

  it('dataFile persists across restarts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sandbox-'));
    const dataFile = join(dir, 'data.sqlite');
    try {
      const id = await withSandbox({ dataFile, rateLimit: false }, async (s) => {
        const r = await call(s, 'POST', `/v0/${DEMO}/Tasks`, {
          fields: { Title: 'persisted', Status: 'Invented' },
          typecast: true,
        });
        return r.body.id as string;
      });
      await withSandbox({ dataFile, rateLimit: false, seed: 'empty' }, async (s) => {
        expect(s.baseIds).toEqual([DEMO, ARCHIVE]);
        const r = await call(s, 'GET', `/v0/${DEMO}/Tasks/${id}`);
        expect(r.body.fields).toMatchObject({ Title: 'persisted', Status: 'Invented' });
        const next = await call(s, 'POST', `/v0/${DEMO}/Tasks`, { fields: { Title: 'after restart' } });
        expect(next.body.fields['Task ID']).toBe(162);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('starts fast', async () => {
    const t0 = performance.now();
    const s = await startSandbox({ rateLimit: false });
    const elapsed = performance.now() - t0;
    await s.stop();
    expect(elapsed).toBeLessThan(200);
  });
});

interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** node:http lets a test set Host and Origin exactly as a browser (or a rebinding page) would. */
function rawRequest(
  port: number,
  method: string,
  path: string,
  headers: OutgoingHttpHeaders = {},
  body?: string,
): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A SandboxServer that believes it was bound to `host`, actually listening on 127.0.0.1. */
async function withBoundAs<T>(host: string, run: (port: number, s: SandboxServer) => Promise<T>): Promise<T> {
  const sandbox = new SandboxServer({ host, rateLimit: false });
  const server = createServer(sandbox.listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await run((server.address() as AddressInfo).port, sandbox);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    sandbox.store.close();
  }
}

const FORBIDDEN = expect.objectContaining({
  error: { type: 'FORBIDDEN', message: expect.any(String) },
});

describe('control routes and DNS rebinding', () => {
  const auth = () => ({ authorization: `Bearer ${sb.token}` });

  it('a cross-origin text/plain POST cannot reset, and data survives', async () => {
    await withSandbox({ rateLimit: false }, async (s) => {
      const created = await call(s, 'POST', `/v0/${DEMO}/Tasks`, { fields: { Title: 'keep me' } });
      expect(created.status).toBe(200);
      for (const origin of ['https://evil.example', 'http://localhost.evil.example:8787', 'null']) {
        const r = await rawRequest(
          s.port,
          'POST',
          '/_sandbox/reset',
          { origin, 'content-type': 'text/plain' },
          'x',
        );
        expect(r.status, origin).toBe(403);
        expect(JSON.parse(r.body), origin).toEqual(FORBIDDEN);
        expect(r.headers['access-control-allow-origin'], origin).toBeUndefined();
      }
      const faults = await rawRequest(
        s.port,
        'POST',
        '/_sandbox/faults',
        { origin: 'https://evil.example' },
        '{"rates":{"500":1}}',
      );
      expect(faults.status).toBe(403);
      expect(
        (await rawRequest(s.port, 'GET', '/_sandbox/stats', { origin: 'https://evil.example' })).status,
      ).toBe(403);
      const pre = await rawRequest(s.port, 'OPTIONS', '/_sandbox/reset', {
        origin: 'https://evil.example',
        'access-control-request-method': 'POST',
      });
      expect(pre.status).toBe(403);
      expect(pre.headers['access-control-allow-origin']).toBeUndefined();
      const still = await call(s, 'GET', `/v0/${DEMO}/Tasks/${created.body.id}`);
      expect(still.status).toBe(200);
      expect(still.body.fields.Title).toBe('keep me');
      expect(s.stats().totals.faultsInjected).toBe(0);
    });
  });

  it('a loopback origin and plain Node fetch (no Origin) may use control routes, without CORS headers', async () => {
    await withSandbox({ rateLimit: false }, async (s) => {
      const created = await call(s, 'POST', `/v0/${DEMO}/Tasks`, { fields: { Title: 'temporary' } });
      for (const origin of ['http://localhost:5173', 'http://127.0.0.1:3000', 'http://[::1]:8080']) {
        const r = await rawRequest(s.port, 'GET', '/_sandbox/stats', { origin });
        expect(r.status, origin).toBe(200);
        expect(r.headers['access-control-allow-origin'], origin).toBeUndefined();
      }
      const reset = await rawRequest(s.port, 'POST', '/_sandbox/reset', { origin: 'http://localhost:5173' });
      expect(reset.status).toBe(200);
      expect(JSON.parse(reset.body)).toEqual({ reset: true });
      expect((await call(s, 'GET', `/v0/${DEMO}/Tasks/${created.body.id}`)).status).toBe(404);
      const stats = await fetch(`${s.url}/_sandbox/stats`);
      expect(stats.status).toBe(200);
      expect(stats.headers.get('access-control-allow-origin')).toBeNull();
      const missing = await fetch(`${s.url}/_sandbox/nope`);
      expect(missing.status).toBe(404);
      expect(missing.headers.get('access-control-allow-origin')).toBeNull();
    });
  });

  it('a spoofed Host is refused on API and control routes; loopback Hosts and no Host are served', async () => {
    for (const host of ['evil.example', `evil.example:${sb.port}`, `localhost.evil.example:${sb.port}`]) {
      const apiReply = await rawRequest(sb.port, 'GET', '/v0/meta/whoami', { ...auth(), host });
      expect(apiReply.status, host).toBe(403);
      expect(JSON.parse(apiReply.body), host).toEqual(FORBIDDEN);
      const control = await rawRequest(sb.port, 'GET', '/_sandbox/stats', { host });
      expect(control.status, host).toBe(403);
      expect(JSON.parse(control.body), host).toEqual(FORBIDDEN);
      expect(control.headers['access-control-allow-origin'], host).toBeUndefined();
    }
    for (const host of ['localhost', `localhost:${sb.port}`, `127.0.0.1:${sb.port}`, `[::1]:${sb.port}`]) {
      expect((await rawRequest(sb.port, 'GET', '/v0/meta/whoami', { ...auth(), host })).status, host).toBe(
        200,
      );
      expect((await rawRequest(sb.port, 'GET', '/_sandbox/stats', { host })).status, host).toBe(200);
    }
    const http10 = await new Promise<string>((resolve, reject) => {
      const socket = connect(sb.port, '127.0.0.1', () =>
        socket.write(`GET /v0/meta/whoami HTTP/1.0\r\nAuthorization: Bearer ${sb.token}\r\n\r\n`),
      );
      let data = '';
      socket.on('data', (c) => (data += c));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(http10).toMatch(/^HTTP\/1\.[01] 200 /);
  });

  it('API routes keep CORS for browser clients and plain fetch still works', async () => {
    const r = await rawRequest(sb.port, 'GET', '/v0/meta/whoami', {
      ...auth(),
      origin: 'https://app.example',
    });
    expect(r.status).toBe(200);
    expect(r.headers['access-control-allow-origin']).toBe('*');
    const pre = await rawRequest(sb.port, 'OPTIONS', `/v0/${DEMO}/Tasks`, {
      origin: 'https://app.example',
      'access-control-request-method': 'PATCH',
    });
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('*');
    expect((await api('GET', '/v0/meta/whoami')).status).toBe(200);
  });

  it('bound explicitly to a non-loopback name, that name is accepted too', async () => {
    await withBoundAs('Sandbox.Internal', async (port) => {
      for (const host of ['sandbox.internal', 'sandbox.internal:8787', 'localhost:8787']) {
        const r = await rawRequest(port, 'GET', '/v0/meta/whoami', {
          authorization: `Bearer ${sb.token}`,
          host,
        });
        expect(r.status, host).toBe(200);
        expect((await rawRequest(port, 'GET', '/_sandbox/stats', { host })).status, host).toBe(200);
      }
      expect((await rawRequest(port, 'GET', '/_sandbox/stats', { host: 'evil.example' })).status).toBe(403);
      const crossOrigin = await rawRequest(port, 'POST', '/_sandbox/reset', {
        host: 'sandbox.internal',
        origin: 'http://evil.example',
      });
      expect(crossOrigin.status).toBe(403);
    });
    await withBoundAs('0.0.0.0', async (port) => {
      const r = await rawRequest(port, 'GET', '/v0/meta/whoami', {
        authorization: `Bearer ${sb.token}`,
        host: 'sandbox:8787',
      });
      expect(r.status).toBe(200);
    });
  });

  it('controlToken guards control routes but not attachment bytes', async () => {
    await withSandbox({ rateLimit: false, controlToken: 'ctl-secret' }, async (s) => {
      const none = await fetch(`${s.url}/_sandbox/reset`, { method: 'POST' });
      expect(none.status).toBe(401);
      expect(((await none.json()) as J).error.type).toBe('AUTHENTICATION_REQUIRED');
      expect(none.headers.get('access-control-allow-origin')).toBeNull();
      const apiToken = await fetch(`${s.url}/_sandbox/stats`, {
        headers: { authorization: `Bearer ${s.token}` },
      });
      expect(apiToken.status).toBe(401);
      const ok = await fetch(`${s.url}/_sandbox/stats`, { headers: { authorization: 'Bearer ctl-secret' } });
      expect(ok.status).toBe(200);
      const faults = await fetch(`${s.url}/_sandbox/faults`, {
        method: 'POST',
        headers: { authorization: 'Bearer ctl-secret' },
        body: JSON.stringify({ latencyMs: 1 }),
      });
      expect(faults.status).toBe(200);
      const foreign = await rawRequest(s.port, 'POST', '/_sandbox/reset', {
        authorization: 'Bearer ctl-secret',
        origin: 'https://evil.example',
      });
      expect(foreign.status).toBe(403);
      expect((await call(s, 'GET', '/v0/meta/whoami')).status).toBe(200);

      const { body: rec } = await call(s, 'POST', `/v0/${DEMO}/Projects`, { fields: { Name: 'File' } });
      const table = (await call(s, 'GET', `/v0/meta/bases/${DEMO}/tables`)).body.tables[0];
      await call(s, 'POST', `/v0/meta/bases/${DEMO}/tables/${table.id}/fields`, {
        name: 'Files',
        type: 'multipleAttachments',
      });
      const up = await call(s, 'POST', `/v0/${DEMO}/${rec.id}/Files/uploadAttachment`, {
        contentType: 'text/html',
        file: Buffer.from('<script>fetch("/_sandbox/reset",{method:"POST"})</script>').toString('base64'),
        filename: 'page.html',
      });
      const file = (
        Object.values(up.body.fields).find((v) => Array.isArray(v) && (v as J)[0]?.filename) as J
      )[0];
      const download = await fetch(file.url);
      expect(download.status).toBe(200);
      expect(download.headers.get('content-security-policy')).toContain('sandbox');
      expect(download.headers.get('x-content-type-options')).toBe('nosniff');
      expect(download.headers.get('access-control-allow-origin')).toBeNull();
    });
  });
});
