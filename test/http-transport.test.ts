/**
 * Hosted mode end to end: the SDK's clients over Streamable HTTP and legacy
 * SSE against the real HTTP server, whose tools call an in-process sandbox.
 */
import { request as httpRequest } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConfigFlags, loadConfig } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import { startSandbox } from '../src/sandbox/index.js';
import { type HttpServerHandle, startHttpServer } from '../src/transports/http/index.js';
import { freePort } from './helpers/ports.js';

const KEY = `pya_${'a1'.repeat(32)}`;
const HEADERS = { 'X-API-Key': KEY };
const INIT = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

async function start(flags: ConfigFlags = {}, env: Record<string, string> = {}): Promise<HttpServerHandle> {
  const config = loadConfig(
    { sandbox: true, rateLimit: false, transport: 'http', httpPort: '0', ...flags },
    { API_KEY: KEY, RATE_LIMIT_RPM: '0', DATA_DIR: ':memory:', ...env },
  );
  return startHttpServer(config, silentLogger());
}

async function streamableClient(url: string, headers: Record<string, string> = HEADERS): Promise<Client> {
  const client = new Client({ name: 'http-test', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers } }),
  );
  return client;
}

async function sseClient(url: string): Promise<Client> {
  const client = new Client({ name: 'sse-test', version: '1' });
  await client.connect(new SSEClientTransport(new URL(`${url}/sse`), { requestInit: { headers: HEADERS } }));
  return client;
}

