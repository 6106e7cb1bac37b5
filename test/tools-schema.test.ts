/**
 * Schema, schema-editing and comment tools, through a real MCP client and
 * server against the sandbox over HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARCHIVE_BASE, DEMO_BASE, type Harness, startHarness } from './helpers/harness.js';

type Obj = Record<string, unknown>;
type TableEntry = { id: string; name: string; primary_field?: string; field_count?: number; fields?: Obj[] };
type FieldEntry = { id: string; name: string; type: string; is_primary: boolean; options?: Obj };

/** Runs `fn` and reports how many HTTP requests reached the sandbox meanwhile. */
async function requestsDuring(h: Harness, fn: () => Promise<unknown>): Promise<number> {
  const before = h.sandbox.stats().totals.requests;
  await fn();
  return h.sandbox.stats().totals.requests - before;
}

describe('schema tools (read)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('annotates every tool by kind', async () => {
    const { tools } = await h.client.listTools();
    const hints = (name: string) => {
      const a = tools.find((t) => t.name === name)?.annotations;
      return [a?.readOnlyHint, a?.destructiveHint, a?.idempotentHint];
    };
    expect(hints('list_tables')).toEqual([true, false, true]);
    expect(hints('get_field_info')).toEqual([true, false, true]);
    expect(hints('list_comments')).toEqual([true, false, true]);
    expect(hints('create_metadata_table')).toEqual([false, false, true]);
    expect(hints('create_table')).toEqual([false, false, false]);
    expect(hints('create_field')).toEqual([false, false, false]);
    expect(hints('update_table')).toEqual([false, false, true]);
    expect(hints('update_field')).toEqual([false, false, true]);
    expect(hints('create_comment')).toEqual([false, false, false]);
  });

  it('list_tables summarises every table by default', async () => {
    const out = await h.ok<{
      base_id: string;
      table_count: number;
      tables: TableEntry[];
      truncated: boolean;
    }>('list_tables', {});
    expect(out.base_id).toBe(DEMO_BASE);
    expect(out.table_count).toBe(3);
    expect(out.truncated).toBe(false);
    const projects = out.tables.find((t) => t.name === 'Projects');
    expect(projects).toMatchObject({ primary_field: 'Name', field_count: 16, view_count: 2 });
    expect(projects?.id).toMatch(/^tbl/);
    expect(projects?.fields).toBeUndefined();
    const result = await h.call('list_tables', {});
    const text = (result.content[0] as { text: string }).text;
    expect(text).toMatch(/^3 tables in appSandboxDemo001:/);
    expect(text).toMatch(/Projects — 16 fields, 2 views, primary "Name"/);
    expect(text).not.toMatch(/\n\s+"/); // compact, not pretty JSON
  });

  it('list_tables detail="names" and detail="fields"', async () => {
    const names = await h.ok<{ tables: TableEntry[] }>('list_tables', { detail: 'names' });
    expect(names.tables.map((t) => t.name)).toEqual(['Projects', 'Tasks', 'People']);
    expect(Object.keys(names.tables[0]!).sort()).toEqual(['id', 'name']);
    const fields = await h.ok<{ tables: TableEntry[] }>('list_tables', { detail: 'fields' });
    const projects = fields.tables.find((t) => t.name === 'Projects');
    expect(projects?.fields).toHaveLength(16);
    expect(projects?.fields).toContainEqual({ name: 'Status', type: 'singleSelect' });
  });

  it('rejects a malformed base id without sending a request', async () => {
    let message = '';
    const sent = await requestsDuring(h, async () => {
      message = await h.fails('list_tables', { base_id: 'app/../meta' });
    });
    expect(message).toMatch(/not a base id/);
    expect(sent).toBe(0);
    expect(await h.fails('get_field_info', { base_id: 'app/../meta', table_id: 'Projects' })).toMatch(
      /not a base id/,
    );
  });

  it('get_field_info shows choices, the primary field, links, formulas and counts', async () => {
    const out = await h.ok<{
      table_name: string;
      primary_field_id: string;
      fields: FieldEntry[];
      counts_by_type: Record<string, number>;
    }>('get_field_info', { table_id: 'projects' });
    expect(out.table_name).toBe('Projects');
    const byName = Object.fromEntries(out.fields.map((f) => [f.name, f]));
    expect(byName.Name?.is_primary).toBe(true);
    expect(byName.Name?.id).toBe(out.primary_field_id);
    expect(out.fields.filter((f) => f.is_primary)).toHaveLength(1);
    expect(byName.Status?.options?.choices).toEqual(['Planning', 'Active', 'On Hold', 'Done']);
    expect(byName.Tags?.options?.choices).toContain('R&D');
    expect(byName.Owner?.options).toMatchObject({ linked_table: 'People', inverse_field: 'Projects Led' });
    expect(byName.Owner?.options?.linked_table_id).toMatch(/^tbl/);
    expect(byName.Tasks?.options).toMatchObject({ linked_table: 'Tasks', inverse_field: 'Project' });
    expect(byName.Summary?.options?.formula).toBe('{Status} & " — " & {Priority}');
    expect(byName['Task Count']?.options).toMatchObject({ via_link_field: 'Tasks' });
    expect(byName.Budget?.options).toEqual({ precision: 2, symbol: '$' });
    expect(byName['Start Date']?.options).toEqual({ date_format: 'YYYY-MM-DD' });
    expect(out.counts_by_type).toMatchObject({ singleSelect: 2, multipleRecordLinks: 2, formula: 1 });
    const text = (await h.call('get_field_info', { table_id: 'Projects' })).content[0] as { text: string };
    expect(text.text).toMatch(/Name singleLineText \[primary\]/);
    expect(text.text).toMatch(/formula={Status} & " — " & {Priority}/);
  });

  it('get_field_info can describe just some fields', async () => {
    const out = await h.ok<{ field_count: number; fields: FieldEntry[] }>('get_field_info', {
      table_id: 'Tasks',
      fields: ['status', 'Due'],
    });
    expect(out.field_count).toBe(12);
    expect(out.fields.map((f) => f.name)).toEqual(['Status', 'Due']);
    expect(await h.fails('get_field_info', { table_id: 'Tasks', fields: ['Nope'] })).toMatch(
      /Unknown field.*"Nope"/,
    );
  });

  it('get_field_info on an unknown table lists the tables', async () => {
    const message = await h.fails('get_field_info', { table_id: 'Projets' });
    expect(message).toMatch(/No table "Projets"/);
    expect(message).toMatch(/Projects \(tbl\w+\), Tasks \(tbl\w+\), People/);
  });
});

