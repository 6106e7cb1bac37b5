/** Every client method against the project's sandbox, over real HTTP. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AirtableClient,
  type AirtableRecord,
  type ClientEvent,
  createMemoryLimiter,
} from '../src/airtable/index.js';
import { type SandboxHandle, startSandbox } from '../src/sandbox/index.js';
import { failure } from './helpers/airtable-failure.js';

const DEMO = 'appSandboxDemo001';
const ARCHIVE = 'appSandboxArchive';

let sb: SandboxHandle;
let client: AirtableClient;
let events: ClientEvent[] = [];

/** A client whose limiter is far above Airtable's, so functional tests run fast (the sandbox limits are off). */
function fastClient(extra: Partial<ConstructorParameters<typeof AirtableClient>[0]> = {}): AirtableClient {
  return new AirtableClient({
    token: sb.token,
    baseUrl: sb.url,
    limiter: createMemoryLimiter({
      perBase: { limit: 100, windowMs: 1000 },
      perToken: { limit: 200, windowMs: 1000 },
    }),
    onEvent: (e) => events.push(e),
    ...extra,
  });
}

const requests = () => sb.stats().totals.requests;

beforeAll(async () => {
  sb = await startSandbox({ port: 0, seed: 'demo', rateLimit: false });
  client = fastClient();
});
afterAll(async () => {
  await sb?.stop();
});
beforeEach(() => {
  sb.reset();
  events = [];
});

describe('metadata', () => {
  it('whoami, listBases and getBaseSchema', async () => {
    const me = await client.whoami();
    expect(me.id).toMatch(/^usr[A-Za-z0-9]{14}$/);
    const bases = await client.listBases();
    expect(bases.map((b) => b.id)).toEqual(expect.arrayContaining([DEMO, ARCHIVE]));
    expect(bases.every((b) => typeof b.permissionLevel === 'string')).toBe(true);
    const tables = await client.getBaseSchema(DEMO);
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['Projects', 'Tasks', 'People']));
    const tasks = tables.find((t) => t.name === 'Tasks')!;
    expect(tasks.fields.map((f) => f.id)).toContain(tasks.primaryFieldId);
    expect(tasks.views.length).toBeGreaterThan(0);
  });

  it('creates tables with awkward names and uses them by name', async () => {
    const names = ['Sales Q1', 'In/Out', 'Why? Because', 'Issue #42', '100% done'];
    for (const name of names) {
      const table = await client.createTable(DEMO, {
        name,
        description: 'made by a test',
        fields: [
          { name: 'Name', type: 'singleLineText' },
          { name: 'Size', type: 'number', options: { precision: 0 } },
        ],
      });
      expect(table).toMatchObject({ name, description: 'made by a test' });
      expect(table.id).toMatch(/^tbl/);
      const rec = await client.createRecord(DEMO, name, { Name: `row of ${name}`, Size: 3 });
      expect(await client.getRecord(DEMO, name, rec.id)).toMatchObject({
        fields: { Name: `row of ${name}`, Size: 3 },
      });
      const page = await client.listRecordsPage(DEMO, name, { filterByFormula: '{Size} = 3' });
      expect(page.records.map((r) => r.id)).toEqual([rec.id]);
      const field = await client.createField(DEMO, name, { name: 'Notes?', type: 'multilineText' });
      expect(field).toMatchObject({ name: 'Notes?', type: 'multilineText' });
      const renamedField = await client.updateField(DEMO, table.id, field.id, { description: 'why' });
      expect(renamedField).toMatchObject({ id: field.id, description: 'why' });
      const renamed = await client.updateTable(DEMO, name, { name: `${name} (old)` });
      expect(renamed).toMatchObject({ id: table.id, name: `${name} (old)` });
    }
    const schema = await client.getBaseSchema(DEMO);
    expect(schema.map((t) => t.name)).toEqual(expect.arrayContaining(names.map((n) => `${n} (old)`)));
  });
});

