/**
 * The official airtable.js client, unmodified, pointed at the sandbox with `endpointUrl`: every call
 * below goes over real HTTP, so this is the fidelity check for the wire formats airtable.js depends on.
 */
import Airtable from 'airtable';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SandboxHandle, startSandbox } from '../src/sandbox/index.js';

const DEMO = 'appSandboxDemo001';
let sandbox: SandboxHandle;
let base: Airtable.Base;

function client(apiKey: string, url = sandbox.url): Airtable {
  return new Airtable({ apiKey, endpointUrl: url, noRetryIfRateLimited: true, requestTimeout: 10_000 });
}

/** airtable.js's update options type lacks performUpsert (reference §10.6). */
type UpsertOptions = { typecast?: boolean; performUpsert: { fieldsToMergeOn: string[] } };
type UpsertCall = (
  records: Array<{ fields: Airtable.FieldSet }>,
  opts: UpsertOptions,
) => Promise<Airtable.Records<Airtable.FieldSet>>;

beforeAll(async () => {
  sandbox = await startSandbox({ rateLimit: false });
  base = client(sandbox.token).base(DEMO);
});

afterAll(() => sandbox.stop());

describe('reading with airtable.js', () => {
  it('select().all() follows offsets across pages', async () => {
    const records = await base('Tasks').select({ pageSize: 7 }).all();
    expect(records).toHaveLength(160);
    expect(new Set(records.map((r) => r.id)).size).toBe(160);
    expect(records[0]!.get('Task ID')).toBe(1);
  });

  it('eachPage yields pages of pageSize and stops at maxRecords', async () => {
    const sizes: number[] = [];
    await base('Tasks')
      .select({ pageSize: 50 })
      .eachPage((page, next) => {
        sizes.push(page.length);
        next();
      });
    expect(sizes).toEqual([50, 50, 50, 10]);
    const capped = await base('Tasks').select({ pageSize: 10, maxRecords: 15 }).all();
    expect(capped).toHaveLength(15);
  });

  it('filterByFormula, fields and view', async () => {
    const all = await base('Projects').select().all();
    const active = await base('Projects')
      .select({ filterByFormula: "{Status}='Active'", fields: ['Name', 'Status'] })
      .all();
    expect(active.length).toBe(all.filter((r) => r.get('Status') === 'Active').length);
    expect(active.length).toBeGreaterThan(0);
    for (const r of active) expect(Object.keys(r.fields).sort()).toEqual(['Name', 'Status']);
    const viaView = await base('Projects').select({ view: 'Active projects' }).all();
    expect(viaView.map((r) => r.id)).toEqual(active.map((r) => r.id));
  });

  it('sort by text descending, case-insensitively', async () => {
    const records = await base('People')
      .select({ sort: [{ field: 'Name', direction: 'desc' }] })
      .all();
    const names = records.map((r) => String(r.get('Name') ?? ''));
    const expected = [...names].sort((a, b) => b.localeCompare(a, 'en', { sensitivity: 'accent' }));
    expect(names).toEqual(expected);
  });

  it('POST listRecords via select({method: "post"})', async () => {
    const records = await base('Tasks')
      .select({
        method: 'post',
        filterByFormula: "{Status}='Done'",
        pageSize: 4,
      } as Airtable.SelectOptions<Airtable.FieldSet>)
      .all();
    const viaGet = await base('Tasks').select({ filterByFormula: "{Status}='Done'" }).all();
    expect(records.map((r) => r.id)).toEqual(viaGet.map((r) => r.id));
  });

  it('find returns one record with computed fields', async () => {
    const [first] = await base('Projects').select({ maxRecords: 1 }).all();
    const found = await base('Projects').find(first!.id);
    expect(found.id).toBe(first!.id);
    expect(found.get('Project Code')).toBe(1);
    expect(typeof found.get('Summary')).toBe('string');
  });
});