describe('a tiny response budget', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ server: { maxResponseTokens: 1000 } });
    for (let i = 1; i <= 12; i++) {
      const fields = Array.from({ length: 12 }, (_, j) => ({
        name: `Measurement number ${j + 1}`,
        type: 'number',
      }));
      await h.airtable.createTable(DEMO_BASE, {
        name: `Extra table ${i}`,
        fields: [
          { name: 'Name', type: 'singleLineText' },
          ...fields.map((f) => ({ ...f, options: { precision: 0 } })),
        ],
      });
    }
    const wide = Array.from({ length: 40 }, (_, j) => ({
      name: `Wide field ${j + 1}`,
      type: 'singleLineText',
      description: `Column ${j + 1} of a deliberately wide table, with a description long enough to matter.`,
    }));
    await h.airtable.createTable(DEMO_BASE, { name: 'Wide', fields: wide });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('get_field_info cuts the fields and names the next ones to ask for', async () => {
    const result = await h.call('get_field_info', { table_id: 'Wide' });
    const out = result.structuredContent as { field_count: number; fields: FieldEntry[]; truncated: boolean };
    expect(out.truncated).toBe(true);
    expect(out.field_count).toBe(40);
    const shown = out.fields.length;
    expect(shown).toBeLessThan(40);
    const text = (result.content[0] as { text: string }).text;
    expect(text.length).toBeLessThanOrEqual(4000);
    const next = JSON.parse(/continue with fields=(\[.*?\])/.exec(text)![1]!) as string[];
    expect(next[0]).toBe(`Wide field ${shown + 1}`);
    const rest = await h.ok<{ fields: FieldEntry[] }>('get_field_info', { table_id: 'Wide', fields: next });
    // The continuation may itself be cut; it starts where the first answer stopped.
    expect(rest.fields[0]?.name).toBe(next[0]);
    expect(next.slice(0, rest.fields.length)).toEqual(rest.fields.map((f) => f.name));
  });

  it('list_tables cuts the list and says how to get the rest', async () => {
    const result = await h.call('list_tables', { detail: 'fields' });
    const out = result.structuredContent as { table_count: number; tables: TableEntry[]; truncated: boolean };
    expect(out.truncated).toBe(true);
    expect(out.table_count).toBe(16);
    expect(out.tables.length).toBeGreaterThan(0);
    expect(out.tables.length).toBeLessThan(16);
    const text = (result.content[0] as { text: string }).text;
    expect(text).toMatch(/first \d+ shown/);
    expect(text).toMatch(/get_field_info/);
    expect(text.length).toBeLessThanOrEqual(4000);
    const names = await h.ok<{ tables: TableEntry[]; truncated: boolean }>('list_tables', {
      detail: 'names',
    });
    expect(names.truncated).toBe(false);
    expect(names.tables).toHaveLength(16);
  });
});