describe('records', () => {
  it('lists a page, gets, creates, updates, replaces and deletes', async () => {
    const page = await client.listRecordsPage(DEMO, 'Tasks', { pageSize: 20, fields: ['Title', 'Status'] });
    expect(page.records).toHaveLength(20);
    expect(page.offset).toEqual(expect.any(String));
    expect(Object.keys(page.records[0]!.fields).every((k) => k === 'Title' || k === 'Status')).toBe(true);

    const one = await client.getRecord(DEMO, 'Tasks', page.records[0]!.id);
    expect(one.id).toBe(page.records[0]!.id);

    const created = await client.createRecord(DEMO, 'Tasks', {
      Title: 'From client',
      Status: 'Todo',
      'Estimate Hours': 2,
    });
    expect(created).toMatchObject({ fields: { Title: 'From client', Status: 'Todo', 'Estimate Hours': 2 } });
    const patched = await client.updateRecord(DEMO, 'Tasks', created.id, { Status: 'Done' });
    expect(patched.fields).toMatchObject({ Title: 'From client', Status: 'Done', 'Estimate Hours': 2 });
    const replaced = await client.updateRecord(
      DEMO,
      'Tasks',
      created.id,
      { Title: 'Only title' },
      { replace: true },
    );
    expect(replaced.fields.Title).toBe('Only title');
    expect(replaced.fields.Status).toBeUndefined();
    const deleted = await client.deleteRecord(DEMO, 'Tasks', created.id);
    expect(deleted).toEqual({ id: created.id, deleted: true });
    const gone = await failure(client.getRecord(DEMO, 'Tasks', created.id));
    expect(gone).toMatchObject({ status: 404, kind: 'not_found', type: 'MODEL_ID_NOT_FOUND' });
    expect(gone.hint).toMatch(/does not exist in this table/);
  });

  it('maps Airtable errors to kinds and hints', async () => {
    const badFormula = await failure(client.listRecordsPage(DEMO, 'Tasks', { filterByFormula: '{Nope} = ' }));
    expect(badFormula).toMatchObject({ status: 422, kind: 'validation', type: 'INVALID_FILTER_BY_FORMULA' });
    expect(badFormula.hint).toMatch(/braces/);
    const badTable = await failure(client.listRecordsPage(DEMO, 'No Such Table'));
    expect(badTable).toMatchObject({ status: 403, kind: 'forbidden_or_not_found' });
    const badOption = await failure(client.createRecord(DEMO, 'Tasks', { Title: 'x', Status: 'Someday' }));
    expect(badOption).toMatchObject({ status: 422, type: 'INVALID_MULTIPLE_CHOICE_OPTIONS' });
    expect(badOption.hint).toMatch(/typecast=true/);
    const typecast = await client.createRecord(
      DEMO,
      'Tasks',
      { Title: 'x', Status: 'Someday' },
      { typecast: true },
    );
    expect(typecast.fields.Status).toBe('Someday');
    const unknownField = await failure(client.createRecord(DEMO, 'Tasks', { Nope: 1 }));
    expect(unknownField).toMatchObject({ status: 422, type: 'UNKNOWN_FIELD_NAME' });
    const badToken = new AirtableClient({ token: 'patWrong.token', baseUrl: sb.url });
    const auth = await failure(badToken.whoami());
    expect(auth).toMatchObject({ status: 401, kind: 'auth' });
    expect(auth.hint).toBe('Check AIRTABLE_TOKEN: it is missing, revoked or expired.');
    expect(JSON.stringify({ ...auth, message: auth.message })).not.toContain('patWrong.token');
  });

  it('pages with a cap and resumes exactly from the returned offset', async () => {
    const all = await client.listRecords(DEMO, 'Tasks', { maxRecords: 1000 });
    expect(all.records.length).toBeGreaterThanOrEqual(150);
    expect(all.offset).toBeUndefined();
    const pages: number[] = [];
    const first = await client.listRecords(
      DEMO,
      'Tasks',
      { maxRecords: 70, pageSize: 30 },
      { onPage: (p) => pages.push(p.records.length) },
    );
    expect(first.records).toHaveLength(70);
    expect(pages).toEqual([30, 30, 10]);
    expect(first.offset).toEqual(expect.any(String));
    const rest = await client.listRecords(DEMO, 'Tasks', { offset: first.offset, pageSize: 30 });
    expect(rest.offset).toBeUndefined();
    const ids = (rs: AirtableRecord[]) => rs.map((r) => r.id);
    expect([...ids(first.records), ...ids(rest.records)]).toEqual(ids(all.records));
  });

  it('never lists unbounded: the default cap is 1000', async () => {
    const created = await client.createRecords(
      ARCHIVE,
      'Log',
      Array.from({ length: 1100 }, (_, i) => ({ Name: `bulk ${i}` })),
    );
    expect(created.failed).toHaveLength(0);
    const res = await client.listRecords(ARCHIVE, 'Log');
    expect(res.records).toHaveLength(1000);
    expect(res.offset).toEqual(expect.any(String));
  });

  it('sends long filters through POST listRecords, for every page', async () => {
    const all = await client.listRecords(DEMO, 'Tasks');
    const wanted = all.records.filter((_, i) => i % 4 === 0).map((r) => r.id); // 40 real ids
    const fake = Array.from({ length: 480 }, (_, i) => `recFAKE${String(i).padStart(10, '0')}`);
    const formula = `OR(${[...fake, ...wanted].map((id) => `RECORD_ID()='${id}'`).join(',')})`;
    expect(encodeURIComponent(formula).length).toBeGreaterThan(16_000);
    events = [];
    const res = await client.listRecords(DEMO, 'Tasks', { filterByFormula: formula, pageSize: 15 });
    expect(res.records.map((r) => r.id).sort()).toEqual([...wanted].sort());
    const sent = events.filter((e) => e.type === 'request');
    expect(sent).toHaveLength(3);
    expect(sent.every((e) => e.method === 'POST' && e.path.endsWith('/Tasks/listRecords'))).toBe(true);
    const page = await client.listRecordsPage(DEMO, 'Tasks', { filterByFormula: formula });
    expect(page.records).toHaveLength(40);
  });
});