describe('writing with airtable.js', () => {
  it('creates single and batch records', async () => {
    const one = await base('Tasks').create({ Title: 'Fidelity single', Status: 'Todo' });
    expect(one.id).toMatch(/^rec[0-9A-Za-z]{14}$/);
    expect(one.get('Title')).toBe('Fidelity single');
    const many = await base('Tasks').create([
      { fields: { Title: 'Batch A' } },
      { fields: { Title: 'Batch B' } },
    ]);
    expect(many.map((r) => r.get('Title'))).toEqual(['Batch A', 'Batch B']);
    const typecast = await base('Tasks').create(
      { 'Estimate Hours': '2.5', Title: 'Cast' },
      { typecast: true },
    );
    expect(typecast.get('Estimate Hours')).toBe(2.5);
  });

  it('update merges and replace clears', async () => {
    const rec = await base('Tasks').create({ Title: 'To update', Notes: 'keep me', Status: 'Todo' });
    const updated = await base('Tasks').update(rec.id, { Status: 'Done' });
    expect(updated.get('Notes')).toBe('keep me');
    expect(updated.get('Status')).toBe('Done');
    const [batch] = await base('Tasks').update([{ id: rec.id, fields: { Notes: 'changed' } }]);
    expect(batch!.get('Notes')).toBe('changed');
    const replaced = await base('Tasks').replace(rec.id, { Title: 'Replaced' });
    expect(replaced.fields).toMatchObject({ Title: 'Replaced' });
    expect(replaced.get('Notes')).toBeUndefined();
    expect(replaced.get('Status')).toBeUndefined();
  });

  it('upserts on fieldsToMergeOn (cast: not in the client types)', async () => {
    const upsert = base('Tasks').update as unknown as UpsertCall;
    const opts = { performUpsert: { fieldsToMergeOn: ['Title'] } };
    const [created] = await upsert([{ fields: { Title: 'Upsert key', Notes: 'v1' } }], opts);
    const [again] = await upsert([{ fields: { Title: 'Upsert key', Notes: 'v2' } }], opts);
    expect(again!.id).toBe(created!.id);
    expect(again!.get('Notes')).toBe('v2');
  });

  it('destroys single and batch', async () => {
    const [a, b, c] = await base('Tasks').create([
      { fields: { Title: 'Del A' } },
      { fields: { Title: 'Del B' } },
      { fields: { Title: 'Del C' } },
    ]);
    const gone = await base('Tasks').destroy(a!.id);
    expect(gone.id).toBe(a!.id);
    const batch = await base('Tasks').destroy([b!.id, c!.id]);
    expect(batch.map((r) => r.id)).toEqual([b!.id, c!.id]);
    await expect(base('Tasks').find(b!.id)).rejects.toMatchObject({ error: 'NOT_FOUND', statusCode: 404 });
  });
});

describe('errors as airtable.js surfaces them', () => {
  it('401 AUTHENTICATION_REQUIRED for a wrong token', async () => {
    const bad = client('patWrong.token').base(DEMO);
    await expect(bad('Tasks').select().firstPage()).rejects.toMatchObject({
      error: 'AUTHENTICATION_REQUIRED',
      statusCode: 401,
    });
  });

  it('403 NOT_AUTHORIZED for an unknown table', async () => {
    await expect(base('No Such Table').select().firstPage()).rejects.toMatchObject({
      error: 'NOT_AUTHORIZED',
      statusCode: 403,
    });
  });

  it('404 NOT_FOUND for an unknown record', async () => {
    await expect(base('Tasks').find('recAAAAAAAAAAAAAA')).rejects.toMatchObject({
      error: 'NOT_FOUND',
      message: 'Record not found',
      statusCode: 404,
    });
  });

  it('422 types pass through', async () => {
    await expect(base('Tasks').select({ filterByFormula: 'AND(' }).firstPage()).rejects.toMatchObject({
      error: 'INVALID_FILTER_BY_FORMULA',
      statusCode: 422,
    });
    await expect(base('Tasks').create({ Nope: 1 })).rejects.toMatchObject({
      error: 'UNKNOWN_FIELD_NAME',
      message: 'Unknown field name: "Nope"',
    });
    await expect(base('Tasks').create({ 'Estimate Hours': 'lots' })).rejects.toMatchObject({
      error: 'INVALID_VALUE_FOR_COLUMN',
      message: 'Field "Estimate Hours" cannot accept the provided value',
    });
    await expect(base('Tasks').create({ Status: 'Someday' })).rejects.toMatchObject({
      error: 'INVALID_MULTIPLE_CHOICE_OPTIONS',
    });
    const eleven = Array.from({ length: 11 }, (_, i) => ({ fields: { Title: `n${i}` } }));
    await expect(base('Tasks').create(eleven)).rejects.toMatchObject({
      error: 'INVALID_RECORDS',
      message: 'A maximum of 10 records can be created per request but you have provided 11.',
    });
  });

  it('429 becomes TOO_MANY_REQUESTS with noRetryIfRateLimited', async () => {
    const limited = await startSandbox({ rateLimit: { perBasePerSec: 1, penaltyMs: 200 } });
    try {
      const b = client(limited.token, limited.url).base(DEMO);
      await b('Tasks').select({ maxRecords: 1 }).firstPage();
      await expect(b('Tasks').select({ maxRecords: 1 }).firstPage()).rejects.toMatchObject({
        error: 'TOO_MANY_REQUESTS',
        statusCode: 429,
      });
    } finally {
      await limited.stop();
    }
  });
});

describe('metadata through makeRequest', () => {
  it("base('meta') reaches /v0/meta/bases and a base schema", async () => {
    const meta = client(sandbox.token).base('meta');
    const bases = await meta.makeRequest({ path: '/bases' });
    expect(bases.body.bases.map((b: { id: string }) => b.id)).toEqual(sandbox.baseIds);
    const schema = await meta.makeRequest({ path: `/bases/${DEMO}/tables` });
    expect(schema.body.tables.map((t: { name: string }) => t.name)).toEqual(['Projects', 'Tasks', 'People']);
  });
});