describe('schema_edit tools', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  const vendorFields = [
    { name: 'Name', type: 'singleLineText', description: 'Vendor name' },
    { name: 'Tier', type: 'singleSelect', options: { choices: [{ name: 'Gold' }, { name: 'Silver' }] } },
    { name: 'Spend', type: 'currency', options: { precision: 2, symbol: '€' } },
  ];

  it('create_table creates a table and the next listing shows it', async () => {
    await h.ok('list_tables', {}); // warm the schema cache: creating must invalidate it
    const out = await h.ok<{ id: string; name: string; primary_field: string; fields: Obj[] }>(
      'create_table',
      {
        name: 'Vendors',
        description: 'Suppliers we pay',
        fields: vendorFields,
      },
    );
    expect(out.id).toMatch(/^tbl/);
    expect(out).toMatchObject({ name: 'Vendors', primary_field: 'Name' });
    expect(out.fields.map((f) => f.name)).toEqual(['Name', 'Tier', 'Spend']);
    const tables = await h.ok<{ tables: TableEntry[] }>('list_tables', { detail: 'names' });
    expect(tables.tables.map((t) => t.name)).toContain('Vendors');
    const info = await h.ok<{ fields: FieldEntry[] }>('get_field_info', { table_id: 'Vendors' });
    expect(info.fields.find((f) => f.name === 'Tier')?.options?.choices).toEqual(['Gold', 'Silver']);
  });

  it('create_table rejects duplicate field names before any request', async () => {
    let message = '';
    const sent = await requestsDuring(h, async () => {
      message = await h.fails('create_table', {
        name: 'Dupes',
        fields: [
          { name: 'Name', type: 'singleLineText' },
          { name: ' name ', type: 'number' },
        ],
      });
    });
    expect(message).toMatch(/unique/);
    expect(message).toMatch(/"Name" and "name"/);
    expect(sent).toBe(0);
  });

  it('create_table rejects an empty field list and passes Airtable type errors through', async () => {
    expect(await h.fails('create_table', { name: 'Empty', fields: [] })).toMatch(/at least one field/);
    expect(await h.fails('create_table', { name: 'Bad', fields: [{ name: 'X', type: 'notAType' }] })).toMatch(
      /422|INVALID/,
    );
  });

  it('schema writes on a base without create permission fail with the 403 and a hint', async () => {
    const message = await h.fails('create_table', {
      base_id: ARCHIVE_BASE,
      name: 'Nope',
      fields: vendorFields,
    });
    expect(message).toMatch(/403/);
    expect(message).toMatch(/permission|scope/i);
    expect(
      await h.fails('create_field', {
        base_id: ARCHIVE_BASE,
        table_id: 'Projects',
        name: 'X',
        type: 'number',
      }),
    ).toMatch(/403/);
  });

  it('update_table renames and describes; needs a change and a known table', async () => {
    const out = await h.ok<Obj>('update_table', {
      table_id: 'Vendors',
      name: 'Suppliers',
      description: 'Everyone we buy from',
    });
    expect(out).toMatchObject({ name: 'Suppliers', description: 'Everyone we buy from' });
    expect(
      (await h.ok<Obj>('update_table', { table_id: 'Suppliers', description: 'Again' })).description,
    ).toBe('Again');
    expect(await h.fails('update_table', { table_id: 'Suppliers' })).toMatch(/Nothing to update/);
    const unknown = await h.fails('update_table', { table_id: 'Vendors', name: 'X' });
    expect(unknown).toMatch(/No table "Vendors"/);
    expect(unknown).toMatch(/Suppliers \(tbl/);
  });

  it('create_field adds a field; duplicate names and unknown tables are input errors', async () => {
    const out = await h.ok<{ table_name: string; field: { id: string; name: string; type: string } }>(
      'create_field',
      {
        table_id: 'Suppliers',
        name: 'Website',
        type: 'url',
        description: 'Home page',
      },
    );
    expect(out.table_name).toBe('Suppliers');
    expect(out.field).toMatchObject({ name: 'Website', type: 'url' });
    expect(out.field.id).toMatch(/^fld/);
    const info = await h.ok<{ fields: FieldEntry[] }>('get_field_info', { table_id: 'Suppliers' });
    expect(info.fields.map((f) => f.name)).toContain('Website');
    expect(await h.fails('create_field', { table_id: 'Suppliers', name: 'website', type: 'url' })).toMatch(
      /already has a field "Website"/,
    );
    expect(await h.fails('create_field', { table_id: 'Nope', name: 'X', type: 'number' })).toMatch(
      /Tables: .*Projects/,
    );
  });

  it('update_field resolves a field by name and renames it', async () => {
    const out = await h.ok<{ field: { id: string; name: string; description?: string } }>('update_field', {
      table_id: 'Suppliers',
      field_id: 'website',
      name: 'Homepage',
      description: 'Main site',
    });
    expect(out.field).toMatchObject({ name: 'Homepage', description: 'Main site' });
    const byId = await h.ok<{ field: { name: string } }>('update_field', {
      table_id: 'Suppliers',
      field_id: out.field.id,
      description: 'Main web site',
    });
    expect(byId.field.name).toBe('Homepage');
  });

  it('update_field: unknown field, empty update and name clashes are input errors', async () => {
    const unknown = await h.fails('update_field', { table_id: 'Suppliers', field_id: 'Nope', name: 'X' });
    expect(unknown).toMatch(/Unknown field in table "Suppliers": "Nope"/);
    expect(unknown).toMatch(/Fields: Name, Tier, Spend, Homepage/);
    expect(await h.fails('update_field', { table_id: 'Suppliers', field_id: 'Homepage' })).toMatch(
      /Nothing to update/,
    );
    expect(
      await h.fails('update_field', { table_id: 'Suppliers', field_id: 'Homepage', name: 'tier' }),
    ).toMatch(/already has a field "Tier"/);
    expect(await h.fails('update_field', { table_id: 'Nowhere', field_id: 'Name', name: 'X' })).toMatch(
      /No table "Nowhere"/,
    );
  });
});

