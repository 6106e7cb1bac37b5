/**
 * Record tools (get, search, create, update, delete and the batch tools),
 * through a real MCP client and server against the sandbox over HTTP.
 */
import type { CallToolResult, Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AirtableRecord } from '../src/airtable/types.js';
import { DEMO_BASE, type Harness, startHarness, textOf } from './helpers/harness.js';

type Obj = Record<string, unknown>;
type Rec = { id: string; createdTime: string; fields: Obj };
type Item = { index: number; id: string; action?: string; fields?: Obj };
type Failure = { index: number; id?: string; error: string };
type Batch = { records: Item[]; failures: Failure[]; failed: number; requests: number; truncated: boolean };
type Search = {
  records: Rec[];
  count: number;
  searched_fields: string[];
  offset?: string;
  truncated: boolean;
};

/** Runs `fn` and reports how many HTTP requests reached the sandbox meanwhile. */
async function requestsDuring(h: Harness, fn: () => Promise<unknown>): Promise<number> {
  const before = h.sandbox.stats().totals.requests;
  await fn();
  return h.sandbox.stats().totals.requests - before;
}

/** Every record of a table, straight from the client (the oracle for what tools report). */
async function allRecords(h: Harness, table: string): Promise<AirtableRecord[]> {
  const page = await h.airtable.listRecords(DEMO_BASE, table, { maxRecords: 100_000 });
  return page.records;
}

let seq = 0;
/** A marker unique to this run and call, so tests never see each other's records. */
function marker(prefix: string): string {
  seq += 1;
  return `${prefix}${Date.now().toString(36)}x${seq}`;
}

const MALFORMED_IDS = ['recX/../../meta', '../meta', 'rec123', 'recAAAAAAAAAAAAAA?x=1'];