function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${url}/mcp`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** A request with a Host header of our choosing (fetch cannot set Host). */
function rawStatus(url: string, headers: Record<string, string>): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path: '/health', headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

async function recordCount(client: Client, table = 'Tasks'): Promise<number> {
  const result = (await client.callTool({
    name: 'get_records',
    arguments: { table_id: table, max_records: 3 },
  })) as CallToolResult;
  expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
  return (result.structuredContent as { count: number }).count;
}

describe('HTTP server with sessions', () => {
  let server: HttpServerHandle;
  beforeAll(async () => {
    server = await start();
  });
  afterAll(async () => server?.close(1000));

  it('serves the tools over Streamable HTTP', async () => {
    const client = await streamableClient(server.url);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('get_records');
    expect(await recordCount(client)).toBe(3);
    await client.close();
  });

  it('serves the tools over legacy SSE', async () => {
    const client = await sseClient(server.url);
    const { tools } = await client.listTools();
    expect(tools.length).toBe(16);
    expect(await recordCount(client, 'Projects')).toBe(3);
    await client.close();
  });

  it('asks for an API key, in either header', async () => {
    const missing = await post(server.url, INIT);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    expect((await post(server.url, INIT, { 'X-API-Key': `pya_${'b2'.repeat(32)}` })).status).toBe(401);
    expect((await post(server.url, INIT, { 'X-API-Key': KEY })).status).toBe(200);
    expect((await post(server.url, INIT, { Authorization: `Bearer ${KEY}` })).status).toBe(200);
  });

  it('rejects spoofed Host and Origin headers with 403', async () => {
    const { host } = new URL(server.url);
    expect(await rawStatus(server.url, { host })).toBe(200);
    expect(await rawStatus(server.url, { host: 'evil.example' })).toBe(403);
    expect(await rawStatus(server.url, { host: `localhost.evil.example:${server.port}` })).toBe(403);
    expect(await rawStatus(server.url, { host, origin: 'http://evil.example' })).toBe(403);
  });

  it('answers session mistakes as the spec says', async () => {
    const list = { jsonrpc: '2.0', id: 2, method: 'tools/list' };
    expect((await post(server.url, list, HEADERS)).status).toBe(400);
    const unknown = await post(server.url, list, { ...HEADERS, 'mcp-session-id': 'no-such-session' });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toMatch(
      /Session not found/,
    );
    const broken = await post(server.url, '{"jsonrpc":', HEADERS);
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { error: { code: number } }).error.code).toBe(-32700);
  });

  it('ends a session on DELETE', async () => {
    const client = await streamableClient(server.url);
    const transport = client.transport as StreamableHTTPClientTransport;
    const id = transport.sessionId!;
    expect(server.registry.get(id)).toBeDefined();
    await transport.terminateSession();
    expect(server.registry.get(id)).toBeUndefined();
    const after = await post(
      server.url,
      { jsonrpc: '2.0', id: 3, method: 'tools/list' },
      { ...HEADERS, 'mcp-session-id': id },
    );
    expect(after.status).toBe(404);
    await client.close();
  });

  it('closes idle sessions and frees them', async () => {
    // Its own server: a 1-second idle limit would also expire the other tests' sessions on a busy machine.
    const idle = await start({}, { SESSION_IDLE_MS: '1000' });
    try {
      const client = await streamableClient(idle.url);
      const id = (client.transport as StreamableHTTPClientTransport).sessionId!;
      expect(idle.registry.get(id)).toBeDefined();
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect(idle.registry.get(id)).toBeUndefined();
      await expect(client.listTools()).rejects.toThrow();
      await client.close();
    } finally {
      await idle.close(1000);
    }
  });

  it('serves 100 concurrent sessions, each calling tools', async () => {
    const clients = await Promise.all(Array.from({ length: 100 }, () => streamableClient(server.url)));
    expect(server.registry.counts().streamable).toBeGreaterThanOrEqual(100);
    const counts = await Promise.all(clients.map((c, i) => recordCount(c, i % 2 ? 'Tasks' : 'People')));
    expect(counts).toEqual(Array(100).fill(3));
    await Promise.all(clients.map((c) => (c.transport as StreamableHTTPClientTransport).terminateSession()));
    await Promise.all(clients.map((c) => c.close()));
  });

  it('reports health on every alias without a key, and metrics with one', async () => {
    for (const path of ['/health', '/health/', '/api/health']) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status, path).toBe(200);
      const body = (await res.json()) as { version: string; components: Record<string, unknown> };
      expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(body.components).toHaveProperty('airtable');
    }
    // With API keys required, /metrics needs one too (METRICS_PUBLIC opens it).
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    const metrics = await (await fetch(`${server.url}/metrics`, { headers: HEADERS })).text();
    expect(metrics).toMatch(/airtable_mcp_tool_calls_total\{[^}]*tool="get_records"/);
    expect(metrics).toMatch(/airtable_mcp_open_sessions/);
  });
});

describe('HTTP server limits', () => {
  it('refuses oversized bodies with 413 and sessions past the cap with 503', async () => {
    const server = await start({}, { MAX_BODY_BYTES: '2048', MAX_SESSIONS: '1' });
    try {
      const big = await post(server.url, { ...INIT, padding: 'x'.repeat(5000) }, HEADERS);
      expect(big.status).toBe(413);
      const first = await streamableClient(server.url);
      const second = await post(server.url, INIT, HEADERS);
      expect(second.status).toBe(503);
      expect(second.headers.get('retry-after')).toBeTruthy();
      await first.close();
    } finally {
      await server.close(1000);
    }
  });

  it('caps the sessions one API key may hold', async () => {
    const other = `pya_${'f6'.repeat(32)}`;
    const server = await start({}, { API_KEYS: `${KEY},${other}`, MAX_SESSIONS_PER_KEY: '2' });
    try {
      const mine = await Promise.all([streamableClient(server.url), streamableClient(server.url)]);
      const third = await post(server.url, INIT, HEADERS);
      expect(third.status).toBe(429);
      expect(third.headers.get('retry-after')).toBeTruthy();
      const theirs = await streamableClient(server.url, { 'X-API-Key': other });
      expect(await recordCount(theirs)).toBe(3);
      await Promise.all([...mine, theirs].map((c) => c.close()));
    } finally {
      await server.close(1000);
    }
  });

  it('limits requests per key per minute with 429 and Retry-After', async () => {
    const server = await start({}, { RATE_LIMIT_RPM: '3' });
    try {
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await post(server.url, INIT, HEADERS)).status);
      expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
      const limited = await post(server.url, INIT, HEADERS);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await server.close(1000);
    }
  });

  it('mounts under a base path', async () => {
    const server = await start({ basePath: '/airtable' });
    try {
      expect(server.url).toMatch(/\/airtable$/);
      const client = await streamableClient(server.url);
      expect(await recordCount(client)).toBe(3);
      await client.close();
      const root = new URL(server.url).origin;
      expect((await fetch(`${root}/mcp`, { method: 'POST', headers: HEADERS })).status).toBe(404);
    } finally {
      await server.close(1000);
    }
  });

  it('refuses to listen on all interfaces without an API key unless --no-auth', async () => {
    const open = loadConfig(
      { sandbox: true, transport: 'http', httpPort: '0', httpHost: '0.0.0.0' },
      { DATA_DIR: ':memory:', MODULES: 'none' },
    );
    await expect(startHttpServer(open, silentLogger())).rejects.toThrow(/without an API key.*--no-auth/);
  });

  it('listens on all interfaces without an API key when people sign in (platform): every request needs a credential', async () => {
    const config = loadConfig(
      { sandbox: true, transport: 'http', httpPort: '0', httpHost: '0.0.0.0' },
      { DATA_DIR: ':memory:', ALLOWED_HOSTS: '127.0.0.1' },
    );
    const server = await startHttpServer(config, silentLogger());
    try {
      const port = new URL(server.url).port;
      const mcp = await fetch(`http://127.0.0.1:${port}/mcp`, {
        method: 'POST',
        headers: HEADERS,
        body: '{}',
      });
      expect(mcp.status).toBe(401);
      const keys = await fetch(`http://127.0.0.1:${port}/api/keys`);
      expect(keys.status).toBe(401);
      const login = await fetch(`http://127.0.0.1:${port}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', host: `127.0.0.1:${port}` },
        body: JSON.stringify({ email: 'nobody@example.com', password: 'not a real password' }),
      });
      expect(login.status).toBe(401);
      expect(((await login.json()) as { detail: string }).detail).toBe('Invalid email or password');
    } finally {
      await server.close(1000);
    }
  });
});

describe('stateless HTTP server', () => {
  it('serves 100 concurrent clients without sessions', async () => {
    const server = await start({ stateless: true });
    try {
      const clients = await Promise.all(Array.from({ length: 100 }, () => streamableClient(server.url)));
      const counts = await Promise.all(clients.map((c) => recordCount(c)));
      expect(counts).toEqual(Array(100).fill(3));
      expect(server.registry.size).toBe(0);
      const get = await fetch(`${server.url}/mcp`, { headers: HEADERS });
      expect(get.status).toBe(405);
      await Promise.all(clients.map((c) => c.close()));
    } finally {
      await server.close(1000);
    }
  });
});

describe('HTTP server edge cases', () => {
  it('lets a legacy SSE tool call finish during shutdown', async () => {
    const sandbox = await startSandbox({ rateLimit: false });
    const server = await start(
      { sandbox: false, airtableUrl: sandbox.url },
      { AIRTABLE_TOKEN: sandbox.token, AIRTABLE_BASE: sandbox.baseIds[0]! },
    );
    try {
      const client = await sseClient(server.url);
      sandbox.setFaults({ latencyMs: 800 });
      const call = client.callTool({ name: 'get_records', arguments: { table_id: 'Tasks', max_records: 2 } });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const closed = server.close(5_000);
      const result = (await call) as CallToolResult;
      expect(result.isError).toBeFalsy();
      await closed;
    } finally {
      await server.close(100);
      await sandbox.stop();
    }
  });

  it('leaves no port open when it refuses to start', async () => {
    const port = await freePort();
    const config = loadConfig(
      { sandbox: true, transport: 'http', httpPort: String(port), httpHost: '0.0.0.0', noAuth: true },
      { DATA_DIR: ':memory:' },
    );
    await expect(startHttpServer(config, silentLogger())).rejects.toThrow(/ALLOWED_HOSTS/);
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
  });

  it('keeps a session whose DELETE the SDK refused, and answers other methods with 405', async () => {
    const server = await start();
    try {
      const client = await streamableClient(server.url);
      const id = (client.transport as StreamableHTTPClientTransport).sessionId!;
      const refused = await fetch(`${server.url}/mcp`, {
        method: 'DELETE',
        headers: { ...HEADERS, 'mcp-session-id': id, 'mcp-protocol-version': '1999-01-01' },
      });
      expect(refused.status).toBe(400);
      expect(server.registry.get(id)).toBeDefined();
      expect(await recordCount(client)).toBe(3);
      const put = await fetch(`${server.url}/mcp`, { method: 'PUT', headers: HEADERS });
      expect(put.status).toBe(405);
      expect(put.headers.get('allow')).toBe('GET, POST, DELETE');
      await client.close();
    } finally {
      await server.close(100);
    }
  });

  it('limits failed requests per address before checking keys', async () => {
    const server = await start({}, { RATE_LIMIT_RPM: '600' });
    try {
      const wrong = { 'X-API-Key': `pya_${'e5'.repeat(32)}` };
      const statuses = await Promise.all(Array.from({ length: 101 }, () => post(server.url, INIT, wrong)));
      expect(statuses.filter((r) => r.status === 401).length).toBe(100);
      const limited = statuses.find((r) => r.status === 429);
      expect(limited).toBeDefined();
      expect(((await limited!.json()) as { error: { message: string } }).error.message).toMatch(
        /failed requests/,
      );
    } finally {
      await server.close(100);
    }
  });
});