describe('create_metadata_table', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  type MetaOut = {
    table_id: string;
    action: string;
    created: number;
    updated: number;
    tables_described: number;
    fields_added: string[];
    stale_rows: { table_id: string; table_name: string }[];
  };

  const rows = async (tableId: string) => (await h.airtable.listRecords(DEMO_BASE, tableId)).records;

  it('creates the table with one row per table, then refreshes without duplicates', async () => {
    const first = await h.ok<MetaOut>('create_metadata_table', {});
    expect(first).toMatchObject({ action: 'created', created: 3, updated: 0, tables_described: 3 });
    const schema = await h.airtable.getBaseSchema(DEMO_BASE);
    const meta = schema.find((t) => t.id === first.table_id);
    expect(meta?.name).toBe('Table Metadata');
    expect(meta?.fields.map((f) => f.name)).toEqual([
      'Table Name',
      'Table ID',
      'Description',
      'Field Count',
      'View Count',
      'Field Types',
      'Primary Field',
      'Analysis Date',
    ]);
    const written = await rows(first.table_id);
    expect(written).toHaveLength(3);
    const projects = written.find((r) => r.fields['Table Name'] === 'Projects')?.fields;
    expect(projects).toMatchObject({ 'Field Count': 16, 'View Count': 2, 'Primary Field': 'Name' });
    expect(projects?.['Table ID']).toBe(schema.find((t) => t.name === 'Projects')?.id);
    expect(projects?.['Field Types']).toMatch(/singleSelect: 2/);
    expect(projects?.['Analysis Date']).toMatch(/^\d{4}-\d\d-\d\dT/);

    const second = await h.ok<MetaOut>('create_metadata_table', {});
    expect(second).toMatchObject({ action: 'refreshed', created: 0, updated: 3, table_id: first.table_id });
    expect(await rows(first.table_id)).toHaveLength(3);
  });

  it('adds rows for new tables and reports rows of vanished tables without deleting them', async () => {
    const { id: metaId } = (await h.airtable.getBaseSchema(DEMO_BASE)).find(
      (t) => t.name === 'Table Metadata',
    )!;
    await h.airtable.createTable(DEMO_BASE, {
      name: 'Invoices',
      fields: [{ name: 'Number', type: 'singleLineText' }],
    });
    await h.airtable.createRecord(DEMO_BASE, metaId, {
      'Table Name': 'Old table',
      'Table ID': 'tblGoneGoneGone01',
    });
    const out = await h.ok<MetaOut>('create_metadata_table', {});
    expect(out).toMatchObject({ created: 1, updated: 3, tables_described: 4 });
    expect(out.stale_rows).toEqual([
      expect.objectContaining({ table_id: 'tblGoneGoneGone01', table_name: 'Old table' }),
    ]);
    expect(await rows(metaId)).toHaveLength(5);
    const text = (await h.call('create_metadata_table', {})).content[0] as { text: string };
    expect(text.text).toMatch(/no longer in the base.*Old table/);
  });

  it('completes an existing table that lacks some metadata fields', async () => {
    await h.airtable.createTable(DEMO_BASE, {
      name: 'My Meta',
      fields: [
        { name: 'table name', type: 'singleLineText' },
        { name: 'Field Count', type: 'singleLineText' },
      ],
    });
    const out = await h.ok<MetaOut>('create_metadata_table', { table_name: 'My Meta' });
    expect(out.action).toBe('refreshed');
    expect(out.fields_added).toEqual([
      'Table ID',
      'Description',
      'View Count',
      'Field Types',
      'Primary Field',
      'Analysis Date',
    ]);
    expect(out.created).toBe(out.tables_described);
    const written = await rows(out.table_id);
    // Existing fields are reused under their own names; typecast turns the count into text.
    expect(written.find((r) => r.fields['table name'] === 'Projects')?.fields['Field Count']).toBe('16');
  });

  it('refuses to turn an ordinary table into a metadata table', async () => {
    const sent = await requestsDuring(h, async () => {
      expect(await h.fails('create_metadata_table', { table_name: 'projects' })).toMatch(
        /not a metadata table/,
      );
    });
    expect(sent).toBeLessThanOrEqual(1); // the schema read only
    const projects = (await h.airtable.getBaseSchema(DEMO_BASE)).find((t) => t.name === 'Projects');
    expect(projects?.fields).toHaveLength(16);
  });

  it('fails with the 403 and its hint on a base without create permission', async () => {
    const message = await h.fails('create_metadata_table', { base_id: ARCHIVE_BASE });
    expect(message).toMatch(/403/);
    expect(message).toMatch(/permission|scope/i);
  });

  it('rejects a malformed base id without a request', async () => {
    const sent = await requestsDuring(h, () => h.fails('create_metadata_table', { base_id: 'app/../meta' }));
    expect(sent).toBe(0);
  });
});

