#!/usr/bin/env node
// Memory per idle Streamable HTTP session, measured inside the server process.
// Run by bench/run.mjs as: node --expose-gc bench/idle-sessions.mjs <count>
// Prints one JSON line: {sessions, heapBytesPerSession, rssBytesPerSession}.
import { loadConfig, startHttpServer } from 'airtable-mcp-kit';
import { pino } from 'pino';

const count = Number(process.argv[2] ?? 500);
const config = loadConfig(
  { sandbox: true, rateLimit: false, transport: 'http', httpPort: '0' },
  { RATE_LIMIT_RPM: '0', MAX_SESSIONS: String(count + 10), DATA_DIR: ':memory:' },
);
const server = await startHttpServer(config, pino({ level: 'silent' }));
const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

async function openSession(i) {
  const init = {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: `idle-${i}`, version: '1' },
    },
  };
  const res = await fetch(`${server.url}/mcp`, { method: 'POST', headers, body: JSON.stringify(init) });
  await res.text();
  const id = res.headers.get('mcp-session-id');
  const note = { jsonrpc: '2.0', method: 'notifications/initialized' };
  await (
    await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: { ...headers, 'mcp-session-id': id },
      body: JSON.stringify(note),
    })
  ).text();
  return id;
}

async function settle() {
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return process.memoryUsage();
}

await openSession(-1); // warm every code path once
const before = await settle();
const ids = [];
for (let i = 0; i < count; i++) ids.push(await openSession(i));
const after = await settle();
if (server.registry.size < count) throw new Error(`only ${server.registry.size} sessions open`);
console.log(
  JSON.stringify({
    sessions: count,
    heapBytesPerSession: Math.round((after.heapUsed - before.heapUsed) / count),
    rssBytesPerSession: Math.round((after.rss - before.rss) / count),
  }),
);
await server.close(100);
process.exit(0);
