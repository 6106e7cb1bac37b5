#!/usr/bin/env node
// Embedding airtable-mcp-kit in your own process: build a server with
// createServer() and connect it to any MCP transport. Here, a sandbox stands
// in for Airtable and an in-memory transport links a client to the server.
//   npm run build && node examples/embed.mjs
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { createServer, startSandbox } from 'airtable-mcp-kit';

const sandbox = await startSandbox(); // with a real token: skip this and pass { token: process.env.AIRTABLE_TOKEN }
const server = createServer({
  token: sandbox.token,
  baseUrl: sandbox.url,
  defaultBase: sandbox.baseIds[0],
  readOnly: true,
});

const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
const client = new Client({ name: 'embedder', version: '1.0.0' });
await Promise.all([server.connect(serverSide), client.connect(clientSide)]);

const result = await client.callTool({
  name: 'get_records',
  arguments: { table_id: 'Projects', max_records: 3 },
});
console.log(result.content[0].text);
console.log('structured:', JSON.stringify(result.structuredContent).slice(0, 200), '…');

await client.close();
await server.close();
await sandbox.stop();