describe('comment tools', () => {
  let h: Harness;
  let recordId: string;
  beforeAll(async () => {
    h = await startHarness();
    recordId = (await h.airtable.listRecordsPage(DEMO_BASE, 'Tasks', { pageSize: 1 })).records[0]!.id;
  });
  afterAll(async () => {
    await h?.close();
  });

  type Comment = {
    id: string;
    text: string;
    author: Obj;
    parentCommentId?: string;
    lastUpdatedTime: string | null;
  };

  it('create_comment adds a comment that list_comments shows first', async () => {
    const created = await h.ok<{ comment: Comment }>('create_comment', {
      table_id: 'Tasks',
      record_id: recordId,
      text: 'First line\nsecond "quoted" line',
    });
    expect(created.comment.id).toMatch(/^com/);
    expect(created.comment.lastUpdatedTime).toBeNull();
    const reply = await h.ok<{ comment: Comment }>('create_comment', {
      table_id: 'Tasks',
      record_id: recordId,
      text: 'A reply',
      parent_comment_id: created.comment.id,
    });
    expect(reply.comment.parentCommentId).toBe(created.comment.id);
    const listed = await h.ok<{ comments: Comment[]; count: number }>('list_comments', {
      table_id: 'Tasks',
      record_id: recordId,
    });
    expect(listed.comments[0]?.id).toBe(reply.comment.id);
    expect(listed.comments[1]).toMatchObject({
      id: created.comment.id,
      text: 'First line\nsecond "quoted" line',
    });
    expect(listed.comments[1]?.author.name).toBeTruthy();
    const text = (
      (await h.call('list_comments', { table_id: 'Tasks', record_id: recordId })).content[0] as {
        text: string;
      }
    ).text;
    const lines = text.split('\n');
    expect(lines).toHaveLength(1 + listed.count); // a header, then one line per comment
    expect(lines[1]).toMatch(
      new RegExp(`^${reply.comment.id} .*\\[reply to ${created.comment.id}\\]: "A reply"$`),
    );
    expect(text).toContain('"First line\\nsecond \\"quoted\\" line"');
  });

  it('list_comments pages with offset', async () => {
    const first = await h.ok<{ comments: Comment[]; offset?: string }>('list_comments', {
      table_id: 'Tasks',
      record_id: recordId,
      page_size: 1,
    });
    expect(first.comments).toHaveLength(1);
    expect(first.offset).toBeTruthy();
    const second = await h.ok<{ comments: Comment[] }>('list_comments', {
      table_id: 'Tasks',
      record_id: recordId,
      page_size: 1,
      offset: first.offset,
    });
    expect(second.comments[0]?.id).not.toBe(first.comments[0]?.id);
  });

  it('rejects bad input', async () => {
    expect(
      await h.fails('create_comment', { table_id: 'Tasks', record_id: recordId, text: '' }),
    ).toBeTruthy();
    expect(await h.fails('create_comment', { table_id: 'Tasks', record_id: recordId, text: '   ' })).toMatch(
      /blank/,
    );
    expect(
      await h.fails('create_comment', { table_id: 'Tasks', record_id: recordId, text: 'x'.repeat(10_001) }),
    ).toBeTruthy();
    expect(await h.fails('list_comments', { table_id: 'Tasks', record_id: 'rec/../../meta' })).toMatch(
      /record id/,
    );
    expect(
      await h.fails('list_comments', { table_id: 'Tasks', record_id: recordId, page_size: 101 }),
    ).toBeTruthy();
    const unknown = await h.fails('list_comments', { table_id: 'Taks', record_id: recordId });
    expect(unknown).toMatch(/No table "Taks".*Tasks \(tbl/);
    expect(
      await h.fails('create_comment', {
        table_id: 'Tasks',
        record_id: recordId,
        text: 'x',
        parent_comment_id: 'nope',
      }),
    ).toMatch(/comment id/);
  });
});