describe('batches', () => {
  const titles = (n: number, prefix: string) =>
    Array.from({ length: n }, (_, i) => ({ Title: `${prefix} ${i}` }));

  it('create, update, upsert and delete 25 records in 3 requests each, keeping order', async () => {
    let before = requests();
    const created = await client.createRecords(DEMO, 'Tasks', titles(25, 'batch'));
    expect(created.requests).toBe(3);
    expect(requests() - before).toBe(3);
    expect(created.failed).toHaveLength(0);
    expect(created.succeeded.map((r) => r.fields.Title)).toEqual(titles(25, 'batch').map((t) => t.Title));
    expect(created.outcomes.map((o) => o.index)).toEqual([...Array(25).keys()]);
    const ids = created.succeeded.map((r) => r.id);

    before = requests();
    const progress: [number, number][] = [];
    const updated = await client.updateRecords(
      DEMO,
      'Tasks',
      ids.map((id, i) => ({ id, fields: { 'Estimate Hours': i } })),
      { onProgress: (d, t) => progress.push([d, t]) },
    );
    expect(updated.requests).toBe(3);
    expect(requests() - before).toBe(3);
    expect(updated.succeeded.map((r) => r.fields['Estimate Hours'] ?? 0)).toEqual([...Array(25).keys()]);
    expect(updated.succeeded.map((r) => r.id)).toEqual(ids);
    expect(progress).toEqual([
      [10, 25],
      [20, 25],
      [25, 25],
    ]);

    before = requests();
    const upsertInput = [
      ...titles(12, 'batch').map((f) => ({ fields: { ...f, Status: 'Done' } })),
      ...titles(13, 'fresh').map((f) => ({ fields: { ...f, Status: 'Todo' } })),
    ];
    const upserted = await client.upsertRecords(DEMO, 'Tasks', upsertInput, { fieldsToMergeOn: ['Title'] });
    expect(upserted.requests).toBe(3);
    expect(requests() - before).toBe(3);
    expect(upserted.failed).toHaveLength(0);
    expect(upserted.succeeded.map((r) => r.fields.Title)).toEqual(upsertInput.map((r) => r.fields.Title));
    expect(upserted.updatedRecordIds.sort()).toEqual(ids.slice(0, 12).sort());
    expect(upserted.createdRecordIds).toHaveLength(13);
    expect(upserted.succeeded.slice(0, 12).map((r) => r.id)).toEqual(ids.slice(0, 12));

    before = requests();
    const toDelete = [...ids.slice(12), ...upserted.createdRecordIds.slice(0, 12)];
    const deleted = await client.deleteRecords(DEMO, 'Tasks', toDelete);
    expect(deleted.requests).toBe(3);
    expect(requests() - before).toBe(3);
    expect(deleted.succeeded).toEqual(toDelete.map((id) => ({ id, deleted: true })));
  });

  it('isolates the one bad record in a batch: 24 succeed, 1 fails with its index and a 422', async () => {
    const input: Record<string, unknown>[] = titles(25, 'mixed');
    input[17] = { Title: 'mixed 17', Status: 'Not a status' };
    const before = requests();
    const res = await client.createRecords(DEMO, 'Tasks', input);
    expect(res.succeeded).toHaveLength(24);
    expect(res.failed).toHaveLength(1);
    expect(res.failed[0]).toMatchObject({ index: 17, ok: false });
    expect(res.failed[0]!.error).toMatchObject({ status: 422, kind: 'validation' });
    expect(res.outcomes.filter((o) => o.ok).map((o) => o.index)).toEqual(
      [...Array(25).keys()].filter((i) => i !== 17),
    );
    // 3 chunks + the rejected chunk resent as 10 single-record requests.
    expect(res.requests).toBe(13);
    expect(requests() - before).toBe(13);
    const stored = await client.listRecords(DEMO, 'Tasks', {
      filterByFormula: "FIND('mixed ', {Title}) = 1",
    });
    expect(stored.records).toHaveLength(24);
  });

  it('reports unknown ids per record in a batch update', async () => {
    const some = await client.listRecordsPage(DEMO, 'Tasks', { pageSize: 3 });
    const updates = some.records.map((r) => ({ id: r.id, fields: { Notes: 'touched' } }));
    updates.splice(1, 0, { id: 'recDoesNotExist00', fields: { Notes: 'x' } });
    const res = await client.updateRecords(DEMO, 'Tasks', updates);
    expect(res.outcomes.map((o) => o.ok)).toEqual([true, false, true, true]);
    expect(res.failed[0]!.id).toBe('recDoesNotExist00');
  });
});

