/**
 * Contract tests: the built CLI, spawned over stdio with --sandbox, driven by
 * the SDK's Client, exactly as an MCP host would. The tools/list snapshot
 * makes any change to the tool contract visible in review.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectCli } from './helpers/stdio-client.js';

const ARCHIVE = 'appSandboxArchive';
const DEMO = 'appSandboxDemo001';

const connect = (args: string[]): Promise<Client> => connectCli(['--sandbox', ...args]);

function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

describe('tools over stdio (all toolsets)', () => {
  let client: Client;
  let tools: Tool[];

  beforeAll(async () => {
    client = await connect(['--toolsets', 'all']);
    tools = (await client.listTools()).tools;
  });
  afterAll(async () => {
    await client?.close();
  });

  const call = async (name: string, args: Record<string, unknown>) =>
    (await client.callTool({ name, arguments: args })) as CallToolResult;
  const ok = async (name: string, args: Record<string, unknown>) => {
    const result = await call(name, args);
    expect(result.isError, `${name}: ${text(result)}`).toBeFalsy();
    return result;
  };
  const fails = async (name: string, args: Record<string, unknown>, pattern: RegExp) => {
    const result = await call(name, args);
    expect(result.isError, `${name} should fail: ${text(result).slice(0, 300)}`).toBe(true);
    expect(text(result)).toMatch(pattern);
    expect(text(result)).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/); // no stack traces
  };

  it('lists every tool in a fixed order, matching the checked-in snapshot', async () => {
    const contract = tools.map(({ name, title, description, inputSchema, outputSchema, annotations }) => ({
      name,
      title,
      description,
      annotations,
      inputSchema,
      outputSchema,
    }));
    await expect(`${JSON.stringify(contract, null, 2)}\n`).toMatchFileSnapshot(
      '__snapshots__/tools-list.json',
    );
    expect(tools.map((t) => t.name)).toEqual([
      'get_records',
      'get_record',
      'search_records',
      'create_record',
      'update_record',
      'delete_record',
      'batch_create_records',
      'batch_update_records',
      'list_bases',
      'list_tables',
      'get_field_info',
      'create_metadata_table',
      'analyze_table_data',
      'find_duplicates',
      'export_table_csv',
      'sync_tables',
      'upsert_records',
      'delete_records',
      'create_table',
      'update_table',
      'create_field',
      'update_field',
      'list_comments',
      'create_comment',
    ]);
  });

  it('sets a title, every hint explicitly and an output schema on every tool', () => {
    for (const tool of tools) {
      expect(tool.title, tool.name).toMatch(/\S/);
      const a = tool.annotations ?? {};
      for (const key of ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint']) {
        expect(a, `${tool.name}.${key}`).toHaveProperty(key);
      }
      expect(tool.outputSchema, tool.name).toBeDefined();
    }
  });

  it('publishes lean schemas: no $schema, no restated safe-integer bounds, output schemas without prose', () => {
    const listed = JSON.stringify(tools);
    expect(listed).not.toContain('$schema');
    expect(listed).not.toContain(String(Number.MAX_SAFE_INTEGER));
    expect(listed).not.toContain('"propertyNames":{"type":"string"}');
    for (const tool of tools) {
      // A property may be named "description"; prose would be a string value.
      expect(JSON.stringify(tool.outputSchema), tool.name).not.toMatch(/"description":"/);
      expect(tool.description?.length, tool.name).toBeLessThanOrEqual(320);
    }
  });

  it('reads: records, one record, search, schema, analysis', async () => {
    const page = await ok('get_records', { table_id: 'Tasks', max_records: 5, fields: ['Title', 'Status'] });
    const records = (page.structuredContent as { records: { id: string }[] }).records;
    expect(records).toHaveLength(5);
    await ok('get_record', { table_id: 'Tasks', record_id: records[0]?.id });
    await ok('search_records', { table_id: 'Tasks', query: 'a', max_records: 3 });
    await ok('list_bases', {});
    await ok('list_tables', {});
    await ok('get_field_info', { table_id: 'Projects' });
    await ok('analyze_table_data', { table_id: 'People' });
    await ok('find_duplicates', { table_id: 'People', fields: ['Name'] });
    await ok('export_table_csv', { table_id: 'Projects', max_records: 5 });
    await ok('sync_tables', {
      source_base_id: DEMO,
      source_table_id: 'Projects',
      target_base_id: ARCHIVE,
      target_table_id: 'Projects',
      key_field: 'Name',
    });
  });

  it('writes: create, update, delete, batches, upsert, comments, schema edits', async () => {
    const created = await ok('create_record', { table_id: 'Tasks', fields: { Title: 'Contract test' } });
    const id =
      (created.structuredContent as { id?: string; record?: { id: string } }).id ??
      (created.structuredContent as { record: { id: string } }).record.id;
    await ok('update_record', { table_id: 'Tasks', record_id: id, fields: { Status: 'Done' } });
    await ok('create_comment', { table_id: 'Tasks', record_id: id, text: 'Looks good' });
    await ok('list_comments', { table_id: 'Tasks', record_id: id });
    await ok('delete_record', { table_id: 'Tasks', record_id: id });
    const batch = await ok('batch_create_records', {
      table_id: 'Tasks',
      records: [{ Title: 'b1' }, { Title: 'b2' }],
    });
    expect(text(batch)).toMatch(/2 created/);
    await ok('upsert_records', {
      table_id: 'Tasks',
      records: [{ fields: { Title: 'b1', Status: 'Todo' } }],
      fields_to_merge_on: ['Title'],
    });
    await ok('create_metadata_table', {});
    const table = await ok('create_table', {
      name: 'Contract Table',
      fields: [{ name: 'Name', type: 'singleLineText' }],
    });
    expect(text(table)).toContain('Contract Table');
    await ok('update_table', { table_id: 'Contract Table', description: 'made by the contract test' });
    await ok('create_field', { table_id: 'Contract Table', name: 'Notes', type: 'multilineText' });
    await ok('update_field', { table_id: 'Contract Table', field_id: 'Notes', description: 'free text' });
  });

  it('answers bad input with isError results a model can act on', async () => {
    await fails('get_records', { table_id: 'No Such Table' }, /No table "No Such Table".*Tasks/);
    await fails('get_records', { table_id: 'Tasks', max_records: 'many' }, /max_records/);
    await fails(
      'get_records',
      { table_id: 'Tasks', filter_by_formula: '{Nope} = 1' },
      /Unknown field names: Nope/,
    );
    await fails('get_records', { base_id: 'app/../meta', table_id: 'Tasks' }, /not a base id/);
    await fails('get_record', { table_id: 'Tasks', record_id: 'recX/../../meta' }, /record id/);
    await fails(
      'get_record',
      { table_id: 'Tasks', record_id: 'recAAAAAAAAAAAAAA' },
      /not found|does not exist/i,
    );
    await fails('search_records', { table_id: 'Tasks', query: '' }, /query/);
    await fails('create_record', { table_id: 'Tasks', fields: { Nope: 1 } }, /Nope/);
    await fails(
      'update_record',
      { table_id: 'Tasks', record_id: '../meta', fields: { Title: 'x' } },
      /record id/,
    );
    await fails('delete_record', { table_id: 'Tasks' }, /record_id/);
    await fails('batch_create_records', { table_id: 'Tasks', records: [] }, /records/);
    await fails(
      'batch_update_records',
      { table_id: 'Tasks', records: [{ id: 'bad', fields: {} }] },
      /id|record/,
    );
    await fails('list_tables', { base_id: 'appNOPE' }, /not a base id/);
    await fails('get_field_info', { table_id: 'Nope' }, /No table "Nope"/);
    await fails('create_metadata_table', { base_id: ARCHIVE }, /permission|INVALID_PERMISSIONS/i);
    await fails('analyze_table_data', { table_id: 'Nope' }, /No table/);
    await fails('find_duplicates', { table_id: 'People', fields: ['Nope'] }, /Nope/);
    await fails('export_table_csv', { table_id: 'Projects', fields: ['Nope'] }, /Nope/);
    await fails(
      'sync_tables',
      {
        source_table_id: 'Projects',
        target_base_id: ARCHIVE,
        target_table_id: 'Projects',
        key_field: 'Nope',
      },
      /source_base_id|Nope/,
    );
    await fails(
      'upsert_records',
      { table_id: 'Tasks', records: [{ fields: {} }], fields_to_merge_on: [] },
      /merge/,
    );
    await fails('delete_records', { table_id: 'Tasks', record_ids: ['recX/../../meta'] }, /record id/);
    await fails('create_table', { name: 'X', fields: [] }, /field/);
    await fails('update_table', { table_id: 'Tasks' }, /name|description/);
    await fails('create_field', { table_id: 'Nope', name: 'X', type: 'singleLineText' }, /No table|Nope/);
    await fails('update_field', { table_id: 'Tasks', field_id: 'Nope', name: 'X' }, /Nope/);
    await fails('list_comments', { table_id: 'Tasks', record_id: 'nope' }, /record id/);
    await fails('create_comment', { table_id: 'Tasks', record_id: 'recAAAAAAAAAAAAAA', text: '' }, /text/);
    await fails('no_such_tool', {}, /Unknown tool "no_such_tool"\. Available tools: get_records, /);
  });
});

describe('read-only mode over stdio', () => {
  it('registers no tool that writes', async () => {
    const client = await connect(['--toolsets', 'all', '--read-only']);
    try {
      const { tools } = await client.listTools();
      expect(tools.length).toBeGreaterThan(0);
      for (const tool of tools) expect(tool.annotations?.readOnlyHint, tool.name).toBe(true);
      expect(tools.map((t) => t.name)).not.toContain('create_record');
    } finally {
      await client.close();
    }
  });

  it('default toolsets are the 14 original tools plus list_bases and get_record', async () => {
    const client = await connect([]);
    try {
      const { tools } = await client.listTools();
      expect(tools).toHaveLength(16);
    } finally {
      await client.close();
    }
  });
});
