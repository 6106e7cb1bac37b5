#!/usr/bin/env node
// An example client session: starts `airtable-mcp-kit --sandbox` over stdio,
// as Claude Desktop would, and calls a few tools. No Airtable account needed.
//   npm run build && node examples/client-session.mjs
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const transport = new StdioClientTransport({
  command: process.execPath,
  args: ['dist/cli.js', '--sandbox', '--log-level', 'warn'],
});
const client = new Client({ name: 'example-session', version: '1.0.0' });
await client.connect(transport);

const show = async (name, args) => {
  const result = await client.callTool({ name, arguments: args });
  const text = result.content.map((c) => c.text ?? '').join('\n');
  console.log(`\n> ${name} ${JSON.stringify(args)}${result.isError ? '  (error)' : ''}\n${text}`);
};

const { tools } = await client.listTools();
console.log(`Connected to ${client.getServerVersion()?.name} ${client.getServerVersion()?.version}`);
console.log(`${tools.length} tools: ${tools.map((t) => t.name).join(', ')}`);

await show('list_bases', {});
await show('list_tables', {});
await show('get_records', {
  table_id: 'Tasks',
  max_records: 5,
  fields: ['Title', 'Status', 'Due'],
  sort: [{ field: 'Due' }],
});
await show('search_records', { table_id: 'People', query: 'garcia' });
await show('find_duplicates', { table_id: 'People', fields: ['Name'] });
await show('get_records', { table_id: 'Tasks', filter_by_formula: '{Nope} = 1' });

await client.close();