describe('writes applied by the sandbox whose answer is lost', () => {
  /**
   * Real fetch, except that the first `method` request is delivered and processed by the sandbox,
   * then fails like a connection reset before its answer arrives (the sandbox's 'drop' fault drops
   * before processing, so it cannot stage this).
   */
  function losingFirstAnswer(method: string): AirtableClient {
    let lost = false;
    const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
      const res = await fetch(input, init);
      if (lost || init?.method !== method) return res;
      lost = true;
      await res.text();
      const cause = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
      throw new TypeError('fetch failed', { cause });
    }) as typeof fetch;
    return fastClient({ fetch: fetchImpl, retryBaseDelayMs: 1, retryMaxDelayMs: 5 });
  }

  it('deleteRecords reports every record deleted, and a first-attempt miss still fails', async () => {
    const made = await client.createRecords(
      DEMO,
      'Tasks',
      [1, 2, 3].map((i) => ({ Title: `lost ${i}` })),
    );
    const ids = made.succeeded.map((r) => r.id);
    const c = losingFirstAnswer('DELETE');
    const before = requests();
    const res = await c.deleteRecords(DEMO, 'Tasks', ids);
    expect(res.failed).toEqual([]);
    expect(res.succeeded).toEqual(ids.map((id) => ({ id, deleted: true, alreadyDeleted: true })));
    expect(res.requests).toBe(2 + 3);
    expect(requests() - before).toBe(5);
    for (const id of ids) {
      expect((await failure(client.getRecord(DEMO, 'Tasks', id))).type).toBe('MODEL_ID_NOT_FOUND');
    }
    const again = await c.deleteRecords(DEMO, 'Tasks', ids);
    expect(again.failed.map((f) => f.error.type)).toEqual(Array(3).fill('ROW_DOES_NOT_EXIST'));
    expect(again.requests).toBe(1 + 3);
  });

  it('deleteRecord reports the record deleted', async () => {
    const made = await client.createRecord(DEMO, 'Tasks', { Title: 'lost single' });
    const c = losingFirstAnswer('DELETE');
    expect(await c.deleteRecord(DEMO, 'Tasks', made.id)).toEqual({
      id: made.id,
      deleted: true,
      alreadyDeleted: true,
    });
    const e = await failure(c.deleteRecord(DEMO, 'Tasks', made.id));
    expect(e).toMatchObject({ status: 404, type: 'MODEL_ID_NOT_FOUND' });
  });

  it('upsertRecords flags records the lost attempt created', async () => {
    const c = losingFirstAnswer('PATCH');
    const input = [{ fields: { Title: 'lost upsert 1' } }, { fields: { Title: 'lost upsert 2' } }];
    const res = await c.upsertRecords(DEMO, 'Tasks', input, { fieldsToMergeOn: ['Title'] });
    expect(res.requests).toBe(2);
    expect(res.failed).toEqual([]);
    const ids = res.succeeded.map((r) => r.id);
    // Created by the lost attempt, reported as updated by the resend: Airtable cannot tell.
    expect(res.createdRecordIds).toEqual([]);
    expect(res.updatedRecordIds.sort()).toEqual([...ids].sort());
    expect(res.possiblyCreatedRecordIds.sort()).toEqual([...ids].sort());
  });
});