describe('record tools', () => {
  let h: Harness;
  let someTask: AirtableRecord;
  beforeAll(async () => {
    h = await startHarness();
    someTask = (await allRecords(h, 'Tasks')).find((r) => typeof r.fields.Title === 'string')!;
  });
  afterAll(async () => {
    await h?.close();
  });

  it('annotates every record tool by kind', async () => {
    const { tools } = await h.client.listTools();
    const hints = (name: string) => {
      const a = tools.find((t) => t.name === name)?.annotations;
      return [a?.readOnlyHint, a?.destructiveHint, a?.idempotentHint];
    };
    expect(hints('get_record')).toEqual([true, false, true]);
    expect(hints('search_records')).toEqual([true, false, true]);
    expect(hints('create_record')).toEqual([false, false, false]);
    expect(hints('update_record')).toEqual([false, true, true]);
    expect(hints('delete_record')).toEqual([false, true, true]);
    expect(hints('batch_create_records')).toEqual([false, false, false]);
    expect(hints('batch_update_records')).toEqual([false, false, true]);
    expect(hints('upsert_records')).toEqual([false, true, true]);
    expect(hints('delete_records')).toEqual([false, true, true]);
  });

  describe('get_record', () => {
    it('returns one record, compactly', async () => {
      const out = await h.ok<{ record: Rec }>('get_record', { table_id: 'Tasks', record_id: someTask.id });
      expect(out.record.id).toBe(someTask.id);
      expect(out.record.fields.Title).toBe(someTask.fields.Title);
      const text = textOf(await h.call('get_record', { table_id: 'Tasks', record_id: someTask.id }));
      expect(text.startsWith(`${someTask.id} {"`)).toBe(true);
      expect(text).not.toContain('\n');
    });

    it('projects to the named fields (names case-insensitively, or ids)', async () => {
      const out = await h.ok<{ record: Rec }>('get_record', {
        table_id: 'tasks',
        record_id: someTask.id,
        fields: ['title', 'Status'],
      });
      expect(Object.keys(out.record.fields).every((k) => k === 'Title' || k === 'Status')).toBe(true);
      expect(out.record.fields.Title).toBe(someTask.fields.Title);
      const bare = await h.ok<{ record: Rec }>('get_record', { table_id: 'tasks', record_id: someTask.id });
      expect(bare.record.fields.Title).toBe(someTask.fields.Title);
    });

    it('reports unknown tables, fields and records', async () => {
      expect(await h.fails('get_record', { table_id: 'Nope', record_id: someTask.id })).toMatch(
        /No table "Nope".*Projects.*Tasks.*People/,
      );
      expect(
        await h.fails('get_record', { table_id: 'Tasks', record_id: someTask.id, fields: ['Titel'] }),
      ).toMatch(/Unknown field.*"Titel".*Fields: Title/);
      expect(await h.fails('get_record', { table_id: 'Tasks', record_id: 'recAAAAAAAAAAAAAA' })).toMatch(
        /not|exist/i,
      );
      expect(await h.fails('get_record', { table_id: 'Tasks' })).toMatch(/record_id/);
      expect(await h.fails('get_record', { table_id: 'Tasks', record_id: 42 })).toMatch(/record_id/);
    });

    it('rejects malformed record ids without sending a request', async () => {
      for (const id of MALFORMED_IDS) {
        let message = '';
        const sent = await requestsDuring(h, async () => {
          message = await h.fails('get_record', { table_id: 'Tasks', record_id: id });
        });
        expect(message).toMatch(/recXXXXXXXXXXXXXX/);
        expect(sent).toBe(0);
      }
    });

    it('keeps a path-like table name inside its own URL segment', async () => {
      const message = await h.fails('get_record', { table_id: '../meta', record_id: someTask.id });
      expect(message).toMatch(/No table "\.\.\/meta"/);
    });
  });

  describe('search_records', () => {
    let plainId: string;
    const word = marker('Quokka');
    beforeAll(async () => {
      const project = await h.airtable.createRecord(DEMO_BASE, 'Projects', { Name: `${word} Initiative` });
      const task = await h.airtable.createRecord(DEMO_BASE, 'Tasks', {
        Title: 'Plain title',
        Project: [project.id],
      });
      plainId = task.id;
      await h.airtable.createRecord(DEMO_BASE, 'Tasks', { Title: `Mixed ${word.toUpperCase()} case` });
    });

    it('is case-insensitive and reports the fields searched', async () => {
      const out = await h.ok<Search>('search_records', { table_id: 'Tasks', query: word.toLowerCase() });
      const titles = out.records.map((r) => r.fields.Title);
      expect(titles).toContain(`Mixed ${word.toUpperCase()} case`);
      expect(out.searched_fields).toEqual(
        expect.arrayContaining(['Title', 'Notes', 'Status', 'Labels', 'Project']),
      );
      expect(out.searched_fields).not.toContain('Estimate Hours');
    });

    it('searches linked records by their display names when no fields are given', async () => {
      const out = await h.ok<Search>('search_records', { table_id: 'Tasks', query: `${word} initiative` });
      expect(out.records.map((r) => r.id)).toContain(plainId);
      const onlyTitle = await h.ok<Search>('search_records', {
        table_id: 'Tasks',
        query: `${word} initiative`,
        fields: ['Title'],
      });
      expect(onlyTitle.records.map((r) => r.id)).not.toContain(plainId);
      expect(onlyTitle.searched_fields).toEqual(['Title']);
    });

    it('pages with max_records and offset', async () => {
      const first = await h.ok<Search>('search_records', { table_id: 'Tasks', query: 'e', max_records: 3 });
      expect(first.count).toBe(3);
      expect(first.truncated).toBe(true);
      const next = await h.ok<Search>('search_records', {
        table_id: 'Tasks',
        query: 'e',
        max_records: 3,
        offset: first.offset,
      });
      expect(next.records.map((r) => r.id)).not.toContain(first.records[0]!.id);
    });

    const PAYLOADS = [
      "') , TRUE(), ('",
      '" & "',
      '\\',
      '\\\\',
      '\\"',
      '\\\\"',
      '}{fldX}',
      'x") > 0, TRUE()) //',
      "x') > 0, TRUE()) //",
      '"',
      "'",
    ];

    it('cannot be injected: returns exactly the records containing the query', async () => {
      const created = new Map<string, string>();
      for (const payload of PAYLOADS) {
        const rec = await h.airtable.createRecord(DEMO_BASE, 'Tasks', {
          Title: 'inj',
          Notes: `pre${payload}post`,
        });
        created.set(payload, rec.id);
      }
      const tasks = await allRecords(h, 'Tasks');
      for (const payload of PAYLOADS) {
        const contains = (r: AirtableRecord) =>
          [r.fields.Title, r.fields.Notes].some(
            (v) => typeof v === 'string' && v.toLowerCase().includes(payload.toLowerCase()),
          );
        const expected = tasks.filter(contains).map((r) => r.id);
        const out = await h.ok<Search>('search_records', {
          table_id: 'Tasks',
          query: payload,
          fields: ['Title', 'Notes'],
          max_records: 1000,
        });
        expect(out.records.map((r) => r.id).sort(), payload).toEqual(expected.sort());
        expect(
          out.records.map((r) => r.id),
          payload,
        ).toContain(created.get(payload));
        // Searching every text field must not leak the whole table either.
        const wide = await h.ok<Search>('search_records', {
          table_id: 'Tasks',
          query: payload,
          max_records: 1000,
        });
        expect(
          wide.records.map((r) => r.id),
          payload,
        ).toContain(created.get(payload));
        expect(wide.count, payload).toBeLessThan(tasks.length / 2);
      }
    });

    it('rejects bad input', async () => {
      expect(await h.fails('search_records', { table_id: 'Tasks', query: '   ' })).toMatch(/query is empty/);
      expect(await h.fails('search_records', { table_id: 'Tasks', query: '' })).toMatch(/query/);
      expect(await h.fails('search_records', { table_id: 'Tasks', query: 'x'.repeat(1001) })).toMatch(
        /query/,
      );
      expect(await h.fails('search_records', { table_id: 'Tasks' })).toMatch(/query/);
      expect(await h.fails('search_records', { table_id: 'Tasks', query: 'a', max_records: 0 })).toMatch(
        /max_records/,
      );
      expect(await h.fails('search_records', { table_id: 'Nope', query: 'a' })).toMatch(
        /No table "Nope".*Tasks/,
      );
      expect(await h.fails('search_records', { table_id: 'Tasks', query: 'a', fields: ['Nope'] })).toMatch(
        /Unknown field.*"Nope"/,
      );
      expect(
        await h.fails('search_records', { table_id: 'Tasks', query: 'a', offset: 'not a token!' }),
      ).toMatch(/continuation token/);
    });
  });

  describe('create_record, update_record, delete_record', () => {
    it('creates, updates (merge and replace) and deletes a record', async () => {
      const title = marker('Crud');
      const created = await h.ok<{ record: Rec }>('create_record', {
        table_id: 'Tasks',
        fields: { title, status: 'Todo', Notes: 'keep me' },
      });
      expect(created.record.id).toMatch(/^rec/);
      expect(created.record.fields).toMatchObject({ Title: title, Status: 'Todo', Notes: 'keep me' });
      const id = created.record.id;

      const merged = await h.ok<{ record: Rec }>('update_record', {
        table_id: 'Tasks',
        record_id: id,
        fields: { Status: 'Done' },
      });
      expect(merged.record.fields).toMatchObject({ Title: title, Status: 'Done', Notes: 'keep me' });

      const replaced = await h.ok<{ record: Rec }>('update_record', {
        table_id: 'Tasks',
        record_id: id,
        fields: { Title: title },
        replace: true,
      });
      expect(replaced.record.fields.Title).toBe(title);
      expect(replaced.record.fields.Notes).toBeUndefined();

      expect(await h.ok('delete_record', { table_id: 'Tasks', record_id: id })).toEqual({
        deleted: true,
        id,
      });
      expect(await h.fails('get_record', { table_id: 'Tasks', record_id: id })).toBeTruthy();
      expect(await h.fails('delete_record', { table_id: 'Tasks', record_id: id })).toBeTruthy();
    });

    it('accepts a {fields: {...}} wrapper and typecast', async () => {
      const title = marker('Wrapped');
      const out = await h.ok<{ record: Rec }>('create_record', {
        table_id: 'Tasks',
        fields: { fields: { Title: title, 'Estimate Hours': '2.5' } },
        typecast: true,
      });
      expect(out.record.fields).toMatchObject({ Title: title, 'Estimate Hours': 2.5 });
    });

    it('reports invalid input as errors', async () => {
      expect(await h.fails('create_record', { table_id: 'Tasks' })).toMatch(/fields/);
      expect(await h.fails('create_record', { table_id: 'Tasks', fields: {} })).toMatch(/at least one field/);
      expect(await h.fails('create_record', { table_id: 'Tasks', fields: 'Title=x' })).toMatch(/fields/);
      expect(await h.fails('create_record', { table_id: 'Nope', fields: { Title: 'x' } })).toMatch(
        /No table "Nope".*Tasks/,
      );
      expect(await h.fails('create_record', { table_id: 'Tasks', fields: { Titel: 'x' } })).toMatch(
        /Unknown field.*"Titel"/,
      );
      expect(await h.fails('create_record', { table_id: 'Tasks', fields: { 'Task ID': 5 } })).toMatch(
        /Computed fields cannot be written: "Task ID"/,
      );
      expect(await h.fails('create_record', { table_id: 'Tasks', fields: { Status: 'Nope' } })).toMatch(
        /select option|INVALID_MULTIPLE_CHOICE/i,
      );
      expect(
        await h.fails('update_record', { table_id: 'Tasks', record_id: someTask.id, fields: { Nope: 1 } }),
      ).toMatch(/Unknown field.*"Nope"/);
      expect(
        await h.fails('update_record', {
          table_id: 'Tasks',
          record_id: 'recAAAAAAAAAAAAAA',
          fields: { Title: 'x' },
        }),
      ).toBeTruthy();
      expect(await h.fails('delete_record', { table_id: 'Nope', record_id: someTask.id })).toMatch(
        /No table "Nope"/,
      );
    });

    it('rejects malformed record ids without sending a request', async () => {
      for (const id of MALFORMED_IDS) {
        const sent = await requestsDuring(h, async () => {
          await h.fails('update_record', { table_id: 'Tasks', record_id: id, fields: { Title: 'x' } });
          await h.fails('delete_record', { table_id: 'Tasks', record_id: id });
        });
        expect(sent).toBe(0);
      }
    });
  });

  describe('batch tools', () => {
    it('batch_create_records creates 25 records in 3 requests, in order', async () => {
      const prefix = marker('Batch');
      const records = Array.from({ length: 25 }, (_, i) =>
        i % 2 ? { Title: `${prefix}-${i}` } : { fields: { Title: `${prefix}-${i}` } },
      );
      const sent = await requestsDuring(h, async () => {
        const out = await h.ok<Batch & { created: number }>('batch_create_records', {
          table_id: 'Tasks',
          records,
        });
        expect(out.created).toBe(25);
        expect(out.failed).toBe(0);
        expect(out.requests).toBe(3);
        expect(out.records.map((r) => r.index)).toEqual(records.map((_, i) => i));
        expect(out.records.map((r) => r.fields?.Title)).toEqual(records.map((_, i) => `${prefix}-${i}`));
      });
      expect(sent).toBeLessThanOrEqual(4); // 3 writes, maybe a schema read
      const result = await h.call('batch_create_records', {
        table_id: 'Tasks',
        records: [{ Title: `${prefix}-x` }],
      });
      expect(textOf(result)).toMatch(
        /^1 created, 0 failed \(1 request\)\.\nCreated \(1\):\n#0 rec\w{14} \{"Title"/,
      );
    });

    it('one bad record among 25 fails alone, reported by index', async () => {
      const prefix = marker('Partial');
      const records: Obj[] = Array.from({ length: 25 }, (_, i) => ({ Title: `${prefix}-${i}` }));
      records[13] = { Title: `${prefix}-13`, Status: 'No such status' };
      const result = await h.call('batch_create_records', { table_id: 'Tasks', records });
      expect(result.isError).toBeFalsy();
      const out = result.structuredContent as Batch & { created: number };
      expect(out.created).toBe(24);
      expect(out.failed).toBe(1);
      expect(out.failures).toHaveLength(1);
      expect(out.failures[0]!.index).toBe(13);
      expect(out.failures[0]!.error).toMatch(/No such status|select/i);
      expect(out.records.map((r) => r.index)).toEqual([...Array(25).keys()].filter((i) => i !== 13));
      const text = textOf(result);
      expect(text).toMatch(/^24 created, 1 failed/);
      expect(text.indexOf('Failed')).toBeLessThan(text.indexOf('Created'));
      const stored = (await allRecords(h, 'Tasks')).filter((r) =>
        String(r.fields.Title ?? '').startsWith(`${prefix}-`),
      );
      expect(stored).toHaveLength(24);
    });

    it('is an error when nothing was created, and stops after a failed first chunk', async () => {
      const records = Array.from({ length: 30 }, () => ({ Status: 'No such status' }));
      let message = '';
      const sent = await requestsDuring(h, async () => {
        message = await h.fails('batch_create_records', { table_id: 'Tasks', records });
      });
      expect(message).toMatch(/^0 created, 10 failed, 20 not sent/);
      expect(message).toMatch(/\n#0-#9 INVALID_MULTIPLE_CHOICE_OPTIONS: /);
      expect(sent).toBeLessThanOrEqual(12); // one chunk, then its 10 records one by one (+ schema)
    });

    it('rejects invalid batch input before writing', async () => {
      const sent = await requestsDuring(h, async () => {
        expect(await h.fails('batch_create_records', { table_id: 'Tasks', records: [] })).toMatch(
          /at least one/,
        );
        expect(await h.fails('batch_create_records', { table_id: 'Tasks', records: 'x' })).toMatch(/records/);
        expect(await h.fails('batch_create_records', { table_id: 'Tasks', records: [1, 2] })).toMatch(
          /records/,
        );
      });
      expect(sent).toBe(0);
      expect(
        await h.fails('batch_create_records', {
          table_id: 'Tasks',
          records: [{ Title: 'a' }, { Titel: 'b' }],
        }),
      ).toMatch(/Unknown field.*"Titel"/);
      expect(await h.fails('batch_create_records', { table_id: 'Nope', records: [{ Title: 'a' }] })).toMatch(
        /No table "Nope".*Tasks/,
      );
    });

    it('reports progress when a progressToken is sent', async () => {
      const prefix = marker('Progress');
      const events: Progress[] = [];
      const records = Array.from({ length: 25 }, (_, i) => ({ Title: `${prefix}-${i}` }));
      const result = (await h.client.callTool(
        { name: 'batch_create_records', arguments: { table_id: 'Tasks', records } },
        undefined,
        { onprogress: (p) => events.push(p) },
      )) as CallToolResult;
      expect(result.isError).toBeFalsy();
      expect(events.map((e) => e.progress)).toEqual([10, 20, 25]);
      expect(events.every((e) => e.total === 25)).toBe(true);
    });

    it('batch_update_records updates with batched PATCHes', async () => {
      const prefix = marker('Upd');
      const created = await h.airtable.createRecords(
        DEMO_BASE,
        'Tasks',
        Array.from({ length: 12 }, (_, i) => ({ Title: `${prefix}-${i}`, Notes: 'stays' })),
      );
      const ids = created.succeeded.map((r) => r.id);
      const records = ids.map((id, i) => ({ id, fields: { Status: i % 2 ? 'Done' : 'Blocked' } }));
      records[5] = { id: 'recAAAAAAAAAAAAAA', fields: { Status: 'Done' } };
      const out = await h.ok<Batch & { updated: number }>('batch_update_records', {
        table_id: 'Tasks',
        records,
      });
      expect(out.updated).toBe(11);
      expect(out.failures.map((f) => f.index)).toEqual([5]);
      expect(out.requests).toBeLessThanOrEqual(2 + 10); // 2 chunks, the bad one retried record by record
      const stored = await h.ok<{ record: Rec }>('get_record', { table_id: 'Tasks', record_id: ids[3] });
      expect(stored.record.fields).toMatchObject({ Status: 'Done', Notes: 'stays', Title: `${prefix}-3` });
    });

    it('batch_update_records rejects malformed ids by index, writing nothing', async () => {
      for (const bad of MALFORMED_IDS) {
        let message = '';
        const records = [
          { id: someTask.id, fields: { Notes: 'never written' } },
          { id: bad, fields: { Notes: 'x' } },
        ];
        const sent = await requestsDuring(h, async () => {
          message = await h.fails('batch_update_records', { table_id: 'Tasks', records });
        });
        expect(message).toMatch(/records\[1\]\.id/);
        expect(sent).toBe(0);
      }
      expect(
        await h.fails('batch_update_records', { table_id: 'Tasks', records: [{ id: someTask.id }] }),
      ).toMatch(/fields/);
    });

    it('upsert_records creates and updates', async () => {
      const email = (i: number) => `${marker('u').toLowerCase()}-${i}@example.com`;
      const existing = await h.airtable.createRecord(DEMO_BASE, 'People', {
        Name: 'Old name',
        Email: email(0),
      });
      const out = await h.ok<Batch & { created: number; updated: number }>('upsert_records', {
        table_id: 'People',
        fields_to_merge_on: ['email'],
        records: [
          { fields: { Email: existing.fields.Email, Name: 'New name' } },
          { fields: { Email: email(1), Name: 'Brand new' } },
          { id: existing.id, fields: { Role: 'Engineering' } },
        ],
        typecast: true,
      });
      expect(out.created).toBe(1);
      expect(out.updated).toBe(2);
      expect(out.records.map((r) => [r.index, r.action])).toEqual([
        [0, 'updated'],
        [1, 'created'],
        [2, 'updated'],
      ]);
      expect(out.records[0]!.id).toBe(existing.id);
      const stored = await h.ok<{ record: Rec }>('get_record', {
        table_id: 'People',
        record_id: existing.id,
      });
      expect(stored.record.fields.Name).toBe('New name');
    });

    it('upsert_records rejects bad merge fields and records lacking them', async () => {
      const base = { table_id: 'People', records: [{ fields: { Name: 'x' } }] };
      expect(await h.fails('upsert_records', { ...base, fields_to_merge_on: [] })).toMatch(
        /fields_to_merge_on/,
      );
      expect(await h.fails('upsert_records', { ...base, fields_to_merge_on: ['a', 'b', 'c', 'd'] })).toMatch(
        /fields_to_merge_on/,
      );
      expect(await h.fails('upsert_records', { ...base, fields_to_merge_on: ['Nope'] })).toMatch(
        /Unknown field.*"Nope"/,
      );
      expect(await h.fails('upsert_records', { ...base, fields_to_merge_on: ['Email'] })).toMatch(
        /missing in records\[0\]/,
      );
      expect(
        await h.fails('upsert_records', {
          ...base,
          fields_to_merge_on: ['Name'],
          records: [{ id: '../meta', fields: { Name: 'x' } }],
        }),
      ).toMatch(/records\[0\]\.id/);
    });

    it('delete_records deletes 25 records', async () => {
      const prefix = marker('Del');
      const created = await h.airtable.createRecords(
        DEMO_BASE,
        'Tasks',
        Array.from({ length: 25 }, (_, i) => ({ Title: `${prefix}-${i}` })),
      );
      const ids = created.succeeded.map((r) => r.id);
      const out = await h.ok<Batch & { deleted: number }>('delete_records', {
        table_id: 'Tasks',
        record_ids: ids,
      });
      expect(out.deleted).toBe(25);
      expect(out.requests).toBe(3);
      expect(out.records.map((r) => r.id)).toEqual(ids);
      const left = (await allRecords(h, 'Tasks')).filter((r) => ids.includes(r.id));
      expect(left).toHaveLength(0);
    });

    it('delete_records rejects malformed and duplicate ids without a request', async () => {
      for (const bad of MALFORMED_IDS) {
        const sent = await requestsDuring(h, async () => {
          const message = await h.fails('delete_records', {
            table_id: 'Tasks',
            record_ids: [someTask.id, bad],
          });
          expect(message).toMatch(/record_ids\[1\]/);
        });
        expect(sent).toBe(0);
      }
      expect(
        await h.fails('delete_records', { table_id: 'Tasks', record_ids: [someTask.id, someTask.id] }),
      ).toMatch(/Duplicate/);
      expect(await h.fails('delete_records', { table_id: 'Tasks', record_ids: [] })).toMatch(/at least one/);
    });
  });
});

describe('batch output budget', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ server: { maxResponseTokens: 500 } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('shrinks written records to ids, then to the first N, within the budget', async () => {
    const records = Array.from({ length: 60 }, (_, i) => ({ Title: `Budget ${i}`, Notes: 'n'.repeat(200) }));
    const result = await h.call('batch_create_records', { table_id: 'Tasks', records });
    expect(result.isError).toBeFalsy();
    const out = result.structuredContent as Batch & { created: number };
    expect(out.created).toBe(60);
    expect(out.truncated).toBe(true);
    expect(out.records.length).toBeLessThan(60);
    expect(out.records.every((r) => r.fields === undefined)).toBe(true);
    expect(JSON.stringify(out).length).toBeLessThanOrEqual(2000);
    expect(textOf(result).length).toBeLessThanOrEqual(2000);
    expect(textOf(result)).toMatch(/Created \(first \d+ of 60 shown; ids only/);
  });
});

describe('batch create under Airtable rate limits', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      sandbox: { rateLimit: { perBasePerSec: 5, perTokenPerSec: 50, penaltyMs: 30_000 } },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('creates 1,000 records exactly once without a 429', { timeout: 90_000 }, async () => {
    const before = (await allRecords(h, 'Tasks')).length;
    const prefix = marker('Bulk');
    const records = Array.from({ length: 1000 }, (_, i) => ({ Title: `${prefix}-${i}` }));
    const out = await h.ok<Batch & { created: number }>('batch_create_records', {
      table_id: 'Tasks',
      records,
    });
    expect(out.created).toBe(1000);
    expect(out.failed).toBe(0);
    expect(JSON.stringify(out).length).toBeLessThanOrEqual(80_000);
    const after = await allRecords(h, 'Tasks');
    expect(after.length).toBe(before + 1000);
    const titles = after.map((r) => String(r.fields.Title)).filter((t) => t.startsWith(`${prefix}-`));
    expect(new Set(titles).size).toBe(1000);
    expect(titles).toHaveLength(1000);
    const stats = h.sandbox.stats();
    expect(stats.totals.rateLimited).toBe(0);
    expect(stats.bases[DEMO_BASE]!.maxPerSecond).toBeLessThanOrEqual(5);
  });
});