describe('path injection', () => {
  it('rejects crafted ids with invalid_argument and sends nothing', async () => {
    const before = requests();
    for (const id of ['recX/../../meta', '../meta/bases', 'rec%2F..', `recAAAAAAAAAAAAAA/comments`]) {
      expect((await failure(client.getRecord(DEMO, 'Tasks', id))).kind).toBe('invalid_argument');
      expect((await failure(client.updateRecord(DEMO, 'Tasks', id, { Title: 'x' }))).kind).toBe(
        'invalid_argument',
      );
      expect((await failure(client.deleteRecord(DEMO, 'Tasks', id))).kind).toBe('invalid_argument');
      expect((await failure(client.createComment(DEMO, 'Tasks', id, 'hi'))).kind).toBe('invalid_argument');
      expect((await failure(client.getBaseSchema(id))).kind).toBe('invalid_argument');
      expect((await failure(client.listRecordsPage(id, 'Tasks'))).kind).toBe('invalid_argument');
      const del = await client.deleteRecords(DEMO, 'Tasks', [id]);
      expect(del.failed[0]!.error.kind).toBe('invalid_argument');
    }
    expect((await failure(client.listRecordsPage(DEMO, '..'))).kind).toBe('invalid_argument');
    expect(requests()).toBe(before);
  });

  it('a table name that looks like a path stays one segment', async () => {
    const err = await failure(client.listRecordsPage(DEMO, '../meta/bases'));
    expect(err.kind).toBe('forbidden_or_not_found');
    expect(err.path).toBe(`/v0/${DEMO}/..%2Fmeta%2Fbases`);
  });
});

describe('comments', () => {
  it('creates, lists newest first, replies, updates and deletes', async () => {
    const [task] = (await client.listRecordsPage(DEMO, 'Tasks', { pageSize: 1 })).records;
    const first = await client.createComment(DEMO, 'Tasks', task!.id, 'First!');
    expect(first).toMatchObject({ text: 'First!', lastUpdatedTime: null });
    expect(first.id).toMatch(/^com/);
    const reply = await client.createComment(DEMO, 'Tasks', task!.id, 'A reply', {
      parentCommentId: first.id,
    });
    expect(reply.parentCommentId).toBe(first.id);
    const listed = await client.listComments(DEMO, 'Tasks', task!.id);
    expect(listed.comments.slice(0, 2).map((c) => c.id)).toEqual([reply.id, first.id]);
    expect(listed.offset).toBeNull();
    const paged = await client.listComments(DEMO, 'Tasks', task!.id, { pageSize: 1 });
    expect(paged.comments).toHaveLength(1);
    expect(paged.offset).toEqual(expect.any(String));
    const next = await client.listComments(DEMO, 'Tasks', task!.id, { pageSize: 1, offset: paged.offset! });
    expect(next.comments[0]!.id).not.toBe(paged.comments[0]!.id);
    const edited = await client.updateComment(DEMO, 'Tasks', task!.id, first.id, 'First (edited)');
    expect(edited).toMatchObject({ id: first.id, text: 'First (edited)' });
    expect(edited.lastUpdatedTime).toEqual(expect.any(String));
    expect(await client.deleteComment(DEMO, 'Tasks', task!.id, reply.id)).toEqual({
      id: reply.id,
      deleted: true,
    });
    const after = await client.listComments(DEMO, 'Tasks', task!.id);
    expect(after.comments.map((c) => c.id)).not.toContain(reply.id);
  });
});
